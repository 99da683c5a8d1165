"""Device secrets: the host's half of the sensor's challenge-response (docs/pairing.md).

`stridecue flash` makes a random secret (16 bytes and a 32-bit key id) per sensor, writes it to
the board's /secret.json and keeps it here, in <data dir>/keys.json (mode 0600):

    {"format": 1, "sensors": [{"key_id": 1234, "secret": "<32 hex>", "name": "StrideCue-LS",
                               "address": "AA:BB:..." or null}]}

`stridecue pair --usb` copies a board's secret here from its /secret.json, to set up another
computer.  The link (link.py) asks the store for the keys worth trying for a sensor: the one
recorded for its address, then for its name, then the rest.  The virtual sensors of a simulated
run register their secrets with remember(): in this process only, never in the file.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import stridewire

from stridecue.errors import UserError
from stridecue.paths import data_dir

FILE_NAME = "keys.json"
FORMAT = 1


@dataclass(frozen=True)
class DeviceKey:
    key_id: int
    secret: bytes
    name: str | None = None
    address: str | None = None


_session: list[DeviceKey] = []  # remember(): keys of virtual sensors, this process only


def new_secret() -> tuple[int, bytes]:
    """A fresh (key id, secret) for one sensor."""
    return secrets.randbits(32), secrets.token_bytes(stridewire.SECRET_SIZE)


def board_secret_json(key_id: int, secret: bytes) -> str:
    """The board's /secret.json."""
    return json.dumps({"key_id": key_id, "secret": secret.hex()})


def parse_board_secret(text: str, where: str = "/secret.json") -> tuple[int, bytes]:
    """(key id, secret) from a board's /secret.json; UserError (one line) when it is not one."""
    try:
        d = json.loads(text)
        key_id = int(d["key_id"])
        secret = bytes.fromhex(d["secret"])
    except (ValueError, KeyError, TypeError):
        raise UserError(f"{where} on the board is not a StrideCue secret; run `stridecue flash` to write a new one") from None
    if len(secret) != stridewire.SECRET_SIZE or not 0 <= key_id <= 0xFFFFFFFF:
        raise UserError(f"{where} on the board is not a StrideCue secret; run `stridecue flash` to write a new one")
    return key_id, secret


def remember(key_id: int, secret: bytes, name: str | None = None, address: str | None = None) -> None:
    """Register a key for this process only (the simulated sensors: what `flash` would store)."""
    _session[:] = [k for k in _session if k.key_id != key_id and (address is None or k.address != address)]
    _session.append(DeviceKey(key_id, bytes(secret), name, address))


def forget_session() -> None:
    _session.clear()


class KeyStore:
    """The keys file in the data directory."""

    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path is not None else data_dir() / FILE_NAME

    @classmethod
    def in_dir(cls, base: Path) -> "KeyStore":
        return cls(Path(base) / FILE_NAME)

    def load(self) -> list[DeviceKey]:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return []
        except OSError as e:
            raise UserError(f"cannot read the keys file {self.path}: {e.strerror}") from None
        bad = UserError(f"the keys file {self.path} is corrupt; move it away and run `stridecue pair --usb` "
                        "for each sensor (or `stridecue flash`)")
        try:
            d = json.loads(text)
            if d.get("format") != FORMAT:
                raise bad
            keys = []
            for e in d["sensors"]:
                secret = bytes.fromhex(e["secret"])
                key_id = int(e["key_id"])
                if len(secret) != stridewire.SECRET_SIZE or not 0 <= key_id <= 0xFFFFFFFF:
                    raise bad
                keys.append(DeviceKey(key_id, secret, e.get("name"), e.get("address")))
            return keys
        except (ValueError, KeyError, TypeError, AttributeError):
            raise bad from None

    def add(self, key_id: int, secret: bytes, name: str | None = None, address: str | None = None) -> None:
        """Keep a sensor's key; it replaces one with the same key id, or for the same address."""
        keys = [k for k in self.load() if k.key_id != key_id and (address is None or k.address != address)]
        keys.append(DeviceKey(key_id, bytes(secret), name, address))
        self._save(keys)

    def _save(self, keys: list[DeviceKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"format": FORMAT, "sensors": [
            {"key_id": k.key_id, "secret": k.secret.hex(), "name": k.name, "address": k.address} for k in keys
        ]}, indent=1)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(body)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def candidates(self, address: str | None = None, name: str | None = None) -> list[DeviceKey]:
        """Keys worth trying for a sensor, most likely first: by address, by name, the rest."""
        keys = list(_session) + self.load()

        def rank(k: DeviceKey) -> int:
            if address and k.address and k.address.upper() == address.upper():
                return 0
            if name and k.name == name:
                return 1
            return 2

        seen: set[int] = set()
        out = []
        for k in sorted(keys, key=rank):
            if k.key_id not in seen:
                seen.add(k.key_id)
                out.append(k)
        return out


def prove_to_node(node, key_id: int, secret: bytes, bonded: bool = True) -> int:
    """Authenticate to a firmware SensorNode in this process through its control messages, as the
    link does over the air (the virtual sensor's earlier session, the benchmarks, the tests).
    Returns the AUTH_PROVE result code (stridewire.OK when accepted)."""
    _, _, code, nonce = stridewire.parse_reply(bytes(node.handle_control(stridewire.pack_control(stridewire.OP_AUTH_BEGIN, 0, key_id), bonded)))
    if code != stridewire.OK:
        return code
    tag = stridewire.auth_tag(secret, nonce, key_id)
    return stridewire.parse_reply(bytes(node.handle_control(stridewire.pack_control(stridewire.OP_AUTH_PROVE, 0, tag), bonded)))[2]


# -- the board's side over USB (mpremote exec), for `flash` and `pair --usb` -----------------

BOARD_SECRET_PATH = "/secret.json"
REDACTED = "<a new random secret>"


def write_secret_code(key_id: int | None, secret: bytes | None) -> str:
    """MicroPython that writes the board's /secret.json (None: a placeholder, for --dry-run)."""
    body = board_secret_json(key_id, secret) if secret is not None else REDACTED
    return (f"f=open({BOARD_SECRET_PATH + '.tmp'!r},'w');f.write({body!r});f.close();"
            f"import os;os.rename({BOARD_SECRET_PATH + '.tmp'!r},{BOARD_SECRET_PATH!r})")


READ_SECRET_CODE = (
    "import json\n"
    "try:\n"
    f"    s=open({BOARD_SECRET_PATH!r}).read()\n"
    "except OSError:\n"
    "    s=''\n"
    "try:\n"
    "    n=json.load(open('/config.json')).get('name','')\n"
    "except (OSError,ValueError):\n"
    "    n=''\n"
    "print(json.dumps({'secret':s,'name':n}))\n"
)


def parse_read_secret_output(stdout: str) -> tuple[int, bytes, str | None]:
    """(key id, secret, sensor name) from READ_SECRET_CODE's output; UserError naming the fix."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    try:
        d = json.loads(lines[-1])
        text, name = d["secret"], d.get("name") or None
    except (IndexError, ValueError, KeyError, TypeError):
        raise UserError("the board did not answer with its secret (is it a StrideCue sensor? `stridecue flash` sets one up)") from None
    if not text:
        raise UserError(f"the board has no {BOARD_SECRET_PATH} (firmware from before pairing): run `stridecue flash`")
    key_id, secret = parse_board_secret(text)
    return key_id, secret, name
