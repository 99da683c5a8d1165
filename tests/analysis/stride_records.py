"""Stride records for tests that feed later stages without running the analysis (conftest puts
this folder on sys.path, so any test imports it by name)."""

from __future__ import annotations

from dataclasses import fields

import pytest

from stridecue.analysis.stride import Stride

# A plausible running stride of a left shin; a test overrides what it is about.
DEFAULTS = dict(
    sensor=0, leg="left", mount="shin", kind="run", ic_t=10.0, to_t=10.25, known_t=10.3, contact_time_s=0.25,
    stride_time_s=0.72, cadence_spm=120.0 / 0.72, wobble_deg=5.0, wobble_note=None, wobble_rate_dps=80.0,
    pta_axial_g=6.0, pta_resultant_g=6.5, loading_rate_gps=300.0, clipped=False, gap=False, accel_only=False,
    alignment_confidence=0.9,
)


def make_stride(**overrides) -> Stride:
    """A Stride with DEFAULTS but for `overrides`; to_t/known_t follow ic_t unless given."""
    values = dict(DEFAULTS)
    if "ic_t" in overrides:
        ic = overrides["ic_t"]
        values.update(to_t=ic + 0.25, known_t=ic + 0.3)
    values.update(overrides)
    return Stride(**values)


def same_strides(a: list[Stride], b: list[Stride]) -> None:
    """The same strides field by field (floats to 1e-9)."""
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert type(x) is Stride and type(y) is Stride
        for f in fields(Stride):
            u, v = getattr(x, f.name), getattr(y, f.name)
            if isinstance(u, float):
                assert v == pytest.approx(u, rel=1e-9, abs=1e-9), f.name
            else:
                assert u == v, f.name
