"""The serve tests' fixture for headless Chromium (helpers in serve_support.py)."""

import pytest
from serve_support import CHROMIUM


@pytest.fixture
def _chromium():
    if CHROMIUM is None:  # installed by `make test` (tools/apt-packages.txt): fail, never skip
        pytest.fail("chromium is not installed (Debian package from tools/apt-packages.txt; `make test` installs it)")
