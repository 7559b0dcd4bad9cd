"""The paper's benchmark sets: what each is used for, how it is scored, where its files live.

Give a root folder that holds the sets (e.g. ``benchmarks/`` with ``Set5/HR``, ``CBSD68``, ...).
Folder names match case-insensitively and through the aliases the usual releases use (SwinIR's
``testsets``, BasicSR's ``GTmod12``, Restormer's ``test/GoPro/{input,target}``, TransWeather's
``<set>/{input,gt}``, the original GoPro/HIDE/Snow100K/RainDrop archives).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from .datasets import PairedLayout
from .io import IMAGE_EXTENSIONS, ImageError, list_images
from .protocols import Protocol, get_protocol, task_spec

_RESTORMER = PairedLayout("Restormer's input/ + target/", "input/*", "target/*")
_TRANSWEATHER = PairedLayout("TransWeather's input/ + gt/", "input/*", "gt/*")


@dataclass(frozen=True)
class Benchmark:
    name: str
    uses: tuple[tuple[str, int], ...]  # (task, channels) the paper evaluates on this set
    aliases: tuple[str, ...] = ()  # other folder names for the set (relative paths allowed)
    subfolders: tuple[str, ...] = ("",)  # where the clean images sit inside the set's folder
    layouts: tuple[PairedLayout, ...] = ()  # paired sets: input/target layouts, tried in order
    comparable: bool = True  # False: figures on it cannot be compared with published ones
    note: str = ""

    @property
    def paired(self) -> bool:
        return bool(self.layouts)

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(task for task, _ in self.uses))

    def protocols(self) -> list[Protocol]:
        """Every (task, level, channels) protocol the paper reports on this set."""
        return [
            get_protocol(task, level, channels)
            for task, channels in self.uses
            for level in task_spec(task).table_levels  # the levels of the paper's tables
        ]

    def _expected(self) -> str:
        if self.paired:
            return "one of: " + "; ".join(layout.description for layout in self.layouts)
        inside = [s for s in self.subfolders if s]
        return f"images in {self.name}/" + (
            f" (or {', '.join(self.name + '/' + s for s in inside)})" if inside else ""
        )

    def folder(self, root: str | os.PathLike) -> Path:
        """The set's folder under `root`; a one-line ImageError naming what was expected if absent."""
        root = Path(root)
        if not root.is_dir():
            raise ImageError(f"{root}: no such benchmark root folder")
        for rel in (self.name, *self.aliases):
            found = _find_dir(root, rel)
            if found is not None:
                return found
        names = ", ".join((self.name, *self.aliases))
        raise ImageError(f"{root}: no {self.name} folder (looked for {names}); expected {self._expected()}")

    def images(self, root: str | os.PathLike) -> list[Path]:
        """Sorted clean images of an unpaired set."""
        if self.paired:
            raise ValueError(f"{self.name} is a paired set: use pairs()")
        base = self.folder(root)
        for sub in self.subfolders:
            folder = _find_dir(base, sub) if sub else base
            if folder is not None and any(p.suffix.lower() in IMAGE_EXTENSIONS for p in folder.iterdir()):
                return list_images(folder)
        raise ImageError(f"{base}: no images; expected {self._expected()}")

    def pairs(self, root: str | os.PathLike) -> list[tuple[Path, Path, str]]:
        """Matched (input, target, name) files of a paired set, trying each known layout."""
        if not self.paired:
            raise ValueError(f"{self.name} is not a paired set: use images()")
        bases = [
            b for b in (_find_dir(Path(root), rel) for rel in (self.name, *self.aliases)) if b is not None
        ]
        if not bases:
            self.folder(root)  # raises the one-line "no such folder" error
        for base in bases:  # e.g. RainDrop/ may hold the release's test_a/ one level down
            for layout in self.layouts:
                if any(True for _ in base.glob(layout.input_glob)):
                    return layout.pairs(base)
        raise ImageError(f"{bases[0]}: no {self.name} inputs found; expected {self._expected()}")


