"""The web app of `stridecue serve` (Starlette): runs, reports, trends, downloads, settings, live.

    GET  /                       the runs, newest first
    GET  /runs/{id}              the run's report (review/report.py), with its downloads
    GET  /runs/{id}/export/{fmt} fit, csv or parquet (review/export.py; csv and parquet: a zip of three tables)
    GET  /files/runs/...         a run file or its cue track, by its path in the data directory
    GET  /history                trends across runs (review/history.py, report.py's charts)
    GET  /settings, POST         the runner's settings (coach/settings.py checks them)
    GET  /pain, POST             log pain 0-10 (pain_form.py; into the pain journal) and the recent ratings' guidance
    GET  /live, /live/events     the run in progress: a page, and its statuses as server-sent events

Everything reads: the store through catalog.py's read-only copy, the live status through
live/status_feed.py.  The two writes are POST /settings, to settings.toml, and POST /pain, one line
appended to the pain journal.  guard.py decides who may ask.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import tempfile
import zipfile
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qsl, quote

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from stridecue.errors import UserError
from stridecue.live.status_feed import LiveStatus, LiveStatusReader, feed_path, last_status
from stridecue.serve import pages, pain_form, settings_edit
from stridecue.serve.catalog import Catalog, NotServed
from stridecue.serve.guard import AccessGuard

EXPORT_TYPES = {"fit": "application/vnd.ant.fit", "csv": "application/zip", "parquet": "application/zip"}
MAX_FORM_BYTES = 64 * 1024
POLL_S = 0.1  # how often the live events look for a new status line: the run writes one every 0.5 s, the page must
# show one at least every second (issue 17; the 30-minute soak, `stridecue bench --only soak`, saw 1.27 s at 0.2 s)
KEEPALIVE_S = 15.0


def create_app(base: Path, token: str, *, analyse: Callable | None = None) -> Starlette:
    """The app for data directory `base`; every request needs `token` (guard.py).
    analyse: the stride analysis for run files the store has not analysed (tests stand one in)."""
    catalog = Catalog(base, analyse)

    @asynccontextmanager
    async def lifespan(app):
        yield
        catalog.close()

    routes = [
        Route("/", runs_page), Route("/runs/{run_id:int}", report_page), Route("/runs/{run_id:int}/export/{fmt}", export_download),
        Route("/files/{path:path}", file_download), Route("/history", history_page),
        Route("/physio", physio_page),
        Route("/settings", settings_page, methods=["GET", "HEAD"]), Route("/settings", settings_post, methods=["POST"]),
        Route("/pain", pain_page, methods=["GET", "HEAD"]), Route("/pain", pain_post, methods=["POST"]),
        Route("/live", live_page), Route("/live/events", live_events), Route("/live.js", live_script),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(AccessGuard, token=token)], lifespan=lifespan,
                    exception_handlers={HTTPException: _http_error, NotServed: _not_served, UserError: _user_error,
                                        sqlite3.DatabaseError: _store_error})
    app.state.catalog = catalog
    app.state.base = Path(base)
    app.state.settings_lock = asyncio.Lock()
    return app


def _catalog(request: Request) -> Catalog:
    return request.app.state.catalog


# -- runs, reports, downloads ---------------------------------------------------------------------------


async def runs_page(request: Request) -> HTMLResponse:
    from stridecue.review.history import run_row

    catalog = _catalog(request)
    rows = await catalog.call(lambda store: [run_row(store, r) for r in catalog.runs(store)])
    return HTMLResponse(pages.run_list(rows, last_status(request.app.state.base)))


async def report_page(request: Request) -> HTMLResponse:
    catalog = _catalog(request)
    return HTMLResponse(await catalog.call(_report, catalog, request.path_params["run_id"]))


def _report(store, catalog: Catalog, run_id: int) -> str:
    from stridecue.review.figures import load_summary
    from stridecue.review.history import trend_rows
    from stridecue.review.report import render_report

    run = catalog.run(store, run_id)
    summary = load_summary(store, run)
    rows = [r for r in trend_rows(store, profile=summary.get("profile"), upto=run) if catalog.inside(r["path"])]
    text = render_report(run, summary, store.strides(run["id"]), store.cues(run["id"]), rows)
    href = "/files/" + quote(catalog.relative(run["path"])) if Path(run["path"]).exists() else None
    return pages.phone_report(text, run, href)


async def export_download(request: Request) -> FileResponse:
    fmt = request.path_params["fmt"]
    if fmt not in EXPORT_TYPES:
        raise HTTPException(404, f"no export format {fmt!r} (fit, csv or parquet)")
    catalog = _catalog(request)
    path, name, folder = await catalog.call(_export, catalog, request.path_params["run_id"], fmt)
    return FileResponse(path, media_type=EXPORT_TYPES[fmt], filename=name,
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))


def _export(store, catalog: Catalog, run_id: int, fmt: str) -> tuple[Path, str, Path]:
    """(file to send, its download name, the temporary folder to remove after sending)."""
    from stridecue.review.export import export_run

    run = catalog.run(store, run_id)
    folder = Path(tempfile.mkdtemp(prefix="stridecue-serve-"))  # outside the data directory: nothing of the store changes
    try:
        written = export_run(store, run, fmt, folder / "out")
        if fmt == "fit":
            return written[0], written[0].name, folder
        bundle = folder / f"{run['name']}-{fmt}.zip"
        method = zipfile.ZIP_DEFLATED if fmt == "csv" else zipfile.ZIP_STORED  # parquet is compressed already
        with zipfile.ZipFile(bundle, "w", compression=method) as z:
            for path in written:
                z.write(path, path.name)
        return bundle, bundle.name, folder
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


async def file_download(request: Request) -> FileResponse:
    path = _catalog(request).file(request.path_params["path"])
    return FileResponse(path, media_type="application/octet-stream", filename=path.name)


async def history_page(request: Request) -> HTMLResponse:
    from stridecue.review.history import run_row, trends

    catalog = _catalog(request)
    profile = request.query_params.get("profile") or None

    def build(store):
        every = catalog.runs(store)
        rows = [run_row(store, r) for r in every if profile is None or r.get("profile") == profile]
        return rows, sorted({r.get("profile") or "default" for r in every})

    rows, profiles = await catalog.call(build)
    return HTMLResponse(pages.history_page(rows, trends(rows), profiles, profile))


async def physio_page(request: Request) -> HTMLResponse:
    """`stridecue report`'s page for the physiotherapist, on the phone (?weeks=N, default 4;
    ?until=YYYY-MM-DD, default today)."""
    import datetime as dt

    from stridecue.review import physio

    text = request.query_params.get("weeks", "4")
    try:
        weeks = int(text)
    except ValueError:
        raise UserError(f"weeks={text!r}: give a whole number of weeks, 1 to {physio.MAX_WEEKS}") from None
    now = dt.datetime.now(dt.timezone.utc)
    period = physio.period_ending(physio.until_date(request.query_params.get("until"), "until="), weeks)
    html = await _catalog(request).call(lambda store: physio.build(store, period, None, now))
    return HTMLResponse(pages.phone_physio(html, weeks))


# -- settings ----------------------------------------------------------------------------------------


async def settings_page(request: Request) -> HTMLResponse:
    view = settings_edit.current(request.app.state.base, request.query_params.get("profile"))
    notice = "Saved. The next run uses these settings." if request.query_params.get("saved") else ""
    return HTMLResponse(pages.settings_page(view, settings_edit.form_values(view.profile), notice=notice))


async def settings_post(request: Request) -> Response:
    base = request.app.state.base
    form = await _form(request, "settings")
    name = form.get("profile") or settings_edit.current(base).profile.name
    async with request.app.state.settings_lock:
        try:
            settings_edit.save(base, name, form)
        except UserError as e:
            view = settings_edit.current(base, name)
            values = {**settings_edit.form_values(view.profile), **{k: v for k, v in form.items() if k in settings_edit.EDITABLE}}
            return HTMLResponse(pages.settings_page(view, values, error=str(e)), 400)
    return RedirectResponse(f"/settings?profile={quote(name)}&saved=1", 303)


async def _form(request: Request, what: str) -> dict[str, str]:
    """The posted form's fields; 415, 413 or 400 for what is not a small urlencoded form."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise HTTPException(415, f"{what} come as a form (application/x-www-form-urlencoded)")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(413, "the form is too large")
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50, strict_parsing=False))
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400, "the form could not be read") from None


