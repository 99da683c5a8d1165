"""host/stridecue/link/keys.py: the keys file (0600, one-line errors) and which keys the link tries first."""

from __future__ import annotations

import os
import stat

import pytest

from stridecue.link import keys
from stridecue.errors import UserError


def test_keys_file_round_trip_is_private(tmp_path):
    store = keys.KeyStore.in_dir(tmp_path / "d")
    assert store.load() == []
    key_id, secret = keys.new_secret()
    store.add(key_id, secret, name="StrideCueLS")
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert store.load() == [keys.DeviceKey(key_id, secret, "StrideCueLS", None)]
    store.add(key_id, secret, name="StrideCueLS", address="AA:BB")  # same key: replaced, not doubled
    assert store.load() == [keys.DeviceKey(key_id, secret, "StrideCueLS", "AA:BB")]
    assert len({keys.new_secret()[1] for _ in range(20)}) == 20


@pytest.mark.parametrize("text", ["", "{", "[]", '{"format": 2, "sensors": []}', '{"format": 1}',
                                  '{"format": 1, "sensors": [{"key_id": 1, "secret": "00"}]}',
                                  '{"format": 1, "sensors": [{"key_id": -1, "secret": "' + "00" * 16 + '"}]}'])
def test_a_corrupt_keys_file_is_one_line_naming_the_fix(tmp_path, text):
    (tmp_path / "keys.json").write_text(text)
    with pytest.raises(UserError) as e:
        keys.KeyStore.in_dir(tmp_path).load()
    assert "corrupt" in str(e.value) and "stridecue pair --usb" in str(e.value) and "\n" not in str(e.value)


def test_candidates_by_address_then_name_then_the_rest(tmp_path):
    keys.forget_session()
    store = keys.KeyStore.in_dir(tmp_path)
    store.add(1, bytes(16), name="Other")
    store.add(2, bytes(16), name="StrideCueLS")
    store.add(3, bytes(16), name="Old", address="5C:1D:00:00:00:01")
    assert [k.key_id for k in store.candidates("5c:1d:00:00:00:01", "StrideCueLS")] == [3, 2, 1]
    assert [k.key_id for k in store.candidates(None, "StrideCueLS")][0] == 2
    keys.remember(9, bytes(16), name="Virtual", address="AA")  # a virtual sensor: this process only
    assert [k.key_id for k in store.candidates("AA", None)][0] == 9
    assert 9 not in [k.key_id for k in store.load()]
    keys.forget_session()
