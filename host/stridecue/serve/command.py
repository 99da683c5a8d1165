"""Review on your phone: a small web app of your runs, their reports and trends, downloads (run
file, CSV, Parquet, FIT), your settings, and a live page of the run in progress.

By default it answers on this computer only (127.0.0.1).  With --lan it answers on every network
interface, so a phone on the same Wi-Fi can open it; scan the QR code it prints.  Either way every
request needs the access token in the printed address (a new one each start); the browser keeps
it in a cookie after the first visit.  Ctrl-C stops it.
"""

from __future__ import annotations

import errno
import secrets
import socket
import sys
from pathlib import Path

from stridecue.errors import UserError

DEFAULT_PORT = 8765


def configure(parser) -> None:
    parser.epilog = __doc__.split("\n\n", 1)[1].strip()
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, metavar="N",
                        help=f"TCP port, 1-65535, or 0 for any free one (default {DEFAULT_PORT})")
    parser.add_argument("--lan", action="store_true",
                        help="answer on the local network too (0.0.0.0), for a phone on the same Wi-Fi; prints a QR code of the address")


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound socket (uvicorn serves on it), so a taken port is our one-line error, not uvicorn's."""
    if not 0 <= port <= 65535:
        raise UserError(f"--port must be from 0 to 65535, not {port}")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart may reuse a port in TIME_WAIT
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise UserError(f"port {port} is in use (stop what uses it, or choose another with --port)") from None
        if e.errno == errno.EACCES:
            raise UserError(f"port {port} needs privileges (choose one above 1023 with --port)") from None
        raise UserError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    sock.listen(64)
    return sock


def lan_address() -> str | None:
    """This computer's address on the local network: as its own name resolves, else the source
    address of its default route (connect() on a UDP socket only looks the route up: no packet
    is sent)."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        infos = []
    for info in infos:
        if not info[4][0].startswith("127."):
            return info[4][0]
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith(("127.", "0.")) else address


def print_address(url: str, lan: bool, out=sys.stdout) -> None:
    print(f"StrideCue on {url}", file=out)
    if lan and "<" in url:
        print("(this computer's network address is unknown: put it in the address by hand)", file=out)
    elif lan:
        import segno

        print("scan this with the phone's camera (same Wi-Fi):", file=out)
        segno.make(url, error="m").terminal(out=out, compact=True)
    print("anyone with this address can see your runs; Ctrl-C stops", file=out, flush=True)


def main(args, base: Path) -> int:
    if not base.is_dir():
        raise UserError(f"data directory {base} does not exist (record a run first, or name another with --data-dir)")
    import uvicorn

    from stridecue.serve.app import create_app

    host = "0.0.0.0" if args.lan else "127.0.0.1"
    sock = listening_socket(host, args.port)
    port = sock.getsockname()[1]
    token = secrets.token_urlsafe(18)
    shown = (lan_address() or "<this computer's address>") if args.lan else "127.0.0.1"
    print_address(f"http://{shown}:{port}/?token={token}", args.lan)
    config = uvicorn.Config(create_app(base, token), log_level="warning", timeout_graceful_shutdown=2, access_log=False)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shuts down on Ctrl-C, then raises it again: stopping is how serve ends
        pass
    finally:
        sock.close()
    return 0
