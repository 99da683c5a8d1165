"""Ctrl-C and SIGTERM during a run.

The first one ends the run in order, as --duration would: the links close, the coach's last
lines and the totals are written, the run file is closed and the closing lines printed (exit 0).
Pressing Ctrl-C twice within HARD_ABORT_WINDOW_S aborts at once (exit 130) for a save that hangs,
e.g. on a sensor that no longer answers; the run file is then left as a crash leaves it: it
opens, with everything up to the last fsync (at most about half a second lost).  A single later
Ctrl-C only says that the run is being saved.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from typing import Callable

HARD_ABORT_WINDOW_S = 1.0

_NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


def _abort_now(code: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class StopSignals:
    """Turns SIGINT/SIGTERM into `stop` (an asyncio.Event) while installed (a context manager)."""

    def __init__(self, stop: asyncio.Event, *, clock: Callable[[], float] = time.monotonic,
                 abort: Callable[[int], None] = _abort_now, out=None):
        self.stop = stop
        self.path = None  # the run file, once it exists: named when aborting
        self.saved = False  # the run file is closed: nothing left to abort
        self._clock = clock
        self._abort = abort
        self._out = out
        self._last_interrupt: float | None = None
        self._installed: list[int] = []
        self.received: str | None = None  # "Ctrl-C" or "SIGTERM": what stopped the run

    def __enter__(self) -> "StopSignals":
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.on_signal, sig)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no Unix signals
                continue
            self._installed.append(sig)
        return self

    def __exit__(self, *exc) -> None:
        loop = asyncio.get_running_loop()
        for sig in self._installed:
            loop.remove_signal_handler(sig)  # back to KeyboardInterrupt / the default
            if self.saved and self.received is not None:
                # stopped by a signal and saved: the process only exits now, and a second
                # Ctrl-C landing there would turn a saved run's exit status into 130
                signal.signal(sig, signal.SIG_IGN)
        self._installed = []

    def on_signal(self, sig: int) -> None:
        now = self._clock()
        name = _NAMES.get(sig, f"signal {sig}")
        previous = self._last_interrupt
        if sig == signal.SIGINT:
            self._last_interrupt = now
        if self.saved:
            return
        if self.received is None:
            self.received = name
            hint = " (Ctrl-C twice quickly aborts without closing the file)" if sig == signal.SIGINT else ""
            self._say(f"{name}: stopping the run and saving it{hint}")
            self.stop.set()
            return
        if sig == signal.SIGINT and previous is not None and now - previous <= HARD_ABORT_WINDOW_S:
            where = f"{self.path} is left as recorded so far (not closed; it still opens)" if self.path else "nothing was saved"
            self._say(f"aborted: {where}")
            self._abort(130)
            return
        self._say("still saving the run (Ctrl-C twice quickly aborts without closing the file)")

    def _say(self, text: str) -> None:
        print(f"\n{text}" if self._out is None else text, file=self._out or sys.stderr, flush=True)
