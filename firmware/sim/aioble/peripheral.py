# advertise(): wait, advertising, until a central connects; return its DeviceConnection.

import asyncio

from . import core


def _check_payload(name, data):
    if data is not None and len(data) > 31:
        raise ValueError("%s: %d bytes, a legacy advertisement holds 31" % (name, len(data)))


async def advertise(interval_us, adv_data=None, resp_data=None, connectable=True, limited_disc=False,
                    include_tx_power=False, name=None, services=None, appearance=0, manufacturer=None,
                    timeout_ms=None):
    if name is not None or services or appearance or manufacturer:
        raise NotImplementedError("the stand-in takes ready-made adv_data / resp_data only")
    _check_payload("adv_data", adv_data)
    _check_payload("resp_data", resp_data)
    if interval_us < 625:
        raise ValueError("advertising interval below 625 us")
    radio = core.radio
    if radio.link is not None:
        raise OSError(16)  # EBUSY: one central at a time
    radio.advertising = (bytes(adv_data or b""), bytes(resp_data or b""))
    radio.waiting = asyncio.Event()
    try:
        if timeout_ms is None:
            await radio.waiting.wait()
        else:
            await asyncio.wait_for(radio.waiting.wait(), timeout_ms / 1000)
    finally:
        radio.advertising = None
        radio.waiting = None
    return radio.link.peripheral  # made when the central connected, as aioble makes it in the IRQ
