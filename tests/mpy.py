"""Run Python code in the official MicroPython WebAssembly port (tests/micropython/run.mjs, Node).

    out = run_micropython("import stridewire; print(stridewire.PROTOCOL_VERSION)")

The firmware (firmware/) and the wire protocol (shared/) are copied into MicroPython's file
system and put on sys.path exactly as on the board (/lib).  Returns stdout; raises
MicroPythonError with MicroPython's traceback when the script fails.  `make test` installs
the npm package; a missing Node or package is an error, not a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / "tests" / "micropython" / "run.mjs"
DEFAULT_MOUNTS = (f"{ROOT / 'shared'}:/lib", f"{ROOT / 'firmware'}:/lib")


class MicroPythonError(AssertionError):
    pass


def run_micropython(code: str, *, mounts=DEFAULT_MOUNTS, args=(), heap: int = 8 * 1024 * 1024, timeout: float = 300,
                    files: dict[str, bytes] | None = None, run_async: bool = False) -> str:
    """Run code (a script's text) in MicroPython; files are extra host files made visible at /data/<name>;
    run_async awaits it with runPythonAsync (top-level await, asyncio tasks on Node's event loop)."""
    node = shutil.which("node")
    if node is None:
        raise MicroPythonError("node is not installed: `make test` needs Node 20 for the MicroPython tests")
    if not (ROOT / "tests" / "micropython" / "node_modules" / "@micropython").exists():
        raise MicroPythonError("the MicroPython WebAssembly port is not installed: run `make test` (npm ci in tests/micropython)")
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "script.py"
        script.write_text(code)
        extra = []
        if files:
            data = Path(tmp) / "data"
            data.mkdir()
            for name, content in files.items():
                (data / name).write_bytes(content)
            extra = ["--mount", f"{data}:/data"]
        cmd = [node, str(RUNNER), "--heap", str(heap)] + (["--async"] if run_async else [])
        for m in mounts:
            cmd += ["--mount", m]
        cmd += extra + [str(script), *map(str, args)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                              env={**os.environ, "NODE_NO_WARNINGS": "1"})
    if proc.returncode != 0:
        raise MicroPythonError(f"MicroPython failed (exit {proc.returncode}):\n{proc.stderr}\n{proc.stdout[-2000:]}")
    return proc.stdout
