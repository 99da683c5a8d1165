"""Errors the user can act on: the CLI prints str() as one line and exits non-zero."""


class UserError(Exception):
    """Bad input, a missing sensor, a corrupt file: a one-line message naming the problem."""
