"""Who may ask `serve` for what: the access token, the same-origin rule, safe response headers.

Every request needs the access token `serve` printed (on 127.0.0.1 too: other users of the same
computer reach that address as well).  It comes as ?token=... in the printed address, once; the
answer is a redirect to the same page without it and a cookie that carries it from then on (or as
an `Authorization: Bearer` header, for scripts).  Without it: 401.

A request that changes something (anything but GET and HEAD) also needs an Origin, or else a
Referer, of this very address (scheme and Host); else 403.  That stops another web page the
phone has open from posting to `serve` with the phone's cookie.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse

SAFE_METHODS = ("GET", "HEAD")
UNAUTHORISED = "401: this needs the access token; open the address `stridecue serve` printed (it carries the token)\n"
CROSS_ORIGIN = "403: a change must come from this app's own pages (Origin or Referer of this address)\n"
HEADERS = [
    (b"content-security-policy", b"default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; script-src 'self'; "
                                 b"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


def cookie_name(scope) -> str:
    """One cookie per port: cookies do not tell ports apart, and two `serve`s may run at once."""
    server = scope.get("server") or ("", 0)
    return f"stridecue_token_{server[1]}"


def same_origin(request: Request) -> bool:
    host = request.headers.get("host")
    if not host:
        return False
    own = f"{request.url.scheme}://{host}".lower()
    origin = request.headers.get("origin")
    if origin is not None:
        return origin.lower() == own
    referer = request.headers.get("referer")
    if not referer:
        return False
    parts = urlsplit(referer)
    return f"{parts.scheme}://{parts.netloc}".lower() == own


def _matches(supplied: str | None, token: str) -> bool:
    return bool(supplied) and secrets.compare_digest(supplied.encode(), token.encode())


def _bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    return value[7:].strip() if value.lower().startswith("bearer ") else None


class AccessGuard:
    """ASGI middleware: the token, the same-origin rule, and HEADERS on every answer."""

    def __init__(self, app, token: str):
        if not token:
            raise ValueError("an access token is needed")
        self.app = app
        self.token = token

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *HEADERS]}
            await send(message)

        request = Request(scope)
        via_query = request.query_params.get("token")
        name = cookie_name(scope)
        if not (_matches(via_query, self.token) or _matches(request.cookies.get(name), self.token)
                or _matches(_bearer(request), self.token)):
            response = PlainTextResponse(UNAUTHORISED, 401, headers={"WWW-Authenticate": 'Bearer realm="stridecue"'})
        elif request.method not in SAFE_METHODS and not same_origin(request):
            response = PlainTextResponse(CROSS_ORIGIN, 403)
        elif via_query is not None and request.method in SAFE_METHODS:
            response = RedirectResponse(_without_token(scope), 303)
            response.set_cookie(name, self.token, httponly=True, samesite="strict", path="/")
        else:
            await self.app(scope, receive, send_with_headers)
            return
        await response(scope, receive, send_with_headers)


def _without_token(scope) -> str:
    """The same address, relative (path and query as sent), without the token.  Leading slashes
    are folded into one: "//host/..." would send the browser to another host."""
    path = "/" + (scope.get("raw_path") or scope["path"].encode()).decode("latin-1").lstrip("/")
    query = "&".join(p for p in scope.get("query_string", b"").decode("latin-1").split("&") if p and not p.startswith("token="))
    return path + (f"?{query}" if query else "")