# -- pain --------------------------------------------------------------------------------------------


async def _pain_view(request: Request) -> pain_form.PainView:
    catalog = _catalog(request)
    return await catalog.call(lambda store: pain_form.view(request.app.state.base, store, catalog.runs(store)))


async def pain_page(request: Request) -> HTMLResponse:
    view = await _pain_view(request)
    chosen = request.query_params.get("run") or (view.runs[0][0] if view.runs else "")
    notice = "Logged. The guidance for it is below." if request.query_params.get("saved") else ""
    return HTMLResponse(pages.pain_page(view, {"run": chosen, "when": request.query_params.get("when") or "during"}, notice=notice))


async def pain_post(request: Request) -> Response:
    form = await _form(request, "pain ratings")
    catalog = _catalog(request)
    runs = await catalog.call(catalog.runs)
    try:
        pain_form.save(request.app.state.base, {k: form.get(k, "") for k in pain_form.FIELDS}, runs)
    except UserError as e:
        return HTMLResponse(pages.pain_page(await _pain_view(request), form, error=str(e)), 400)
    return RedirectResponse("/pain?saved=1", 303)


# -- live --------------------------------------------------------------------------------------------


async def live_page(request: Request) -> HTMLResponse:
    return HTMLResponse(pages.live_page(last_status(request.app.state.base)))


