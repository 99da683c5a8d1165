"""Host decoder: data notifications -> SampleBlocks.

Validation (length, type, version, CRC, batch fields) is the shared protocol module's; the
host only turns a valid packet's payload into numpy arrays without a Python loop per sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import stridewire
from stridewire import ProtocolError

from stridecue.link.samples import SampleBlock


@dataclass(frozen=True)
class DataPacket:
    """One decoded data notification."""

    seq: int
    flags: int
    block: SampleBlock

    @property
    def resent(self) -> bool:
        return bool(self.flags & stridewire.FLAG_RESENT)

    @property
    def final(self) -> bool:
        return bool(self.flags & stridewire.FLAG_FINAL)


_SAMPLE_DTYPE = np.dtype("<i2")


def decode_data(payload: bytes | bytearray | memoryview, sensor: int = 0) -> DataPacket:
    """Decode one data notification, full or delta encoded; raises ProtocolError (with its reason) if malformed."""
    if len(payload) and payload[0] == stridewire.TYPE_DATA_DELTA:
        stream_id, seq, sample0, rate, accel_g, gyro_code, n, qdiv, flags = stridewire.parse_delta(payload)
        m = n // qdiv
        raw, quat = _delta_channels(bytes(payload), n, m)
    else:
        stream_id, seq, sample0, rate, accel_g, gyro_code, n, qdiv, flags = stridewire.parse_data(payload)
        raw = np.frombuffer(payload, _SAMPLE_DTYPE, count=6 * n, offset=stridewire.DATA_HEADER_SIZE).reshape(n, 6)
        m = n // qdiv
        quat = np.frombuffer(payload, _SAMPLE_DTYPE, count=4 * m, offset=stridewire.quat_offset(n, 0)).reshape(m, 4)
    index = np.arange(sample0, sample0 + n, dtype=np.int64)
    block = SampleBlock(
        index=index,
        raw=raw.copy(),
        rate=float(rate),
        accel_g=accel_g,
        gyro_code=gyro_code,
        quat_index=index[::qdiv].copy(),
        quat_raw=quat.copy(),
        stream_id=stream_id,
        sensor=sensor,
    )
    return DataPacket(seq=seq, flags=flags, block=block)


def _delta_channels(payload: bytes, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The samples (n x 6) and quaternions (m x 4) of a validated delta packet (docs/protocol.md)."""
    raw = np.empty((n, 6), _SAMPLE_DTYPE)
    quat = np.empty((m, 4), _SAMPLE_DTYPE)
    o = stridewire.DATA_HEADER_SIZE
    for c in range(stridewire.DELTA_CHANNELS):
        count = n if c < 6 else m
        width = payload[o]
        size = stridewire.delta_channel_size(count, width)
        column = raw[:, c] if c < 6 else quat[:, c - 6]
        column[:] = _undelta(payload[o + 1 : o + size], count, width)
        o += size
    return raw, quat


def _undelta(channel: bytes, count: int, width: int) -> np.ndarray:
    """count int16 values from the first value, the first difference and count - 2 width-bit
    residuals of the order-2 predictor (LSB first), all mod 2**16."""
    first = int.from_bytes(channel[0:2], "little")
    if count < 2:
        return np.array([first], np.uint16).view(_SAMPLE_DTYPE)
    diffs = np.empty(count - 1, np.int64)
    diffs[0] = int.from_bytes(channel[2:4], "little")
    bits = np.unpackbits(np.frombuffer(channel[4:], np.uint8), bitorder="little")[: (count - 2) * width]
    residuals = bits.reshape(count - 2, width).astype(np.int64) @ (np.int64(1) << np.arange(width, dtype=np.int64))
    diffs[1:] = np.where(residuals >= 1 << (width - 1), residuals - (1 << width), residuals)
    values = (first + np.concatenate(([0], np.cumsum(np.cumsum(diffs))))) & 0xFFFF
    return values.astype(np.uint16).view(_SAMPLE_DTYPE)


@dataclass(frozen=True)
class SensorStatus:
    """A decoded status message (see docs/protocol.md)."""

    stream_id: int
    firmware: str
    imu_model: str
    accel_g: int
    gyro_dps: int
    rate: int
    battery_mv: int
    battery_pct: int
    state: int
    segment: int
    side: int
    last_error: int
    next_sample: int
    oldest_sample: int
    clipped: int
    dropped: int
    uptime_s: int
    error_count: int
    ring_samples: int = 0

    @property
    def ring_s(self) -> float:
        """Seconds of samples the sensor's ring holds: the longest drop-out it can bridge."""
        return self.ring_samples / self.rate if self.rate else 0.0

    @property
    def streaming(self) -> bool:
        return bool(self.state & stridewire.STATE_STREAMING)

    @property
    def auth_required(self) -> bool:
        """The public status of a sensor this connection has not authenticated to: every field but
        the firmware version is 0 (docs/protocol.md)."""
        return bool(self.state & stridewire.STATE_AUTH_REQUIRED)

    @property
    def low_battery(self) -> bool:
        return bool(self.state & stridewire.STATE_LOW_BATTERY)

    @property
    def mount(self) -> str:
        return {stridewire.SEGMENT_SHIN: "shin", stridewire.SEGMENT_THIGH: "thigh"}.get(self.segment, "unknown")

    @property
    def leg(self) -> str:
        return {stridewire.SIDE_LEFT: "left", stridewire.SIDE_RIGHT: "right"}.get(self.side, "unknown")


def decode_status(payload: bytes | bytearray | memoryview) -> SensorStatus:
    """Decode a status message; raises ProtocolError if malformed."""
    v = dict(zip(stridewire.STATUS_FIELDS, stridewire.parse_status(payload)))
    return SensorStatus(
        stream_id=v["stream_id"],
        firmware="%d.%d.%d" % (v["fw_major"], v["fw_minor"], v["fw_patch"]),
        imu_model=stridewire.IMU_NAMES.get(v["imu_model"], "model %d" % v["imu_model"]),
        accel_g=v["accel_g"],
        gyro_dps=v["gyro_code"] * 125,
        rate=v["rate"],
        battery_mv=v["battery_mv"],
        battery_pct=v["battery_pct"],
        state=v["state"],
        segment=v["mount"] & 0x03,
        side=(v["mount"] >> 2) & 0x03,
        last_error=v["last_error"],
        next_sample=v["next_sample"],
        oldest_sample=v["oldest_sample"],
        clipped=v["clipped"],
        dropped=v["dropped"],
        uptime_s=v["uptime_s"],
        error_count=v["error_count"],
        ring_samples=v["ring_samples"],
    )


__all__ = ["DataPacket", "SensorStatus", "decode_data", "decode_status", "ProtocolError"]
