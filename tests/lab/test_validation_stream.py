"""`validate --suite delta`: the analysis on the delta stream against the full stream; the figures
show a lossy change to the codec."""

from __future__ import annotations

import numpy as np

import stridecue.lab.validation_stream as vs
import stridecue.link.decoder as decoder


def _short(monkeypatch):
    one = vs.virtual_cases(True)[:1]
    monkeypatch.setattr(vs, "virtual_cases", lambda quick: one)
    original = vs.simulate_case
    monkeypatch.setattr(vs, "simulate_case", lambda case, duration: original(case, 12.0))


def _by_name(figs):
    return {f.name: f for f in figs}


def test_the_delta_stream_gives_the_same_samples_strides_and_wobble(monkeypatch):
    _short(monkeypatch)
    figs, details = vs.validate_delta(True)
    f = _by_name(figs)
    assert f["samples that differ from the full stream"].value == 0 and f["samples that differ from the full stream"].met
    assert f["running strides found differently"].value == 0
    assert f["largest wobble difference"].met and f["largest initial-contact difference"].met
    assert 3.0 < f["bytes a sample on the wire"].value < 16.17  # fewer bytes than full packets
    assert details["cases"][0]["strides"] > 10


def test_a_lossy_decoder_shows_in_the_figures(monkeypatch):
    _short(monkeypatch)
    lossless = decoder._undelta
    monkeypatch.setattr(decoder, "_undelta", lambda *a: (lossless(*a) & ~np.int16(1)).astype(np.int16))  # drop the LSB
    figs, _ = vs.validate_delta(True)
    f = _by_name(figs)
    assert f["samples that differ from the full stream"].value > 0 and not f["samples that differ from the full stream"].met
