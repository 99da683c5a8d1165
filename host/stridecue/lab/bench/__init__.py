"""Speed and latency benchmarks: the analysis against its targets and against a reference pipeline
built from well-known libraries, the firmware's budgets, the coach's cue latency, the virtual
runner's speed, the pocket host's share of a small computer, and a soak of the daemon, serve's
live page and summary at once.

Each provider is a module with run(quick: bool) -> dict (a provider that takes options has them
as keyword arguments: soak_minutes, soak_speed); a provider that is not installed yet is listed
as not available.  Machines are shared and noisy, so every speed figure that matters comes with a
ratio against a reference measured in the same run.  --quick runs shortened versions (for tests
and a first look); the full run takes a few minutes, and the soak 30 more (real time).

A provider's dict (the preferred form; other shapes are shown as well as they can be):
    {"title": "...", "figures": [{"name": "...", "value": 1.2, "unit": "ms", "target": "< 2 s",
      "met": True | False | None, "note": "..."}], "notes": ["..."]}
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import sys
import time
import traceback
from pathlib import Path

#: The registry: provider module -> what it measures.  Order is the order of the report.
PROVIDERS: dict[str, str] = {
    "stridecue.lab.bench.analysis": "stride analysis (offline, streaming, reference pipeline)",
    "stridecue.lab.bench.firmware": "firmware budgets (MicroPython heap, per-sample cost)",
    "stridecue.lab.bench.coach": "cue latency (sample arrival to cue start)",
    "stridecue.lab.bench.sim": "virtual runner (ten minutes of one sensor, whole and in 12-sample reads)",
    "stridecue.lab.bench.pocket": "pocket host: live path CPU share, memory, start-up, imports",
    "stridecue.lab.bench.radio": "radio: one and two sensors over the Pi Zero 2 W's link layer, full and delta encoded",
    "stridecue.lab.bench.soak": "soak: a simulated headless run with serve's live page and summary at once (30 min)",
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--quick", action="store_true", help="short versions of every benchmark (seconds, not minutes)")
    parser.add_argument("--only", metavar="NAME", action="append",
                        help="run only this provider (analysis, firmware, coach, sim, pocket, radio, soak); may be repeated")
    parser.add_argument("--soak-minutes", type=float, default=None, metavar="M",
                        help="the soak's run length in minutes of the runner's time, 0.1 to 180 (default 30; --quick: 10 s)")
    parser.add_argument("--soak-speed", type=float, default=None, metavar="N",
                        help="the soak's speed factor (default 1: real time; live updates are counted in wall time at any speed)")


def _short(module: str) -> str:
    parts = module.split(".")
    name = parts[-2] if parts[-1] == "bench" else parts[-1]  # stridecue.lab.bench.sim -> sim
    return name.replace("bench_", "").replace("_bench", "")


def normalise(result) -> dict:
    """Any provider result -> {"title", "figures": [{name, value, unit, target, met, note}], "notes"}."""
    if not isinstance(result, dict):
        return {"title": None, "figures": [], "notes": [f"provider returned {type(result).__name__}, not a dict"]}
    title = result.get("title")
    notes = list(result.get("notes") or [])
    figures = []
    if isinstance(result.get("figures"), list):
        for f in result["figures"]:
            if isinstance(f, dict):
                figures.append(_figure(f.get("name") or f.get("figure") or "?", f))
        return {"title": title, "figures": figures, "notes": notes}
    for key, value in _flatten(result):
        if key in ("title", "notes"):
            continue
        if isinstance(value, dict):
            figures.append(_figure(key, value))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            figures.append(_figure(key, {"value": value}))
        elif isinstance(value, bool):
            figures.append(_figure(key, {"value": value}))
        elif value is None:
            figures.append(_figure(key, {"value": None}))
        else:
            notes.append(f"{key}: {value}")
    return {"title": title, "figures": figures, "notes": notes}


def _flatten(d: dict, prefix: str = ""):
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and "value" not in value and any(isinstance(v, (dict, int, float)) for v in value.values()):
            yield from _flatten(value, name + ".")
        elif isinstance(value, list) and value and all(isinstance(v, (int, float)) for v in value):
            yield name, ", ".join(f"{v:g}" for v in value)
        else:
            yield name, value


def _figure(name: str, f: dict) -> dict:
    met = f.get("met")
    return {
        "name": str(name),
        "value": f.get("value"),
        "unit": f.get("unit") or "",
        "target": f.get("target"),
        "met": None if met is None else bool(met),
        "note": f.get("note") or "",
    }


def run_providers(quick: bool, only: list[str] | None = None, options: dict | None = None) -> list[dict]:
    """Run each available provider; returns one entry per provider with status and figures.
    options: keyword arguments for the providers whose run() takes them (e.g. soak_minutes)."""
    out = []
    wanted = {w.lower() for w in only} if only else None
    for module, what in PROVIDERS.items():
        short = _short(module)
        if wanted is not None and short not in wanted and module not in wanted:
            continue
        entry = {"provider": module, "name": short, "what": what}
        if importlib.util.find_spec(module) is None:
            entry.update(status="not available", figures=[], notes=[f"{module} is not built yet"])
            out.append(entry)
            continue
        start = time.perf_counter()
        try:
            mod = importlib.import_module(module)
            result = mod.run(quick, **_options_for(mod.run, options or {}))
        except Exception as exc:  # one provider's failure must not hide the others' figures
            from stridecue.errors import UserError

            if isinstance(exc, UserError):
                note = str(exc)
            else:
                last = traceback.extract_tb(exc.__traceback__)[-1]
                note = f"{type(exc).__name__}: {exc} ({Path(last.filename).name}:{last.lineno})"
            entry.update(status="failed", figures=[], notes=[note])
        else:
            entry.update(status="ran", **normalise(result))
        entry["seconds"] = round(time.perf_counter() - start, 2)
        out.append(entry)
    return out


def _options_for(run, options: dict) -> dict:
    """The options this provider's run() takes, those given (None: not given)."""
    import inspect

    taken = inspect.signature(run).parameters
    return {k: v for k, v in options.items() if k in taken and v is not None}


