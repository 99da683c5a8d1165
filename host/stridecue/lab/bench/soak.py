"""Benchmark provider: does the pocket host work while the runner runs (issue 17 item 6)?

Three programs at once, as separate processes on one data directory, as on the pocket computer:
- `stridecue daemon --simulate`, headless (no audio): a virtual runner stands, runs for the soak's
  length, then stands still until the daemon ends and saves the run;
- `stridecue serve`, with a client in this process reading its live page's event stream
  (/live/events, the server-sent events the phone's page draws from) and noting when each status
  arrives;
- `stridecue summary --json` and `stridecue history --json`, run on the data directory every few
  minutes while the run is recorded (they read the run file being written and write the store).

Then the run file is read back and summarised once more.  Reported: samples expected (each
sensor's sample counter from the run's first sample to its last) against recorded (lost = the
difference), every line any process wrote on stderr and every non-zero exit, the longest wall-clock
gap between two live updates and their rate, and whether the saved run reads back whole.

Time: --soak-speed 1 (the default) is real time, a 30-minute run takes 30 minutes.  At a speed
factor N the runner's time passes N times faster, but the live feed is still written every 0.5 s
of WALL time (live/status_feed.py) and a phone redraws in wall time: "a live update at least once
a second" is always measured in wall seconds, whatever N is; each update then covers N times more
of the run.  The figures name the speed.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_MINUTES = 30.0
QUICK_MINUTES = 1 / 6  # 10 s
STAND_S = 3.0  # before the run: the daemon says "ready" after 2 s of standing still
STOP_AFTER_S = 5.0  # standing still this long ends the run (the daemon's --stop-after)
PROBES = 6  # summary + history this many times during the run
MAX_GAP_S = 1.0  # a live update at least once a wall second
SERVE_START_S = 60.0
_ADDRESS = re.compile(r"StrideCue on (http://[^/\s]+)/\?token=(\S+)")


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), PYTHONUNBUFFERED="1")


def _cli(base: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "stridecue.cli", "--data-dir", str(base), *args]


# -- the live page's client -------------------------------------------------------------------------


@dataclass
class Arrival:
    """One live status as the page's event stream delivered it."""

    at: float  # time.monotonic() on arrival
    lag_s: float  # arrival (wall) - the status's wall_time: written to read
    written: float  # the status's wall_time (Unix time the daemon wrote it)
    seq: int
    state: str
    run: str | None
    lost_samples: int


class LiveClient(threading.Thread):
    """Reads serve's /live/events as a phone's page does and keeps every status: `arrivals`."""

    def __init__(self, address: str, token: str):
        super().__init__(daemon=True, name="soak-live-client")
        host, _, port = address.removeprefix("http://").partition(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)
        self.token = token
        self.arrivals: list[Arrival] = []
        self.error: str | None = None
        self.status_code: int | None = None
        self._stopping = False

    def run(self) -> None:
        try:
            self.conn.request("GET", "/live/events", headers={"Authorization": f"Bearer {self.token}",
                                                               "Accept": "text/event-stream"})
            response = self.conn.getresponse()
            self.status_code = response.status
            if response.status != 200:
                self.error = f"/live/events answered {response.status}"
                return
            self._read(response)
        except Exception as e:  # noqa: BLE001 - stopping closes the socket under http.client, which fails in many ways
            if not self._stopping:
                self.error = f"/live/events: {type(e).__name__}: {e}"

    def _read(self, response) -> None:
        while True:
            line = response.readline()
            if not line:
                if not self._stopping:
                    self.error = "/live/events: the stream ended"
                return
            if line.startswith(b"data: "):
                now, wall = time.monotonic(), time.time()
                status = json.loads(line[6:])["status"]
                self.arrivals.append(Arrival(now, wall - status["wall_time"], status["wall_time"], status["seq"], status["state"],
                                             status.get("run"), status.get("lost_samples", 0)))

    def stop(self) -> None:
        self._stopping = True
        try:
            self.conn.sock.shutdown(2)  # wakes the blocked readline
        except (AttributeError, OSError):
            pass
        self.conn.close()
        self.join(timeout=10)


