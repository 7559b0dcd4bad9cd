"""The restoration jobs behind ``semanir serve``, free of any web framework.

One upload is one job: its own unguessable id, its own folder (the input's preview, the result),
its own options. Nothing is shared between jobs but the loaded models, which one worker thread runs
one job at a time (two images at once would only split the same cores and double the memory), so
two browsers never see each other's results: a result is reached through its job's id only.
"""

from __future__ import annotations

import dataclasses
import queue
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..data.degradations import BAYER_PATTERNS
from ..data.io import ImageFile, decode_image, write_image
from ..errors import UsageError, bug_message, user_message
from ..pretrained import get_preset, list_presets
from ..restoration import Restorer


def preset_label(name: str) -> str:
    """What the page's task menu shows: a shipped preset's name and what it restores (from its
    weights' metadata); any other name as it is."""
    return f"{name}: {get_preset(name).label}" if name in list_presets() else name


class Busy(UsageError):
    """Too many images are waiting; the page says so and the user tries again later."""


class Cancelled(Exception):
    """Raised in the worker at a job's next tile once its cancel was asked for."""


@dataclass(frozen=True)
class Options:
    task: str
    k: int | None = None
    self_ensemble: bool = False
    bayer_pattern: str = "RGGB"


def parse_options(query: dict[str, str], tasks: list[str]) -> Options:
    """Options from the page's query string; a UsageError names the bad one."""
    task = query.get("task") or ""
    if task not in tasks:
        raise UsageError(f"task must be one of {', '.join(tasks)}, got {task!r}")
    k_text = (query.get("k") or "").strip()
    if k_text and not (k_text.isdigit() and int(k_text) >= 1):
        raise UsageError(f"k must be a whole number >= 1 (or empty for the k stored with the weights), got {k_text!r}")
    pattern = (query.get("bayer") or "RGGB").upper()
    if pattern not in BAYER_PATTERNS:
        raise UsageError(f"unknown Bayer pattern {pattern!r} (use one of {', '.join(BAYER_PATTERNS)})")
    ensemble = (query.get("ensemble") or "0").lower() in ("1", "true", "on", "yes")
    return Options(task, int(k_text) if k_text else None, ensemble, pattern)


