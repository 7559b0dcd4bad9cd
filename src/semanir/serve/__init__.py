"""``semanir serve``: a page on this machine where a person drops an image and gets it restored.

The page and its API are in ``app.py`` (Starlette), the jobs in ``jobs.py`` (no web framework),
served by uvicorn. Both come with the ``serve`` extra; this module imports neither at import time,
so that a missing extra is one line, not a traceback.
"""

from __future__ import annotations

import importlib.util
import socket
import sys

from ..errors import UsageError

_INSTALL = "pip install 'semanir[serve]' (starlette, uvicorn)"


def check_packages() -> None:
    missing = [name for name in ("starlette", "uvicorn") if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(f"semanir serve needs {' and '.join(missing)}: {_INSTALL}")


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) before the server starts, so that a taken port or an unknown
    host is one line; port 0 picks a free one."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as err:
        raise UsageError(f"--host {host!r}: not an address of this machine ({err.strerror})") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as err:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {err.strerror or err}; pass another --port (or --port 0)") from None
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


def serve(host: str, port: int, restorer_for, tasks: list[str], keep: int, max_upload_bytes: int) -> None:
    """Serve the page until Ctrl-C; prints the address first (stdout, one line)."""
    check_packages()
    import uvicorn

    from .app import LOOPBACK_HOSTS, create_app
    from .jobs import JobRunner

    sock = listen(host, port)
    loopback = sock.getsockname()[0] in ("127.0.0.1", "::1") or host == "localhost"
    if not loopback:
        print(f"semanir: warning: listening on {host}: anyone who can reach this machine can use the page "
              "(there is no login)", file=sys.stderr)  # fmt: skip
    runner = JobRunner(restorer_for, tasks, keep=keep)
    app = create_app(runner, max_upload_bytes, LOOPBACK_HOSTS if loopback else None)
    # lifespan off: the app has no start-up work; access_log off: one line per poll is noise.
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    print(f"semanir serve: open {url_of(sock)} in a browser (Ctrl-C stops)", flush=True)
    try:
        server.run(sockets=[sock])
    finally:
        runner.close()
        sock.close()
