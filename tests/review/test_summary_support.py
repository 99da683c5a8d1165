"""Synthetic runs for the summary, store, report, history and export tests.

make_run() writes a real run file (RunWriter) whose samples carry a known stride pattern;
fake_analyse() is a minimal stand-in for stridecue.analysis.run.analyse_run that turns the
file's metadata recipe into Stride records with known values, so the summary figures can be
checked exactly.  Tests that need the real analysis use it when it is installed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from stridecue.analysis.stride import Stride
from stridecue.link.samples import SampleBlock
from stridecue.record.runfile import RunWriter, run_file_path

RATE = 52.0  # a low sample rate keeps synthetic files small; strides come from the recipe


def make_run(base: Path, start: dt.datetime, minutes: float, *, wobble=6.0, fatigue_per_10min=0.0, pta=8.0,
             legs=("left",), cue_times=(), cue_drop=1.0, guided=None, guided_focus=None, profile=None,
             clip_every=0, missing=(), name="StrideCue-LS", closed=True, seed=0, other_cues=()) -> Path:
    """A run file under base/runs with samples of `minutes` and a stride recipe in its metadata."""
    path = run_file_path(base, start, name)
    sensors = [{"slot": i, "name": f"{name}-{leg[0].upper()}", "mount": "shin", "leg": leg, "rate": RATE, "accel_g": 16}
               for i, leg in enumerate(legs)]
    meta = {"start_time": start.isoformat(), "simulated": True, "sensors": sensors,
            "settings": {"coach": {"threshold": "absolute", "absolute_deg": wobble + 1.0}},
            "recipe": {"minutes": minutes, "wobble": wobble, "fatigue": fatigue_per_10min, "pta": pta, "cue_drop": cue_drop,
                       "guided_focus": guided_focus, "clip_every": clip_every, "seed": seed}}
    if profile:
        meta["profile"] = {"name": profile}
    if guided is not None:
        meta["settings"]["guided"] = {"order": list(guided.settings.order)}
    n = int(minutes * 60 * RATE)
    w = RunWriter(path, meta)
    rng = np.random.default_rng(seed)
    for slot in range(len(legs)):
        for first in range(0, n, 4096):
            k = min(4096, n - first)
            raw = rng.integers(-2000, 2000, size=(k, 6)).astype(np.int16)
            w.write_samples(SampleBlock(np.arange(first, first + k, dtype=np.int64), raw, RATE, 16, 16, sensor=slot))
    for slot, first, count in missing:
        w.write_missing(slot, first, count)
    for t in cue_times:
        w.write_event({"kind": "cue", "t": float(t), "cue": "wobble", "words": "Squeeze your glutes", "reason": "test",
                       "values": {"leg": legs[0]}})
    for t, kind, words in other_cues:  # (t, kind, words): cues of other kinds than wobble
        w.write_event({"kind": "cue", "t": float(t), "cue": kind, "words": words, "reason": "test", "values": {}})
    if guided is not None:
        for s in _recipe_strides(meta["recipe"], legs, ()):
            cue = guided.on_stride(s.known_t, s.leg, s.wobble_deg, s.pta_axial_g, s.cadence_spm)
            if cue is not None:
                w.write_event({"kind": "cue", "t": cue.t, "cue": cue.kind, "words": cue.words, "reason": cue.reason, "values": cue.values})
    if closed:
        w.close(summary={"samples": n * len(legs), "missing_samples": sum(m[2] for m in missing), "recovered_samples": 12,
                         "resend_requests": 3, "reconnects": 1, "duplicate_samples": 0, "sensor_clipped": 0})
    else:
        w.sync()
        w._file.close()  # a crash: no closing chunk
    return path


def _recipe_strides(recipe: dict, legs, cue_times) -> list[Stride]:
    rng = np.random.default_rng(recipe["seed"])
    stride_s = 60.0 / 85.0
    out = []
    for li, leg in enumerate(legs):
        t = 2.0 + li * stride_s / 2
        prev = None
        i = 0
        while t < recipe["minutes"] * 60 - 1.0:
            w = recipe["wobble"] + recipe["fatigue"] * t / 600.0 + (0.5 if leg == "right" else 0.0)
            p = recipe["pta"]
            if cue_times:
                since = [t - c for c in cue_times if 0 <= t - c < 15.0]
                if since:
                    w -= recipe["cue_drop"]
            seg = recipe.get("_segment_at", lambda t: None)(t)
            if seg is not None and seg == recipe["guided_focus"]:
                w -= 2.0
                p -= 2.0
            w += rng.normal(0, 0.4)
            p += rng.normal(0, 0.5)
            clipped = bool(recipe["clip_every"] and i % recipe["clip_every"] == 0)
            out.append(Stride(
                sensor=li, leg=leg, mount="shin", kind="run", ic_t=t, to_t=t + 0.25, known_t=t + 0.3,
                contact_time_s=0.25, stride_time_s=None if prev is None else t - prev, cadence_spm=170.0,
                wobble_deg=w, wobble_note=None, wobble_rate_dps=60.0 + w, pta_axial_g=p, pta_resultant_g=p + 1.0,
                loading_rate_gps=p * 20, clipped=clipped, gap=False, accel_only=False, alignment_confidence=0.9,
            ))
            prev = t
            t += stride_s
            i += 1
    return sorted(out, key=lambda s: s.ic_t)


def fake_analyse(reader) -> list[Stride]:
    """Stand-in for analyse_run: the strides the run file's recipe describes."""
    recipe = dict(reader.metadata["recipe"])
    legs = [s["leg"] for s in reader.metadata["sensors"]]
    events = reader.events()
    cue_times = [e["t"] for e in events if e.get("kind") == "cue" and e.get("cue") == "wobble"]
    segs = [(e["values"]["segment"], e["values"]["start_t"], e["values"]["end_t"]) for e in events
            if e.get("kind") == "cue" and (e.get("values") or {}).get("protocol") == "guided" and not e["values"].get("reminder")]

    def segment_at(t):
        for name, lo, hi in segs:
            if lo <= t + 0.3 < hi:
                return name
        return None

    recipe["_segment_at"] = segment_at
    return _recipe_strides(recipe, legs, cue_times)