def live_figures(arrivals: list[Arrival], run_name: str | None) -> dict:
    """Gaps and rate of the live updates of one run, from its first status to its last (wall time)."""
    mine = [a for a in arrivals if run_name is None or a.run in (run_name, None)]
    if len(mine) < 2:
        return {"updates": len(mine), "longest_gap_s": None, "per_s": None, "skipped": None, "max_lag_s": None,
                "ended_seen": any(a.state == "ended" for a in mine), "span_s": 0.0, "longest_written_gap_s": None,
                "worst_at_s": None, "over_1s": 0, "written_over_1s": 0}
    times = [a.at for a in mine]
    gaps = [b - a for a, b in zip(times, times[1:])]
    written = [a.written for a in mine]
    written_gaps = [b - a for a, b in zip(written, written[1:])]
    worst = max(range(len(gaps)), key=gaps.__getitem__)
    seqs = [a.seq for a in mine]
    skipped = sum(max(b - a - 1, 0) for a, b in zip(seqs, seqs[1:]))
    span = times[-1] - times[0]
    return {"updates": len(mine), "longest_gap_s": max(gaps), "per_s": (len(mine) - 1) / span if span > 0 else None,
            "skipped": skipped, "max_lag_s": max(a.lag_s for a in mine), "ended_seen": mine[-1].state == "ended",
            "span_s": span, "longest_written_gap_s": max(written_gaps), "worst_at_s": times[worst] - times[0],
            "over_1s": sum(g > MAX_GAP_S for g in gaps), "written_over_1s": sum(g > MAX_GAP_S for g in written_gaps)}


# -- the processes ----------------------------------------------------------------------------------


class Logged:
    """A child process whose stdout lines are kept with their arrival time and whose stderr goes to a file."""

    def __init__(self, name: str, command: list[str], folder: Path):
        self.name = name
        self.err_path = folder / f"{name}.stderr"
        self.lines: list[tuple[float, str]] = []
        with open(self.err_path, "w") as err:
            self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True, env=_env())
        self._reader = threading.Thread(target=self._read, daemon=True, name=f"soak-{name}-stdout")
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def find(self, pattern: str) -> re.Match | None:
        for _, line in list(self.lines):
            m = re.search(pattern, line)
            if m:
                return m
        return None

    def stderr(self) -> list[str]:
        return [line for line in self.err_path.read_text(errors="replace").splitlines() if line.strip()]

    def finish(self, timeout_s: float, interrupt: bool = False) -> int:
        if interrupt and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=5)
        return self.proc.returncode


@dataclass
class Probe:
    """One `summary --json` or `history --json` during the run."""

    command: str
    at_s: float  # wall seconds since recording started
    seconds: float
    returncode: int
    stderr: list[str]
    readable: bool  # stdout is the JSON it should be


def probe(base: Path, command: str, since: float) -> Probe:
    start = time.monotonic()
    done = subprocess.run(_cli(base, command, "--json"), capture_output=True, text=True, env=_env(), timeout=300)
    try:
        json.loads(done.stdout)
        readable = True
    except ValueError:
        readable = False
    return Probe(command, start - since, time.monotonic() - start, done.returncode,
                 [line for line in done.stderr.splitlines() if line.strip()], readable)