async def live_script(request: Request) -> Response:
    return Response(pages.LIVE_JS, media_type="text/javascript")


async def live_events(request: Request) -> StreamingResponse:
    return StreamingResponse(status_events(feed_path(request.app.state.base)), media_type="text/event-stream",
                             headers={"X-Accel-Buffering": "no"})


def _event(status: LiveStatus) -> str:
    data = {"state": pages.live_state(status), "status": asdict(status), "html": pages.live_panel(status)}
    return f"event: status\nid: {status.seq}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def status_events(path: Path, poll_s: float = POLL_S):
    """Server-sent events: the newest status at once, then every status the run writes, in order;
    the last one again when it goes stale (the run stopped without its closing status)."""
    reader = LiveStatusReader(path, tail_bytes=65536)
    yield "retry: 2000\n\n"
    last, first, stale_sent, quiet = None, True, False, 0.0
    while True:
        new = reader.read_new()
        if first:
            new, first = new[-1:], False
        for status in new:
            yield _event(status)
        if new:
            last, stale_sent, quiet = new[-1], False, 0.0
        elif last is not None and last.stale() and not stale_sent:
            yield _event(last)
            stale_sent = True
        else:
            quiet += poll_s
            if quiet >= KEEPALIVE_S:
                yield ": keepalive\n\n"
                quiet = 0.0
        await asyncio.sleep(poll_s)


# -- errors ------------------------------------------------------------------------------------------


async def _http_error(request: Request, exc: HTTPException) -> HTMLResponse:
    return HTMLResponse(pages.message_page(exc.status_code, exc.detail), exc.status_code)


async def _not_served(request: Request, exc: NotServed) -> HTMLResponse:
    return HTMLResponse(pages.message_page(404, str(exc)), 404)


async def _user_error(request: Request, exc: UserError) -> HTMLResponse:
    return HTMLResponse(pages.message_page(400, str(exc)), 400)


async def _store_error(request: Request, exc: sqlite3.DatabaseError) -> HTMLResponse:
    return HTMLResponse(pages.message_page(500, f"the run store cannot be read ({exc})"), 500)
