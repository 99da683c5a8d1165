# Bonds: kept in a JSON file (ble_secrets.json by default) as aioble.security does, loaded at
# start-up with load_secrets(), written when a new bond is made.  pair() is the "Just Works"
# ceremony of two devices without display or keyboard: the link is encrypted, not
# authenticated, and bonded only when both sides asked for a bond.

import json

from . import core

_DEFAULT_PATH = "ble_secrets.json"

_secrets = {}  # central address (hex) -> key (hex)
_path = None
saves = 0  # how often the file was written (a flash write on a board)


def load_secrets(path=None):
    global _path
    _path = path or _DEFAULT_PATH
    _secrets.clear()
    try:
        with open(_path) as f:
            for address, key in json.load(f):
                _secrets[address] = key
    except (OSError, ValueError):
        pass


def _save_secrets():
    global saves
    if _path is None:
        return
    with open(_path, "w") as f:
        json.dump([[a, k] for a, k in _secrets.items()], f)
    saves += 1


def bonded_addresses():
    return list(_secrets)


def key_for(address):
    return _secrets.get(address)


def _store_bond(address, key):
    _secrets[address] = key
    _save_secrets()


async def pair(connection, bond=True, le_secure=True, mitm=False, io=3, timeout_ms=20000):
    """The peripheral asks for security on an existing link (the central decides what happens)."""
    connection._link.central._security_request(connection._link, bond)


def complete_pairing(link, central_bond, central_address, key):
    """The central paired (called from its side): encrypt, and bond if both sides want it."""
    link.encrypted = True
    link.authenticated = False  # Just Works: no MITM protection
    link.key_size = 16
    link.bonded = bool(central_bond and core.config("bond"))
    if link.bonded:
        _store_bond(central_address, key)
    return link.bonded


def resume_encryption(link, central_address, key):
    """A bonded central encrypts with its stored key: works only if this side kept the same key."""
    if _secrets.get(central_address) != key:
        return False
    link.encrypted = True
    link.authenticated = False
    link.key_size = 16
    link.bonded = True
    return True