@dataclass
class Soak:
    """One soak: run `run_s` seconds of the runner's time at `speed` (1: real time).  Results in
    the fields ending in `_` after .run(base)."""

    run_s: float
    speed: float = 1.0
    probes: int = PROBES
    stop_after_s: float = STOP_AFTER_S
    processes_: dict = field(default_factory=dict)  # name -> (returncode, stderr lines)
    probes_: list = field(default_factory=list)
    arrivals_: list = field(default_factory=list)
    client_error_: str | None = None
    run_path_: Path | None = None
    daemon_lines_: list = field(default_factory=list)

    def daemon_command(self, base: Path) -> list[str]:
        segments = f"stand:{STAND_S:g},run:{self.run_s:g},stand:{self.stop_after_s + 30:g}"
        return _cli(base, "daemon", "--simulate", "--speed", f"{self.speed:g}", "--segments", segments,
                    "--stop-after", f"{self.stop_after_s:g}", "--runs", "1", "--audio", "none")

    def run(self, base: Path) -> "Soak":
        logs = Path(base) / "soak-logs"
        logs.mkdir(parents=True, exist_ok=True)
        serve = Logged("serve", _cli(base, "serve", "--port", "0"), logs)
        # started together: the daemon's run begins seconds after serve answers (start-up, standing)
        daemon = Logged("daemon", self.daemon_command(base), logs)
        client = None
        try:
            address, token = self._address(serve)
            client = LiveClient(address, token)
            client.start()
            self._probe_while(daemon, base)
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline and not any(a.state == "ended" for a in client.arrivals[-3:]):
                time.sleep(0.05)  # the page's last status ("ended") on its way
        finally:
            late = daemon.proc.poll() is None
            if late:
                daemon.proc.send_signal(signal.SIGTERM)  # saves the run it has
            said = ["(the soak stopped it: still running well past the run's end)"] if late else []
            self.processes_["daemon"] = (daemon.finish(120), daemon.stderr() + said)
            self.daemon_lines_ = [line for _, line in daemon.lines]
            if client is not None:
                client.stop()
                self.arrivals_, self.client_error_ = client.arrivals, client.error
            self.processes_["serve"] = (serve.finish(30, interrupt=True), serve.stderr())
        return self

    def _address(self, serve: Logged) -> tuple[str, str]:
        deadline = time.monotonic() + SERVE_START_S
        while time.monotonic() < deadline and serve.proc.poll() is None:
            m = serve.find(_ADDRESS.pattern)
            if m:
                return m.group(1), m.group(2)
            time.sleep(0.05)
        raise RuntimeError(f"serve did not print its address: {' / '.join(serve.stderr()[-3:]) or 'no error'}")

    def _probe_while(self, daemon: Logged, base: Path) -> None:
        """summary and history `probes` times, evenly, while the daemon records; until it ends (or a
        deadline well past the run's wall length: then the caller stops it)."""
        wall_run_s = self.run_s / self.speed
        every = wall_run_s / (self.probes + 1)
        deadline = time.monotonic() + wall_run_s + 300.0
        started = next_at = None
        while daemon.proc.poll() is None and time.monotonic() < deadline:
            if started is None:
                m = daemon.find(r"^recording to (.+\.scrun)$")
                if m:
                    started, self.run_path_ = time.monotonic(), Path(m.group(1))
                    next_at = started + every
            elif next_at is not None and time.monotonic() >= next_at and len(self.probes_) < 2 * self.probes:
                self.probes_ += [probe(base, "summary", started), probe(base, "history", started)]
                next_at += every
            time.sleep(0.1)


# -- reading the run back ---------------------------------------------------------------------------


def samples_of(path: Path) -> dict:
    """Per run file: expected samples (each sensor's counter from first to last), recorded, lost,
    the missing ranges the file marks, the span in seconds and whether it closed cleanly."""
    from stridecue.record.runreader import RunReader

    reader = RunReader(path)
    expected = recorded = 0
    span_s = 0.0
    for slot in reader.sensors:
        block = reader.samples(slot)
        if len(block):
            expected += int(block.index[-1] - block.index[0] + 1)
            recorded += len(block)
            span_s = max(span_s, float(block.index[-1] - block.index[0]) / block.rate)
    marked = sum(count for _, _, count in reader.missing())
    return {"expected": expected, "recorded": recorded, "lost": expected - recorded, "marked_missing": marked,
            "span_s": span_s, "closed": bool(reader.closed), "sensors": len(reader.sensors)}


