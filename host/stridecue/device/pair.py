"""Pair a sensor with this computer: a Bluetooth bond made in the sensor's pairing window, and
the device secret this computer must prove on every connection (docs/pairing.md).

`stridecue flash` already leaves the flashing computer with the secret; it only needs the bond,
which `stridecue run` also makes on its first connection.  `stridecue pair` does it on purpose,
and checks the whole chain: pairing window -> bond -> secret -> status.  A second computer first
copies the secret from the sensor over USB (your hand on the sensor is the proof):

  stridecue pair --usb                 # copy the secret from the sensor on USB (mpremote)
  stridecue pair                       # then: power-cycle it (or press its button), pair within 60 s
  stridecue pair --sensor StrideCueLS  # one of several sensors in range
  stridecue pair --usb --simulate      # try it all on a virtual sensor, no hardware
  stridecue pair --simulate
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from stridecue.link import keys
from stridecue.errors import UserError

WINDOW_S = 60
_SIM_ADDRESS = "5C:1D:00:00:00:01"
_SIM_NAME = "StrideCueLS"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = __doc__.split("\n\n", 1)[1]
    parser.add_argument("--usb", action="store_true",
                        help="copy the sensor's device secret from its /secret.json over USB (mpremote) to this computer")
    parser.add_argument("--port", metavar="PORT", help="with --usb: serial port of the board, e.g. /dev/ttyACM0 (default: the attached board)")
    parser.add_argument("--sensor", metavar="NAME|ADDRESS", help="which sensor to pair over Bluetooth (default: the strongest in range)")
    parser.add_argument("--simulate", action="store_true", help="a virtual sensor instead of real hardware")


def _simulation():
    """One virtual sensor this computer holds no key for; the same secret every time (seed 0)."""
    from stridecue.sim import RunnerSettings, VirtualRunner
    from stridecue.sim.air import VirtualAir, set_current_air

    air = VirtualAir(seed=0)
    runner = VirtualRunner(RunnerSettings(), seed=0)
    sensor = air.add_sensor(_SIM_NAME, _SIM_ADDRESS, runner.sensor(leg="left", mount="shin"), register_key=False)
    set_current_air(air)
    return air, sensor


def copy_secret_over_usb(args, store: keys.KeyStore, runner=None) -> keys.DeviceKey:
    """Read /secret.json (and the name in /config.json) from the board on USB into the keys file."""
    if args.simulate:
        _, sensor = _simulation()
        key_id, secret = sensor.secret  # the virtual board's /secret.json
        name = sensor.name
    else:
        from stridecue.device.flash import _run, _tool, choose_port, serial_ports

        try:
            attached = serial_ports()
        except Exception as e:  # noqa: BLE001 - pyserial cannot enumerate
            if not args.port:
                raise UserError(f"cannot list serial ports ({e}); give --port") from None
            attached = []
        port = choose_port(args.port, attached)
        run = runner or _run
        try:
            done = run(_tool("mpremote") + ["connect", port, "exec", keys.READ_SECRET_CODE])
        except OSError as e:
            raise UserError(f"cannot run mpremote ({e}); `stridecue doctor` checks the tools") from None
        if done.returncode != 0:
            last = [line for line in (done.stderr or done.stdout or "").splitlines() if line.strip()]
            raise UserError(f"cannot read the board on {port}: {last[-1] if last else 'no output'}")
        key_id, secret, name = keys.parse_read_secret_output(done.stdout)
    store.add(key_id, secret, name=name)
    return keys.DeviceKey(key_id, secret, name)


async def pair_over_bluetooth(args, store: keys.KeyStore, out=None) -> None:
    from stridecue.link.client import LinkError, SensorLink, scan

    out = out or sys.stdout
    backend = client_backend = None
    if args.simulate:
        from stridecue.sim.ble_backend import VirtualBleakClient, VirtualBleakScanner

        _, sensor = _simulation()
        backend, client_backend = VirtualBleakScanner, VirtualBleakClient
        print("(simulated: the virtual sensor's pairing window is open)", file=out)
    else:
        print(f"1. Open the sensor's pairing window: switch it off and on (or press its button); it stays open "
              f"{WINDOW_S} s (the LED blinks slowly, on boards with one).", file=out)
        print("2. Keep it within a metre of this computer; accept the pairing request if your system asks.", file=out)
    try:
        found = await scan(0.5 if args.simulate else 8.0, backend=backend)
    except Exception as e:  # noqa: BLE001 - no adapter, no permission
        raise UserError(f"cannot scan: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    if args.sensor:
        found = [s for s in found if s.address.upper() == args.sensor.upper() or s.name == args.sensor
                 or (len(s.name.encode()) == 11 and args.sensor.startswith(s.name))]
        if not found:
            raise UserError(f"sensor {args.sensor!r} not found (is its pairing window open? `stridecue scan` lists sensors in range)")
    if not found:
        raise UserError("no StrideCue sensor found (switch it off and on to open its pairing window, then run `stridecue pair` again)")
    target = found[0]
    if len(found) > 1 and not args.sensor:
        print(f"{len(found)} sensors in range: pairing the strongest, {target.name} ({target.address}); "
              "--sensor chooses another", file=out)
    link = SensorLink(target.device or target.address, backend=client_backend, keys=store, reconnect=False)
    try:
        status = await link.pair()
    except LinkError as e:
        raise UserError(f"{e} (for Bluetooth: is the pairing window open? power-cycle the sensor and try again)"
                        if "cannot connect" in str(e) else str(e)) from None
    for key in store.load():  # remember the address with the key, so the link tries it first
        if key.key_id == link.key_id:
            store.add(key.key_id, key.secret, name=link.name, address=target.address)
    print(f"paired: {link.name} ({target.address}), firmware {status.firmware}, key {link.key_id:08x}; "
          "`stridecue run` will use it", file=out)


def main(args: argparse.Namespace, base: Path, runner=None) -> int:
    store = keys.KeyStore.in_dir(base)
    store.load()  # a corrupt keys file: say so before anything else
    if args.port and not args.usb:
        raise UserError("--port is for --usb (the sensor on a USB cable); over Bluetooth use --sensor")
    if args.usb:
        if args.sensor:
            raise UserError("--sensor is for Bluetooth; with --usb the sensor is the board on the cable (--port)")
        key = copy_secret_over_usb(args, store, runner)
        print(f"copied the device secret of {key.name or 'the sensor'} (key {key.key_id:08x}) to {store.path}")
        again = "stridecue pair --simulate" if args.simulate else "stridecue pair"
        print(f"now unplug it, switch it off and on, and run `{again}` to bond over Bluetooth")
        return 0
    asyncio.run(pair_over_bluetooth(args, store))
    return 0
