"""`stridecue pair`: copy the device secret over USB, bond and authenticate over Bluetooth (on the
virtual sensor with --simulate); one-line errors without a traceback."""

from __future__ import annotations

import argparse
import json
import os
import stat
import subprocess

import pytest

from stridecue import cli
from stridecue.device import pair
from stridecue.errors import UserError
from stridecue.link.keys import KeyStore, board_secret_json


def run_cli(capsys, *argv):
    rc = cli.main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_pair_over_bluetooth_needs_the_secret_then_usb_gives_it(tmp_path, capsys):
    data = str(tmp_path / "data")
    rc, out, err = run_cli(capsys, "--data-dir", data, "pair", "--simulate")
    assert rc == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert "no key for this sensor" in err and "stridecue pair --usb" in err
    rc, out, err = run_cli(capsys, "--data-dir", data, "pair", "--usb", "--simulate")
    assert rc == 0 and "copied the device secret of StrideCueLS" in out
    store = KeyStore.in_dir(tmp_path / "data")
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    (key,) = store.load()
    assert key.address is None
    rc, out, err = run_cli(capsys, "--data-dir", data, "pair", "--simulate")
    assert rc == 0 and "paired: StrideCueLS (5C:1D:00:00:00:01)" in out and f"key {key.key_id:08x}" in out
    (key,) = store.load()
    assert key.address == "5C:1D:00:00:00:01"  # tried first from now on


@pytest.mark.parametrize("argv, message", [
    (["pair", "--port", "/dev/ttyACM0"], "--port is for --usb"),
    (["pair", "--usb", "--sensor", "X", "--simulate"], "--sensor is for Bluetooth"),
    (["pair", "--simulate", "--sensor", "StrideCueRS"], "sensor 'StrideCueRS' not found"),
])
def test_bad_input_is_one_line_and_non_zero(tmp_path, capsys, argv, message):
    rc, out, err = run_cli(capsys, "--data-dir", str(tmp_path), *argv)
    assert rc == 1 and message in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_corrupt_keys_file_is_one_line(tmp_path, capsys):
    (tmp_path / "keys.json").write_text('{"format": 1, "sensors": [{"key_id": 1, "secret": "zz"}]}')
    rc, out, err = run_cli(capsys, "--data-dir", str(tmp_path), "pair", "--usb", "--simulate")
    assert rc == 1 and "keys file" in err and "corrupt" in err and err.count("\n") == 1


def test_help_explains_the_pairing_window_and_usb(capsys):
    with pytest.raises(SystemExit):
        cli.main(["pair", "--help"])
    text = capsys.readouterr().out
    assert "--usb" in text and "pairing window" in text and "--simulate" in text and "--port" in text


def _usb_args(**kw):
    return argparse.Namespace(**{"usb": True, "port": "/dev/ttyACM0", "sensor": None, "simulate": False, **kw})


def test_pair_usb_reads_the_board_with_mpremote(tmp_path, monkeypatch):
    monkeypatch.setattr("stridecue.device.flash.serial_ports", lambda: [])
    ran = []

    def board(secret_text):
        def runner(argv):
            ran.append(argv)
            return subprocess.CompletedProcess(argv, 0, json.dumps({"secret": secret_text, "name": "StrideCueRS"}) + "\n", "")
        return runner

    store = KeyStore.in_dir(tmp_path)
    with pytest.raises(UserError, match="port /dev/ttyACM0 not found"):
        pair.copy_secret_over_usb(_usb_args(), store, board(""))
    monkeypatch.setattr("stridecue.device.flash.serial_ports", lambda: [pair_port()])
    key = pair.copy_secret_over_usb(_usb_args(), store, board(board_secret_json(77, bytes(range(16)))))
    assert (key.key_id, key.secret, key.name) == (77, bytes(range(16)), "StrideCueRS")
    assert ran[-1][-3:-1] == ["/dev/ttyACM0", "exec"] and "/secret.json" in ran[-1][-1]
    with pytest.raises(UserError, match="no /secret.json .* run `stridecue flash`"):
        pair.copy_secret_over_usb(_usb_args(), store, board(""))
    with pytest.raises(UserError, match="not a StrideCue secret"):
        pair.copy_secret_over_usb(_usb_args(), store, board('{"key_id": 1, "secret": "00"}'))
    assert [k.key_id for k in store.load()] == [77]


def pair_port():
    from stridecue.device.flash import SerialPort

    return SerialPort("/dev/ttyACM0", vid=0x303A, pid=0x1001, description="ESP32-S3")