def store_with(base: Path):
    from stridecue.record.store import RunStore

    return RunStore.open(base, analyse=fake_analyse)


START = dt.datetime(2026, 11, 1, 7, 30, tzinfo=dt.timezone.utc)


def simulate_guided(base: Path, focus: str, settings, seed: int = 3) -> dict:
    """A guided run of the virtual runner set to respond to `focus`, through `stridecue run
    --simulate --guided` (in process, so the protocol's durations can be shortened for a test),
    then its summary from the store with the real stride analysis."""
    import pytest

    import stridecue.coach.setup as coaching
    from stridecue.cli import main
    from stridecue.coach.guided import GuidedProtocol
    from stridecue.record.store import RunStore
    from stridecue.review.figures import load_summary

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(coaching, "make_guided", lambda *args, **kw: GuidedProtocol(settings))
        rc = main(["--data-dir", str(base), "run", "--simulate", "--guided", "--duration", str(settings.duration_s + 15),
                   "--speed", "max", "--quiet", "--audio", "none", "--no-cue-track", "--seed", str(seed),
                   "--focus-response", focus])
    assert rc == 0
    with RunStore.open(base) as store:
        store.sync()
        return load_summary(store, store.latest())


def pipeline_run_file(base: Path, coach, duration_s: float, seed: int = 1, settings: dict | None = None, legs=("left",),
                      **runner_kw) -> Path:
    """A run of the virtual runner recorded through the run pipeline (RunPipeline with the
    streaming stride analysis and `coach`, RunWriter as its recorder), fed straight from the
    runner's sensor stream: the firmware and Bluetooth legs are left out here
    (tests/live/test_simulated_run.py covers them).  The runner hears the cues of the kinds it
    models; the guided protocol's neutral announcements ("guide": baseline, run normally)
    carry no instruction, so they are not passed on."""
    from dataclasses import asdict

    from stridecue.analysis.run import block_from_arrays
    from stridecue.analysis.streaming import StreamingStrideAnalyzer
    from stridecue.live.pipeline import RunPipeline, SensorSetup
    from stridecue.sim import RunnerSettings, VirtualRunner
    from stridecue.sim.runner import CUE_KINDS

    runner = VirtualRunner(RunnerSettings(**runner_kw), seed=seed)
    streams = [runner.sensor(leg=leg, mount="shin", rotation="random") for leg in legs]

    class Ear:
        def speak(self, cue):
            if cue.kind in CUE_KINDS:
                runner.cue(cue.t, kind=cue.kind)

    start = START + dt.timedelta(days=seed)
    settings = dict(settings or {})
    if hasattr(coach, "settings") and not settings.get("guided"):
        settings["coach"] = asdict(coach.settings)
    meta = {"start_time": start.isoformat(), "simulated": True, "profile": "default",
            "sensors": [{"slot": i, "name": f"StrideCue-{leg[0].upper()}S", "mount": "shin", "leg": leg, "rate": 416.0}
                        for i, leg in enumerate(legs)],
            "settings": settings, "simulation": {"seed": seed, **{k: v for k, v in runner_kw.items()}}}
    path = run_file_path(base, start, "StrideCue-LS")
    with RunWriter(path, meta) as writer:
        pipeline = RunPipeline([SensorSetup(i, "shin", leg) for i, leg in enumerate(legs)],
                               lambda setup, rate: StreamingStrideAnalyzer(mount=setup.mount, leg=setup.leg, rate_hz=rate,
                                                                           sensor=setup.slot),
                               coach, writer=writer, cue_sinks=[Ear()])
        n, total = 0, int(duration_s * 416)
        while n < total:
            for slot, stream in enumerate(streams):
                chunk = stream.read(416)
                pipeline.feed([block_from_arrays(416.0, chunk.acc, chunk.gyr, first_index=n, sensor=slot)])
            n += 416
        pipeline.finish()
        truth = [s for stream in streams for s in stream.truth if s.kind == "run"]
        writer.close(summary={"samples": n * len(streams), "missing_samples": 0, "running_strides": pipeline.stats.running_strides,
                              "cues": len(coach.cues_), "simulation_truth": {"running_strides": len(truth)}})
    return path


def read_png(path: Path) -> np.ndarray:
    """An 8-bit RGB or RGBA PNG (as Chromium's screenshots are) as rows x columns x channels."""
    import struct
    import zlib

    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _c, _f, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, 1 + width * channels)
    out = np.zeros((height, width * channels), np.int32)
    prev = np.zeros(width * channels, np.int32)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:].astype(np.int32)
        if kind == 0:
            row = line
        elif kind == 2:
            row = (line + prev) & 0xFF
        else:  # Sub, Average, Paeth: each byte depends on the one `channels` to its left
            row = np.zeros_like(line)
            for x in range(len(line)):
                a = row[x - channels] if x >= channels else 0
                b = prev[x]
                c = prev[x - channels] if x >= channels else 0
                if kind == 1:
                    pred = a
                elif kind == 3:
                    pred = (a + b) // 2
                else:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                row[x] = (line[x] + pred) & 0xFF
        out[y] = row
        prev = row
    return out.reshape(height, width, channels).astype(np.uint8)
