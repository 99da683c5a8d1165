"""Who may ask `serve` for what: the token (401 without it), the same-origin rule for changes (403),
and no path outside the data directory, however it is spelled."""

from __future__ import annotations

import os

import pytest
from serve_support import TOKEN, app_for, client_for, make_data, same_origin
from starlette.testclient import TestClient

from stridecue.serve.command import listening_socket

PAGES = ["/", "/runs/1", "/runs/1/export/fit", "/history", "/physio", "/pain", "/settings", "/live", "/live/events", "/live.js",
         "/files/runs/2026/x.scrun", "/nothing"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    base = tmp_path_factory.mktemp("data")
    paths = make_data(base)
    outside = tmp_path_factory.mktemp("outside")
    secret = outside / "secret.scrun"
    secret.write_bytes(b"not yours")
    (base / "runs" / "2026" / "escape.scrun").symlink_to(secret)  # a symlink inside pointing out
    (base / "runs" / "2026" / "escape-dir").symlink_to(outside, target_is_directory=True)
    return base, paths, secret


@pytest.fixture(scope="module")
def client(data):
    with client_for(data[0]) as c:
        yield c


@pytest.mark.parametrize("lan", [False, True])
def test_every_request_without_the_token_is_401(data, lan):
    # the app is the same on 127.0.0.1 and with --lan (0.0.0.0): the token is always required
    with TestClient(app_for(data[0]), follow_redirects=False) as anonymous:
        for page in PAGES:
            r = anonymous.get(page)
            assert r.status_code == 401, page
            assert "access token" in r.text and "runs" not in r.text.lower().replace("your runs", "")
        assert anonymous.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert anonymous.get("/?token=wrong").status_code == 401
        anonymous.cookies.set("stridecue_token_80", "wrong")
        assert anonymous.get("/").status_code == 401
        assert anonymous.post("/settings", data={"volume": "0.5"}, headers=same_origin(anonymous)).status_code == 401


def test_token_in_the_address_becomes_a_cookie_and_leaves_the_address(data):
    with TestClient(app_for(data[0]), follow_redirects=False) as browser:
        r = browser.get(f"/history?profile=default&token={TOKEN}")
        assert r.status_code == 303 and r.headers["location"] == "/history?profile=default"
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and TOKEN.lower() in cookie
        assert browser.get("/history?profile=default").status_code == 200  # the cookie does it now
        # the redirect never leaves for another host, however the path starts
        r = browser.get(f"//evil.example/x?token={TOKEN}")
        assert r.status_code == 303 and r.headers["location"].startswith("/") and not r.headers["location"].startswith("//")


def test_answers_carry_protective_headers(client):
    r = client.get("/")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Referer": "http://evil.example/form"},
    {},  # neither: refused too
    {"Origin": "https://testserver"},  # another scheme is another origin
])
def test_cross_origin_changes_are_403_and_change_nothing(client, data, headers):
    settings = data[0] / "settings.toml"
    before = settings.read_bytes() if settings.exists() else None
    r = client.post("/settings", data={"profile": "default", "volume": "0.2"}, headers=headers)
    assert r.status_code == 403
    assert (settings.read_bytes() if settings.exists() else None) == before


def test_same_origin_change_by_referer_is_allowed(client):
    r = client.post("/settings", data={"profile": "default", "volume": "0.9"}, headers={"Referer": "http://testserver/settings"})
    assert r.status_code == 303


TRAVERSALS = [
    "/files/../stridecue.db",
    "/files/runs/../stridecue.db",
    "/files/%2e%2e/stridecue.db",
    "/files/runs/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/files/runs/..%2f..%2fstridecue.db",
    "/files/%2fetc%2fpasswd",
    "/files//etc/passwd",
    "/files/etc/passwd",
    "/files/runs/2026/escape.scrun",  # symlink to a file outside
    "/files/runs/2026/escape-dir/secret.scrun",  # through a symlinked folder
    "/files/stridecue.db",  # inside the data directory, but not a run file
    "/files/settings.toml",
    "/files/runs/2026",
    "/files/runs/2026/%00.scrun",
    "/files/runs\\..\\stridecue.db",
]