def _find_dir(root: Path, rel: str) -> Path | None:
    """root/rel with each component matched case-insensitively (exact match preferred)."""
    here = root
    for part in Path(rel).parts:
        exact = here / part
        if exact.is_dir():
            here = exact
            continue
        matches = (
            [p for p in here.iterdir() if p.is_dir() and p.name.lower() == part.lower()]
            if here.is_dir()
            else []
        )
        if not matches:
            return None
        here = sorted(matches)[0]
    return here


_SR_SUB = ("HR", "GTmod12", "original", "")

_ALL = [
    Benchmark("Set5", (("sr", 3),), subfolders=_SR_SUB),
    Benchmark("Set14", (("sr", 3),), subfolders=_SR_SUB, note="'bridge' is gray; it is replicated to RGB"),
    Benchmark("BSD100", (("sr", 3),), aliases=("B100",), subfolders=_SR_SUB),
    Benchmark(
        "Urban100",
        (("sr", 3), ("denoise", 3), ("denoise", 1), ("jpeg", 3), ("jpeg", 1)),
        subfolders=_SR_SUB,
    ),
    Benchmark("Manga109", (("sr", 3),), subfolders=_SR_SUB),
    Benchmark("CBSD68", (("denoise", 3),), subfolders=("original_png", "")),
    Benchmark("BSD68", (("denoise", 1),)),
    Benchmark("Set12", (("denoise", 1),)),
    Benchmark("Kodak24", (("denoise", 3), ("demosaic", 3)), aliases=("Kodak",)),
    Benchmark(
        "Kodak24_500crop",
        (("denoise", 3), ("demosaic", 3)),
        comparable=False,
        note="500x500 crops of Kodak24, not the full 768x512 images: not comparable with published Kodak figures",
    ),
    Benchmark("McMaster", (("denoise", 3), ("demosaic", 3)), aliases=("McM",)),
    Benchmark("Classic5", (("jpeg", 1),)),
    Benchmark("LIVE1", (("jpeg", 3), ("jpeg", 1))),
    Benchmark("BSDS500", (("jpeg", 3), ("jpeg", 1)), aliases=("BSD500",)),
    Benchmark(
        "GoPro",
        (("deblur", 3),),
        aliases=("GOPRO_Large", "test/GoPro"),
        layouts=(
            _RESTORMER,
            PairedLayout(
                "GOPRO_Large's test/<sequence>/blur + sharp",
                "test/*/blur/*",
                "test/*/sharp/*",
                with_sequence=True,
            ),
            PairedLayout(
                "GOPRO_Large/test's <sequence>/blur + sharp", "*/blur/*", "*/sharp/*", with_sequence=True
            ),
        ),
    ),
    Benchmark(
        "HIDE",
        (("deblur", 3),),
        aliases=("HIDE_dataset", "test/HIDE"),
        layouts=(
            _RESTORMER,
            PairedLayout(
                "HIDE_dataset's test/<close-ups|long-shot>/ + GT/", "test/*/*", "GT/*", extra_targets_ok=True
            ),
        ),
    ),
    Benchmark("Test1", (("weather", 3),), aliases=("test/Test1",), layouts=(_TRANSWEATHER,)),
    Benchmark(
        "Snow100K-L",
        (("weather", 3),),
        aliases=("Snow100K_L", "test/Snow100K-L", "Snow100K/test/Snow100K-L"),
        layouts=(_TRANSWEATHER, PairedLayout("Snow100K's synthetic/ + gt/", "synthetic/*", "gt/*")),
    ),
    Benchmark(
        "RainDrop",
        (("weather", 3),),
        aliases=("RainDrop/test_a", "test_a", "test/RainDrop"),
        layouts=(
            _TRANSWEATHER,
            PairedLayout("RainDrop test_a's data/N_rain + gt/N_clean", "data/*", "gt/*", "_rain", "_clean"),
        ),
    ),
]

BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in _ALL}


def get_benchmark(name: str) -> Benchmark:
    """A registered set by name, case-insensitively (``classic5`` finds Classic5)."""
    for key, bench in BENCHMARKS.items():
        if key.lower() == name.lower():
            return bench
    raise UsageError(f"unknown benchmark {name!r} (known: {', '.join(BENCHMARKS)})")


def list_benchmarks(task: str | None = None) -> list[str]:
    """Registered set names, optionally only those used for `task`."""
    return [name for name, bench in BENCHMARKS.items() if task is None or task in bench.tasks]
