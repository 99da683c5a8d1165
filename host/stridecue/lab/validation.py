"""Accuracy of the stride analysis against the virtual runner's truth and against real recordings
(bach2022 force plate, grouvel2023 motion capture, the 25-minute adept run): each figure with
its target, met or not met, reported as measured.

The virtual runner runs over many seeds, speeds of 2-6 m/s, both mounts and legs, random board
rotations, with the sensor's noise, bias and clipping, quantised to int16 counts as the sensor
does.  The real recordings come from ../shared/data (see its README; cite the sources with the
figures).  docs/validation.md explains every figure and how it is matched to truth.
"""

import argparse
import importlib
import json
import sys
import time
import traceback
from pathlib import Path

# Each suite is loaded when it runs: `stridecue --help` builds this command's options from the
# names alone and must stay fast (the suites import numpy and the analysis).
SUITES = {
    "virtual": ("stridecue.lab.validation_virtual", "validate_virtual"),
    "population": ("stridecue.lab.validation_population", "validate_population"),
    "bach2022": ("stridecue.lab.validation_real", "validate_bach2022"),
    "grouvel2023": ("stridecue.lab.validation_real", "validate_grouvel2023"),
    "adept": ("stridecue.lab.validation_real", "validate_adept"),
    "realmotion": ("stridecue.lab.validation_motion", "validate_realmotion"),
    "exercise": ("stridecue.lab.validation_exercise", "validate_exercise"),
    "delta": ("stridecue.lab.validation_stream", "validate_delta"),
}


def run_validation(quick: bool = False, suites: list[str] | None = None) -> dict:
    """Every suite's figures; a suite that cannot run says why in one line."""
    out = {"quick": quick, "figures": [], "suites": {}}
    for name, (module, function) in SUITES.items():
        if suites and name not in suites:
            continue
        start = time.perf_counter()
        try:
            figs, details = getattr(importlib.import_module(module), function)(quick)
            status = "ran"
        except Exception as exc:  # one suite's failure must not hide the others
            from stridecue.errors import UserError

            if isinstance(exc, UserError):  # missing data and the like: the message says it all
                error = str(exc)
            else:  # a bug: say where
                last = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
                where = f" ({Path(last.filename).name}:{last.lineno})" if last else ""
                error = f"{type(exc).__name__}: {exc}{where}"
            figs, details, status = [], {"error": error}, "failed"
        out["suites"][name] = {"status": status, "seconds": round(time.perf_counter() - start, 2), **details}
        out["figures"].extend(f.as_dict() for f in figs)
    return out


def format_table(result: dict) -> str:
    rows = [("figure", "value", "target", "")]
    for f in result["figures"]:
        value = "–" if f["value"] is None else f"{f['value']} {f['unit']}".strip()
        verdict = {True: "met", False: "NOT MET", None: ""}[f["met"]]
        rows.append((f"{f['group']}: {f['name']}", value, f["target"], verdict))
    width = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(r[i].ljust(width[i]) for i in range(4)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in width))
    notes = [f"  {f['group']}: {f['name'].strip()}: {f['note']}" for f in result["figures"] if f["note"]]
    if notes:
        lines += ["", "notes:"] + notes
    for name, s in result["suites"].items():
        if s["status"] != "ran":
            lines.append(f"{name}: could not run: {s['error']}")
    lines.append("")
    lines.append("Real data: Bach et al. 2022 (doi:10.1101/2022.02.14.480318); Karas et al., adeptdata (acc_running); "
                 "Grouvel et al. 2023 (doi:10.1038/s41597-023-02077-3).")
    if result["quick"]:
        lines.append("(--quick: fewer virtual runs, fewer trials, 8 minutes of adept; run without it for the reported figures)")
    return "\n".join(lines) + "\n"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable figures")
    parser.add_argument("--quick", action="store_true", help="a short version (under half a minute)")
    parser.add_argument("--suite", action="append", choices=sorted(SUITES), metavar="NAME",
                        help=f"run only this suite ({', '.join(SUITES)}); may be repeated")
    parser.add_argument("--strict", action="store_true", help="exit non-zero when a target is not met")


def main(args: argparse.Namespace, base: Path) -> int:
    from stridecue.lab.machine import measured_on

    started = measured_on()
    result = run_validation(bool(args.quick), args.suite)
    result["measured_on"] = started
    if args.json:
        json.dump(result, sys.stdout, indent=2, default=_json_default)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_table(result))
    failed = any(s["status"] != "ran" for s in result["suites"].values())
    missed = any(f["met"] is False for f in result["figures"])
    return 1 if failed or (args.strict and missed) else 0


def _json_default(obj):
    import numpy as np
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)