def _refused(status: int, body: bytes) -> bool:
    return status in (400, 404) and b"not yours" not in body and b"root:" not in body and b"SQLite" not in body


@pytest.mark.parametrize("path", [p for p in TRAVERSALS if "/../" not in p])
def test_no_path_outside_the_run_files_is_served(client, path):
    r = client.get(path)
    assert _refused(r.status_code, r.content), (path, r.status_code)


def test_no_path_outside_the_run_files_is_served_through_uvicorn(data):
    """The same addresses sent byte for byte to the real server (an HTTP client library folds a
    literal ../ away before sending; a hostile one would not)."""
    import http.client

    from serve_support import ServerThread

    with ServerThread(app_for(data[0])) as server:
        for path in TRAVERSALS:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            try:
                conn.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"})
                r = conn.getresponse()
                assert _refused(r.status, r.read()), (path, r.status)
            finally:
                conn.close()


def test_run_files_under_runs_are_served(client, data):
    _, paths, _ = data
    for path in paths.values():
        relative = path.relative_to(data[0]).as_posix()
        r = client.get(f"/files/{relative}")
        assert r.status_code == 200 and r.content == path.read_bytes()
        assert r.headers["content-disposition"].startswith("attachment")


def test_a_run_symlinked_from_outside_is_not_listed(client, data):
    assert "escape" not in client.get("/").text


def test_a_run_the_store_knows_outside_the_data_directory_is_404(tmp_path):
    """`summary /elsewhere/run.scrun` puts a run outside the data directory in the store: serve never shows it."""
    import datetime as dt

    from test_summary_support import START, make_run, store_with

    base, elsewhere = tmp_path / "data", tmp_path / "elsewhere"
    base.mkdir()
    inside = make_run(base, START, 3)
    away = make_run(elsewhere, START + dt.timedelta(days=1), 3)
    with store_with(base) as store:
        ids = {store.ingest(inside): "inside", store.ingest(away): "away"}
    with client_for(base) as c:
        for run_id, where in ids.items():
            assert c.get(f"/runs/{run_id}").status_code == (200 if where == "inside" else 404)
            assert c.get(f"/runs/{run_id}/export/fit").status_code == (200 if where == "inside" else 404)
        assert away.stem not in c.get("/").text and inside.stem in c.get("/").text


def test_a_taken_port_is_a_one_line_error(tmp_path):
    import subprocess
    import sys

    taken = listening_socket("127.0.0.1", 0)
    try:
        port = taken.getsockname()[1]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        done = subprocess.run([sys.executable, "-m", "stridecue.cli", "--data-dir", str(tmp_path), "serve", "--port", str(port)],
                              capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
    finally:
        taken.close()
    assert done.returncode == 1
    assert done.stderr.strip() == f"stridecue serve: port {port} is in use (stop what uses it, or choose another with --port)"


@pytest.mark.parametrize("argv, message", [
    (["--data-dir", "{missing}", "serve"], "does not exist"),
    (["--data-dir", "{tmp}", "serve", "--port", "70000"], "--port must be from 0 to 65535"),
])
def test_bad_input_is_a_one_line_error(tmp_path, capsys, argv, message):
    from stridecue.cli import main

    argv = [a.format(missing=tmp_path / "nope", tmp=tmp_path) for a in argv]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


def test_lan_address_is_printed_with_a_terminal_qr_code():
    import io

    from stridecue.serve.command import print_address

    out = io.StringIO()
    print_address("http://192.0.2.7:8765/?token=abc", lan=True, out=out)
    text = out.getvalue()
    assert text.startswith("StrideCue on http://192.0.2.7:8765/?token=abc\n")
    assert sum(line.count("█") for line in text.splitlines()) > 200  # the QR code, in block characters
    local = io.StringIO()
    print_address("http://127.0.0.1:8765/?token=abc", lan=False, out=local)
    assert "█" not in local.getvalue()
