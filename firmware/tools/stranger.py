# A stranger near the runner: the firmware's real main loop in MicroPython (as mainloop.py runs
# it), the owner's host bonding inside the pairing window, then — the window closed — a central
# without a bond and without the device secret trying to read, start and rename the sensor, then
# the owner coming back.  Prints one line: STRANGER {json}.
#
#   from stranger import main; await main([BOARD, HEAP_BYTES, COUNTS_FILE])

import asyncio
import json
import time

from mainloop import KEY_ID, Receiver, Rig, authenticate, control

_WINDOW_MS = 4000  # the pairing window, shortened from 60 s so the test need not wait a minute
_GRACE_WAIT_MS = 4500  # longer than the firmware's 3 s grace for an unbonded central


async def _stream_for(central, receiver, ms):
    import stridewire as sw

    central.subscribe(sw.DATA_UUID, receiver.on_data)
    started = await control(central, receiver, sw.OP_START)
    await asyncio.sleep_ms(ms)
    return started[2]


async def run(board_name, heap_budget, counts_path):
    from blecentral import Central

    import stridewire as sw

    names = sw.ERROR_NAMES
    rig = Rig()
    await rig.boot(board_name, heap_budget, counts_path, window_ms=_WINDOW_MS)

    # the owner, inside the window: bond, prove the secret, stream
    owner = Central("c0:ff:ee:00:00:01")
    mine = Receiver()
    await owner.connect()
    await owner.exchange_mtu()
    owner_bonded = owner.pair(bond=True)
    owner.subscribe(sw.STATUS_UUID, mine.on_status)
    owner_auth = await authenticate(owner, mine)
    owner_start = await _stream_for(owner, mine, 1500)
    owner_packets = mine.packets
    await owner.disconnect()

    # the window closes (and the firmware applies it: bonding off)
    while time.ticks_diff(time.ticks_ms(), rig.t_boot) < _WINDOW_MS + 1000:
        await asyncio.sleep_ms(100)

    stranger = Central("de:ad:be:ef:00:02")
    theirs = Receiver()
    await stranger.connect()
    await stranger.exchange_mtu()
    stranger_bonded = stranger.pair(bond=True)
    public = sw.parse_status(stranger.read(sw.STATUS_UUID))
    stranger.subscribe(sw.STATUS_UUID, theirs.on_status)
    stranger.subscribe(sw.DATA_UUID, theirs.on_data)
    tried = {}
    tried["start"] = names[(await control(stranger, theirs, sw.OP_START))[2]]
    tried["set_name"] = names[(await control(stranger, theirs, sw.OP_SET_NAME, "Mine now"))[2]]
    tried["auth_begin_unknown_key"] = names[(await control(stranger, theirs, sw.OP_AUTH_BEGIN, 0x12345678))[2]]
    _, _, begun, nonce = await control(stranger, theirs, sw.OP_AUTH_BEGIN, KEY_ID)
    tried["auth_begin"] = names[begun]
    tried["auth_prove_guess"] = names[(await control(stranger, theirs, sw.OP_AUTH_PROVE, bytes(16)))[2]]
    stranger_statuses = theirs.statuses
    waited = 0
    while stranger.connected and waited < _GRACE_WAIT_MS:
        await asyncio.sleep_ms(100)
        waited += 100
    stranger_dropped = not stranger.connected

    # the owner again: the bond resumes, the secret opens it
    owner_again = Central("c0:ff:ee:00:00:01", bond_key=owner.bond_key)
    again = Receiver()
    await owner_again.connect()
    await owner_again.exchange_mtu()
    owner_again.subscribe(sw.STATUS_UUID, again.on_status)
    again_auth = await authenticate(owner_again, again)
    again_start = await _stream_for(owner_again, again, 1500)
    node = rig.node
    rig.stop()
    state = public[sw.STATUS_FIELDS.index("state")]
    print("STRANGER " + json.dumps({
        "owner": {"bonded": owner_bonded, "auth": [names[r] for r in owner_auth], "start": names[owner_start],
                  "packets": owner_packets},
        "stranger": {"bonded": stranger_bonded, "public_state": state,
                     "public_fields_nonzero": [f for f, v in zip(sw.STATUS_FIELDS, public)
                                               if v and f not in ("fw_major", "fw_minor", "fw_patch", "state")],
                     "tried": tried, "packets": theirs.packets, "statuses": stranger_statuses,
                     "disconnected_by_sensor": stranger_dropped, "name_after": node.name},
        "owner_again": {"encrypted_bonded": owner_again.link.bonded if owner_again.link else None,
                        "auth": [names[r] for r in again_auth], "start": names[again_start], "packets": again.packets},
        "task_errors": rig.errors,
    }))


async def main(argv):
    await asyncio.create_task(run(argv[0], int(argv[1]), argv[2]))
