"""`validate --suite delta`: the analysis on the delta-encoded stream against the full stream.

The virtual suite's runs (validation_virtual.virtual_cases) are streamed as the firmware would:
the firmware's own fusion makes the on-board quaternions, the samples and quaternions go into a
SampleRing, the firmware's DeltaPacker cuts them into delta packets (full ones, or 48 samples
waiting, as the node sends them) and the host's decoder reads them back.  The delta encoding is
lossless by design (docs/protocol.md); these figures check it on the suite's runs: samples that
differ, and the strides and wobble the analysis finds on each stream.
"""

from __future__ import annotations

import numpy as np

from stridecue.lab.evaluation import Figure, _analysis, _r, _running
from stridecue.lab.validation_virtual import simulate_case, virtual_cases

_WAIT = 48  # samples: as firmware/stridenode/node.py _DELTA_WAIT_SAMPLES
_ROOM = 244  # bytes of a notification at MTU 247


def _quaternions(block, qdiv: int) -> np.ndarray:
    """The on-board orientation the firmware's fusion gives these samples, one every qdiv."""
    from stridenode.fusion import Fusion

    fusion = Fusion(int(block.rate), qdiv, block.accel_g, block.gyro_code)
    quats = []
    for i, s in enumerate(block.raw.tolist()):
        fusion.add(*s)
        if i % qdiv == 0:
            fusion.update()
            quats.append((fusion.w, fusion.x, fusion.y, fusion.z))
    return np.array(quats, np.int16)


def through_delta(block, qdiv: int = 4):
    """(the block as the host decodes it from delta packets, ATT bytes sent, quaternions sent)."""
    import stridewire
    from stridecue.link.decoder import decode_data
    from stridecue.link.samples import SampleBlock
    from stridenode.delta import DeltaPacker
    from stridenode.ring import SampleRing

    n = len(block) // qdiv * qdiv
    quats = _quaternions(block, qdiv)[: n // qdiv]
    ring = SampleRing(1024, qdiv)
    packer = DeltaPacker(_ROOM)
    blocks, sent, first = [], 0, 0
    for i, s in enumerate(block.raw[:n].tolist()):
        ring.put(i, *s)
        if i % qdiv == 0:
            ring.put_quat(i, *quats[i // qdiv].tolist())
        ready = i + 1 if (i + 1) % qdiv == 0 else 0
        while ready - first >= qdiv:
            m = packer.plan(ring, first, min(ready - first, 252), _ROOM)
            if not (packer.full or ready - first >= _WAIT or ready == n):
                break
            stridewire.pack_data_header(packer.buf, 1, len(blocks), first, int(block.rate), block.accel_g,
                                        block.gyro_code, m, qdiv, 0, stridewire.TYPE_DATA_DELTA)
            payload = bytes(packer.pack(ring, first, m))
            sent += len(payload) + stridewire.ATT_OVERHEAD
            blocks.append(decode_data(payload).block)
            first += m
    raw = np.concatenate([b.raw for b in blocks])
    decoded = SampleBlock(index=np.concatenate([b.index for b in blocks]), raw=raw, rate=block.rate, accel_g=block.accel_g,
                          gyro_code=block.gyro_code, quat_index=np.concatenate([b.quat_index for b in blocks]),
                          quat_raw=np.concatenate([b.quat_raw for b in blocks]))
    return decoded, sent, quats


def validate_delta(quick: bool):
    analyse = _analysis()
    duration = 20.0 if quick else 60.0
    cases = virtual_cases(quick)[:2] if quick else virtual_cases(False)
    differing = quat_differing = samples = att_bytes = 0
    stride_diff = 0
    wobble_diff = ic_diff = 0.0
    strides_total = 0
    out = []
    for case in cases:
        block, _truth, _offset = simulate_case(case, duration)
        decoded, sent, quats = through_delta(block)
        n = len(decoded)
        differing += int(np.any(decoded.raw != block.raw[:n], axis=1).sum())
        quat_differing += int(np.any(decoded.quat_raw != quats, axis=1).sum())
        samples += n
        att_bytes += sent
        full = _running(analyse(block, case.mount, case.leg, sensor=0))
        delta = _running(analyse(decoded, case.mount, case.leg, sensor=0))
        stride_diff += abs(len(full) - len(delta))
        strides_total += len(full)
        for a, b in zip(full, delta):
            ic_diff = max(ic_diff, abs(a.ic_t - b.ic_t))
            if a.wobble_deg is not None and b.wobble_deg is not None:
                wobble_diff = max(wobble_diff, abs(a.wobble_deg - b.wobble_deg))
            elif (a.wobble_deg is None) != (b.wobble_deg is None):
                wobble_diff = float("inf")
        out.append({"seed": case.seed, "speed_mps": case.speed_mps, "mount": case.mount, "samples": n,
                    "bytes_per_sample": _r(sent / n, 2), "strides": len(full)})
    g = "delta stream"
    runs = f"{len(cases)} virtual runs of {duration:g} s ({samples} samples)"
    figs = [
        Figure(g, "samples that differ from the full stream", differing, "", at_most=0,
               note=f"{runs}; quaternions that differ: {quat_differing}"),
        Figure(g, "running strides found differently", stride_diff, "", at_most=0, note=f"{strides_total} strides on the full stream"),
        Figure(g, "largest wobble difference", _r(wobble_diff, 6), "deg", at_most=0.0, note="stride by stride, full against delta"),
        Figure(g, "largest initial-contact difference", _r(ic_diff * 1000.0, 6), "ms", at_most=0.0),
        Figure(g, "bytes a sample on the wire", _r(att_bytes / samples, 2), "B",
               note=f"ATT values and headers; full packets: {(191 + 3) / 12:.2f} B (12 samples in 191 bytes)"),
    ]
    return figs, {"cases": out}