def upload_name(name: str | None) -> str:
    """The file name an upload is reported under: its last path part, printable, not too long."""
    name = re.split(r"[\\/]", name or "")[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()[:200]
    return name or "upload"


@dataclass
class Job:
    id: str
    name: str
    options: Options
    folder: Path
    image: ImageFile | None  # dropped once restored
    state: str = "queued"  # queued, running, done, error, cancelled
    cancel_asked: bool = False
    done: int = 0
    total: int = 0
    message: str = ""
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    input_size: tuple[int, int] = (0, 0)  # width, height
    result_size: tuple[int, int] | None = None

    @property
    def live(self) -> bool:
        """Waiting or running; every other state is an end."""
        return self.state in ("queued", "running")

    @property
    def download_name(self) -> str:
        stem = re.sub(r"[^\w.-]+", "_", Path(self.name).stem).strip("._") or "image"
        return f"{stem}_{self.options.task}.png"


class JobRunner:
    """Jobs by id, and the one thread that runs them in order.

    ``restorer_for(task)`` gives the Restorer of a task (loaded once, on its first job); each job
    runs a copy with its own k, self-ensemble and Bayer layout. ``keep`` finished jobs are kept
    (the oldest one's folder is removed when another finishes), ``max_waiting`` may wait.
    """

    def __init__(
        self,
        restorer_for: Callable[[str], Restorer],
        tasks: list[str],
        workdir: str | Path | None = None,
        keep: int = 16,
        max_waiting: int = 8,
    ):
        self.tasks = list(tasks)
        self._restorer_for = restorer_for
        self._restorers: dict[str, Restorer] = {}
        self._own_workdir = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix="semanir-serve-") if workdir is None else workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.keep, self.max_waiting = keep, max_waiting
        self._jobs: dict[str, Job] = {}  # in submission order
        self._lock = threading.Lock()
        self._queue: queue.Queue[Job | None] = queue.Queue()
        # A daemon: Ctrl-C must not wait for a big image to finish.
        self._worker = threading.Thread(target=self._work, name="semanir-serve-worker", daemon=True)
        self._worker.start()

    # --- called by the web app (any thread) --------------------------------------------------------

    def submit(self, data: bytes, name: str | None, options: Options) -> Job:
        """Decode the upload (an ImageError says why it is not an image) and queue its job."""
        name = upload_name(name)
        image = decode_image(data, name)
        with self._lock:
            waiting = sum(job.live for job in self._jobs.values())
            if waiting >= self.max_waiting:
                raise Busy(f"the server is busy with {waiting} images; try again when one is done")
            folder = Path(tempfile.mkdtemp(prefix="job-", dir=self.workdir))
            job = Job(secrets.token_urlsafe(16), name, options, folder, image)
            self._jobs[job.id] = job
        try:
            job.input_size = (image.pixels.shape[1], image.pixels.shape[0])
            # What the page shows as "before": any input format and bit depth, as an 8-bit PNG.
            write_image(folder / "input.png", image.pixels, 8, image.alpha)
        except BaseException:
            self._forget(job)
            raise
        self._queue.put(job)
        return job

    def cancel(self, job: Job) -> bool:
        """Stop a job: a queued one at once, a running one after its current tile (the worker sees
        the flag in the progress callback). False when it had already finished."""
        with self._lock:
            if not job.live:
                return False
            job.cancel_asked = True
            if job.state == "queued":  # the worker skips it when it comes out of the queue
                job.image, job.finished, job.message = None, time.monotonic(), "cancelled"
                job.state = "cancelled"
        return True

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def status(self, job: Job) -> dict:
        with self._lock:
            ahead = sum(
                other.live and other.submitted < job.submitted
                for other in self._jobs.values()
            )  # fmt: skip
        now = time.monotonic()
        seconds = None if job.started is None else (job.finished or now) - job.started
        return {
            "id": job.id, "name": job.name, "state": job.state, "done": job.done, "total": job.total,
            "ahead": ahead if job.state == "queued" else 0, "message": job.message,
            "seconds": seconds, "task": job.options.task, "k": job.options.k,
            "self_ensemble": job.options.self_ensemble, "input_size": list(job.input_size),
            "result_size": list(job.result_size) if job.result_size else None,
            "download_name": job.download_name,
        }  # fmt: skip

    def file(self, job: Job, which: str) -> Path | None:
        """The job's ``input`` preview or its ``result``, if it is there."""
        if which not in ("input", "result") or (which == "result" and job.state != "done"):
            return None
        path = job.folder / f"{which}.png"
        return path if path.is_file() else None

    def close(self) -> None:
        self._queue.put(None)
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # --- the worker thread -------------------------------------------------------------------------

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            with self._lock:
                if job.state == "cancelled":
                    continue
                job.state, job.started = "running", time.monotonic()
            self._run(job)

    def _run(self, job: Job) -> None:
        state, message = "error", ""
        try:
            restorer = self._restorer(job.options)
            image = job.image

            def progress(done: int, total: int) -> None:
                job.done, job.total = done, total
                if job.cancel_asked:
                    raise Cancelled

            if job.cancel_asked:  # asked while the model was loading
                raise Cancelled

            out, alpha, note = restorer.restore_image(image, job.name, progress)
            write_image(job.folder / "result.png", out, bit_depth=image.bit_depth, alpha=alpha)
            job.result_size = (out.shape[1], out.shape[0])
            state, message = "done", note or ""
        except Cancelled:
            state, message = "cancelled", "cancelled"
        except Exception as err:  # noqa: BLE001 - the job's page gets the one line, as the CLI prints it
            message = user_message(err)
            if message is None:
                traceback.print_exception(err, file=sys.stderr)
                message = f"{bug_message(err)}; the traceback is in the server's output"
        finally:
            job.image, job.finished, job.message = None, time.monotonic(), message
            self._evict(keep_room_for=job)
            job.state = state  # last: whoever sees the job finished sees everything it left done

    def _restorer(self, options: Options) -> Restorer:
        if options.task not in self._restorers:
            self._restorers[options.task] = self._restorer_for(options.task)
        base = self._restorers[options.task]
        return dataclasses.replace(
            base, topk=options.k, self_ensemble=options.self_ensemble, bayer_pattern=options.bayer_pattern
        )

    def _evict(self, keep_room_for: Job) -> None:
        """Remove the oldest finished jobs, leaving ``keep`` with ``keep_room_for`` (finishing now)."""
        with self._lock:
            finished = [job for job in self._jobs.values() if not job.live and job is not keep_room_for]
            old = finished[: max(0, len(finished) + 1 - self.keep)]
            for job in old:
                del self._jobs[job.id]
        for job in old:
            shutil.rmtree(job.folder, ignore_errors=True)

    def _forget(self, job: Job) -> None:
        with self._lock:
            self._jobs.pop(job.id, None)
        shutil.rmtree(job.folder, ignore_errors=True)