def _fmt_value(v, unit: str) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, float)):
        if isinstance(v, float) and not math.isfinite(v):
            return str(v)
        text = f"{v:.4g}" if isinstance(v, float) else str(v)
        return f"{text} {unit}".strip()
    return f"{v} {unit}".strip()


def format_report(entries: list[dict], quick: bool) -> str:
    lines = []
    for e in entries:
        head = f"{e['name']}: {e.get('title') or e['what']}"
        head += f"  ({e['seconds']:.1f} s)" if e["status"] == "ran" else f"  [{e['status']}]"
        lines.append(head)
        table = [(f["name"], _fmt_value(f["value"], f["unit"]), f["target"] or "",
                  {True: "met", False: "NOT MET", None: ""}[f["met"]], f["note"]) for f in e.get("figures", [])]
        if table:
            header = ("figure", "value", "target", "", "")
            width = [max(len(str(r[i])) for r in table + [header]) for i in range(4)]
            for r in [header] + table:
                cells = "  ".join(str(r[i]).ljust(width[i]) for i in range(4))
                lines.append(f"  {cells}  {r[4]}".rstrip())
        for note in e.get("notes", []):
            lines.append(f"  - {note}")
        lines.append("")
    if quick:
        lines.append("(--quick: shortened benchmarks; run without --quick for the reported figures)")
    return "\n".join(lines).rstrip() + "\n"


def main(args: argparse.Namespace, base: Path) -> int:
    from stridecue.lab.machine import measured_on

    started = measured_on()
    from stridecue.lab.bench.soak import check_options

    check_options(args.soak_minutes, args.soak_speed)  # a bad value is a one-line error before anything runs
    options = {"soak_minutes": args.soak_minutes, "soak_speed": args.soak_speed}
    entries = run_providers(bool(args.quick), args.only, options)
    if args.only and not entries:
        from stridecue.errors import UserError

        names = ", ".join(_short(m) for m in PROVIDERS)
        raise UserError(f"--only {', '.join(args.only)}: no such benchmark (one of {names})")
    if args.json:
        json.dump({"quick": bool(args.quick), "measured_on": started, "providers": entries}, sys.stdout, indent=2, default=_json_default)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_report(entries, bool(args.quick)))
    return 1 if any(e["status"] == "failed" for e in entries) else 0


def _json_default(obj):
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:
        pass
    return str(obj)