def read_back(base: Path, path: Path | None) -> dict:
    """The saved run through `summary --json RUN` and `history --json`, after the daemon ended."""
    if path is None or not path.exists():
        return {"ok": False, "why": "no run file was saved"}
    from concurrent.futures import ThreadPoolExecutor

    def cli(*args):
        return subprocess.run(_cli(base, *args), capture_output=True, text=True, env=_env(), timeout=600)

    with ThreadPoolExecutor(2) as pool:  # at once, as a phone and a terminal may ask
        done, listed = pool.map(lambda args: cli(*args), [("summary", "--json", str(path)), ("history", "--json")])
    if done.returncode != 0:
        return {"ok": False, "why": f"summary exited {done.returncode}: {done.stderr.strip()[-200:]}"}
    summary = json.loads(done.stdout)
    names = [r["name"] for r in json.loads(listed.stdout)["runs"]] if listed.returncode == 0 else []
    quality = summary.get("data_quality") or {}
    ok = bool(quality.get("closed_cleanly")) and path.stem in names
    return {"ok": ok, "why": "" if ok else f"closed cleanly {quality.get('closed_cleanly')}, in history {path.stem in names}",
            "duration_s": summary.get("duration_s"), "strides": summary.get("running_strides"),
            "samples": quality.get("samples"), "missing": quality.get("missing_samples")}


# -- the figures ----------------------------------------------------------------------------------


def _figure(name, value, unit="", target=None, met=None, note=""):
    return {"name": name, "value": value, "unit": unit, "target": target, "met": met, "note": note}


def _round(v, nd=2):
    return None if v is None else round(float(v), nd)


def _errors(soak: Soak) -> tuple[int, str]:
    """Every stderr line and non-zero exit of every process, counted, and the first few, said."""
    said = []
    for name, (code, lines) in soak.processes_.items():
        said += [f"{name}: {line}" for line in lines]
        if code not in (0, None):
            said.append(f"{name} exited {code}")
    for p in soak.probes_:
        said += [f"{p.command} at {p.at_s:.0f} s: {line}" for line in p.stderr]
        if p.returncode != 0 or not p.readable:
            said.append(f"{p.command} at {p.at_s:.0f} s exited {p.returncode}{'' if p.readable else ', output not JSON'}")
    if soak.client_error_:
        said.append(f"live client: {soak.client_error_}")
    problems = [line for line in soak.daemon_lines_ if line.startswith(("sensor lost", "cannot connect", "waiting:"))]
    said += [f"daemon: {line}" for line in problems]
    return len(said), "; ".join(said[:5]) + (f"; and {len(said) - 5} more" if len(said) > 5 else "")


def figures(soak: Soak, samples: dict | None, back: dict) -> list[dict]:
    live = live_figures(soak.arrivals_, soak.run_path_.stem if soak.run_path_ else None)
    count, errors = _errors(soak)
    how = f"{soak.run_s / 60:.3g} min of the runner's time at speed {soak.speed:g} ({'real time' if soak.speed == 1 else 'accelerated'})"
    s = samples or {}
    out = [
        _figure("samples expected", s.get("expected"), "", None, None,
                f"{how}; each sensor's sample counter from the run file's first sample to its last "
                f"({s.get('span_s', 0):.1f} s, {s.get('sensors', 0)} sensor)"),
        _figure("samples recorded", s.get("recorded"), "", None, None,
                f"in the run file; {s.get('marked_missing')} marked missing by the recorder"),
        _figure("samples lost", s.get("lost"), "", "0", None if not s else s["lost"] == 0,
                "expected - recorded"),
        _figure("run recorded", _round(s.get("span_s"), 1), "s", f">= {soak.run_s:g} s",
                None if not s else s["span_s"] >= soak.run_s,
                f"the run file's span: the whole scheduled run ({soak.run_s:g} s) and the standing that ended it"),
        _figure("errors", count, "", "0", count == 0,
                errors or "no line on any process's stderr, every exit 0, no lost sensor"),
    ]
    out += _live_figures(live)
    out += _probe_figures(soak.probes_)
    out.append(_figure("run saved and readable", back["ok"], "", "yes", back["ok"],
                       f"`summary --json` of the saved run: {back.get('duration_s')} s, {back.get('strides')} running strides, "
                       f"{back.get('samples')} samples, {back.get('missing')} missing; listed by `history`"
                       + (f"; {back['why']}" if back.get("why") else "")))
    return out


