"""Shared by the serve tests: a data directory with runs, the app, a TestClient with the token,
the app under uvicorn on a free localhost port in a background thread, and headless Chromium."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
import uvicorn
from starlette.testclient import TestClient
from test_summary_support import START, fake_analyse, make_run, store_with

from stridecue.serve.app import create_app
from stridecue.serve.command import listening_socket

TOKEN = "test-token-3f9a"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def make_data(base: Path) -> dict:
    """Four runs: three analysed into the on-disk store, the newest not yet (serve analyses it in memory)."""
    paths = {}
    for i in range(3):
        paths[f"run{i}"] = make_run(base, START + dt.timedelta(days=2 * i), 8, wobble=7.0 - 0.5 * i, seed=i,
                                    cue_times=(120, 300), legs=("left", "right") if i == 2 else ("left",))
    with store_with(base) as store:
        store.sync()
    paths["fresh"] = make_run(base, START + dt.timedelta(days=7), 6, wobble=5.5, seed=7, cue_times=(200,))
    return paths


def app_for(base: Path):
    return create_app(base, TOKEN, analyse=fake_analyse)


def client_for(base: Path, authorised: bool = True) -> TestClient:
    headers = {"Authorization": f"Bearer {TOKEN}"} if authorised else {}
    return TestClient(app_for(base), headers=headers, follow_redirects=False)


def same_origin(client: TestClient) -> dict:
    return {"Origin": str(client.base_url).rstrip("/")}


class ServerThread:
    """The app served by uvicorn on 127.0.0.1:<free port> until stop()."""

    def __init__(self, app):
        self.sock = listening_socket("127.0.0.1", 0)
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1, access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> "ServerThread":
        self.thread.start()
        started = threading.Event()
        for _ in range(200):  # up to 20 s on a busy machine
            if self.server.started:
                break
            started.wait(0.1)
        assert self.server.started, "uvicorn did not start"
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()


needs_chromium = pytest.mark.usefixtures("_chromium")  # the fixture: conftest.py beside this file


def chromium(args: list[str], tmp: Path) -> subprocess.CompletedProcess:
    """Headless Chromium with networking off except this machine's own 127.0.0.1 (the app under test)."""
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--hide-scrollbars", f"--user-data-dir={tmp / 'chromium-profile'}",
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", *args],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
