"""The web app of ``semanir serve``: one static page and a small JSON API over :class:`JobRunner`.

    GET  /                          the page (page.html: no script or style from elsewhere)
    GET  /api/presets               the tasks the page offers
    POST /api/jobs?task=&k=&ensemble=&bayer=&name=   body: the image file's bytes
                                    202 and the job's status, or 400/413/429 {"error": one line}
    GET  /api/jobs/{id}             the job's status (state, progress, message, sizes)
    DELETE /api/jobs/{id}           cancel it: at once when queued, after its current tile when
                                    running; 202 and its status, or 409 once it has ended
    GET  /api/jobs/{id}/input.png   the upload as an 8-bit PNG (the "before")
    GET  /api/jobs/{id}/result.png  the result, at the input's bit depth (?download=1: as a file)

The upload is the request body itself, not a form, so no multipart parser is needed.
"""

from __future__ import annotations

from importlib import resources

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ..errors import UsageError
from .jobs import Busy, JobRunner, parse_options, preset_label

# The names a browser on this machine sends in Host; any other name is refused, so that a web page
# elsewhere cannot reach the server through DNS rebinding.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_NO_STORE = {"Cache-Control": "no-store"}


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status, headers=_NO_STORE)


def _one_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


class _TooLarge(UsageError):
    pass


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it grows past ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    too_big = f"the file is larger than this server takes ({limit / 2**20:.0f} MiB; semanir serve --max-upload-mb)"
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge(too_big)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge(too_big)
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(runner: JobRunner, max_upload_bytes: int = 256 * 2**20, allowed_hosts=LOOPBACK_HOSTS) -> Starlette:
    page = resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")

    async def index(request: Request) -> Response:
        return HTMLResponse(page)

    async def presets(request: Request) -> Response:
        tasks = [{"name": task, "label": preset_label(task)} for task in runner.tasks]
        return JSONResponse({"presets": tasks, "default": runner.tasks[0] if runner.tasks else None})

    async def submit(request: Request) -> Response:
        try:
            options = parse_options(dict(request.query_params), runner.tasks)
            data = await _body(request, max_upload_bytes)
            job = await run_in_threadpool(runner.submit, data, request.query_params.get("name"), options)
        except _TooLarge as err:
            return _error(_one_line(err), 413)
        except Busy as err:
            return _error(_one_line(err), 429)
        except UsageError as err:  # ImageError included: the line the CLI prints after "error: "
            return _error(_one_line(err))
        return JSONResponse(runner.status(job), 202, headers=_NO_STORE)

    async def status(request: Request) -> Response:
        job = runner.get(request.path_params["id"])
        if job is None:
            return _error(f"no job {request.path_params['id']!r} here (the server keeps the last {runner.keep})", 404)
        return JSONResponse(runner.status(job), headers=_NO_STORE)

    async def cancel(request: Request) -> Response:
        job = runner.get(request.path_params["id"])
        if job is None:
            return _error(f"no job {request.path_params['id']!r} here", 404)
        if not runner.cancel(job):
            return _error(f"the job has already ended ({job.state})", 409)
        return JSONResponse(runner.status(job), 202, headers=_NO_STORE)

    async def image(request: Request) -> Response:
        job = runner.get(request.path_params["id"])
        path = job and runner.file(job, request.path_params["which"])
        if not path:
            return _error("no such image (yet)", 404)
        if request.query_params.get("download"):
            return FileResponse(path, media_type="image/png", filename=job.download_name)
        return FileResponse(path, media_type="image/png", headers=_NO_STORE)

    routes = [
        Route("/", index),
        Route("/api/presets", presets),
        Route("/api/jobs", submit, methods=["POST"]),
        Route("/api/jobs/{id}", status),
        Route("/api/jobs/{id}", cancel, methods=["DELETE"]),
        Route("/api/jobs/{id}/{which}.png", image),
    ]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))] if allowed_hosts else []
    return Starlette(routes=routes, middleware=middleware)