def _live_figures(live: dict) -> list[dict]:
    gap = live["longest_gap_s"]
    return [
        _figure("longest gap between live updates", _round(gap, 3), "s", f"<= {MAX_GAP_S:g} s",
                None if gap is None else gap <= MAX_GAP_S,
                f"wall time between two statuses reaching the page's event stream (/live/events), over "
                f"{live['span_s']:.0f} s from the run's first status to its last (the longest {live['worst_at_s'] or 0:.0f} s in; "
                f"{live['over_1s']} gaps over {MAX_GAP_S:g} s); the feed is written every 0.5 s, serve looks for new lines "
                f"every {_serve_poll_s():g} s"),
        _figure("longest gap between live statuses written", _round(live["longest_written_gap_s"], 3), "s", None, None,
                f"the daemon's side: between the wall_time of two consecutive statuses ({live['written_over_1s']} over "
                f"{MAX_GAP_S:g} s); what is left of the longest gap above is serve's and the client's"),
        _figure("live updates per second", _round(live["per_s"]), "/s", ">= 1 /s",
                None if live["per_s"] is None else live["per_s"] >= 1.0,
                f"{live['updates']} statuses; {live['skipped']} skipped (sequence numbers never delivered); "
                f"last one {'is' if live['ended_seen'] else 'is NOT'} the run's 'ended'"),
        _figure("live update latency, worst", _round(live["max_lag_s"], 3), "s", None, None,
                "from the status's wall_time (written) to its arrival at the client"),
    ]


def _probe_figures(probes: list[Probe]) -> list[dict]:
    ok = sum(p.returncode == 0 and p.readable and not p.stderr for p in probes)
    slowest = max((p.seconds for p in probes), default=None)
    return [_figure("summary and history during the run", ok, f"of {len(probes)} ok", f"{len(probes)}",
                    bool(probes) and ok == len(probes),
                    f"`summary --json` then `history --json` on the data directory at "
                    f"{', '.join(f'{p.at_s:.0f}' for p in probes[::2])} s into the run; slowest "
                    f"{slowest or float('nan'):.2f} s")]


def _serve_poll_s() -> float:
    from stridecue.serve.app import POLL_S

    return POLL_S


def check_options(minutes: float | None, speed: float | None) -> tuple[float, float]:
    from stridecue.errors import UserError

    if minutes is not None and not (0.1 <= minutes <= 180):
        raise UserError(f"--soak-minutes {minutes:g}: give the run's length in minutes, 0.1 to 180")
    if speed is not None and not (0 < speed <= 50):
        raise UserError(f"--soak-speed {speed:g}: give a speed factor above 0, at most 50 (1: real time)")
    return minutes, speed


def run(quick: bool = False, soak_minutes: float | None = None, soak_speed: float | None = None) -> dict:
    minutes, speed = check_options(soak_minutes, soak_speed)
    minutes = minutes or (QUICK_MINUTES if quick else DEFAULT_MINUTES)
    soak = Soak(minutes * 60.0, speed or 1.0, probes=2 if quick else PROBES, stop_after_s=3.0 if quick else STOP_AFTER_S)
    with tempfile.TemporaryDirectory(prefix="stridecue-soak-") as base:
        soak.run(Path(base))
        path = soak.run_path_
        samples = samples_of(path) if path is not None and path.exists() else None
        back = read_back(Path(base), path)
    notes = [f"three processes on one data directory: `{' '.join(soak.daemon_command(Path('DATA'))[2:])}`, "
             "`stridecue serve --port 0` with a client on /live/events, and `summary --json` / `history --json` "
             "during the run; speed 1 is real time, and live updates are counted in wall seconds at any speed"]
    return {"title": "soak: daemon, serve's live page and summary at once", "figures": figures(soak, samples, back),
            "notes": notes}
