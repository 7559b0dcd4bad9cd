"""What a training run writes as it goes: CSV logs (always), TensorBoard (when installed), a progress bar."""

from __future__ import annotations

import csv
import sys
from pathlib import Path


class RunLogger:
    """CSV files always; TensorBoard too when it is installed."""

    def __init__(self, out: Path, start: int, active: bool):
        self.active = active
        self.tb = None
        if not active:
            return
        out.mkdir(parents=True, exist_ok=True)
        self.train_csv = ResumableCsv(out / "train_log.csv", ["iteration", "loss", "lr", "iterations_per_s"], start)
        self.val_csv = ResumableCsv(out / "val_log.csv", ["iteration", "psnr", "ssim"], start)
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(out / "tensorboard"), purge_step=start + 1)
        except ImportError:
            self.tb = None

    def train(self, it, loss, lr, rate):
        if not self.active:
            return
        self.train_csv.write([it, "" if loss is None else f"{loss:.6f}", f"{lr:.3e}", f"{rate:.3f}"])
        print(f"iteration {it}: loss {loss if loss is None else round(loss, 5)}, lr {lr:.2e}, {rate:.2f} it/s", flush=True)
        if self.tb and loss is not None:
            self.tb.add_scalar("train/loss", loss, it)
            self.tb.add_scalar("train/lr", lr, it)

    def val(self, it, scores):
        if not self.active:
            return
        self.val_csv.write([it, f"{scores['psnr']:.4f}", f"{scores['ssim']:.5f}"])
        if self.tb:
            for key, value in scores.items():
                self.tb.add_scalar(f"val/{key}", value, it)

    def close(self):
        if self.tb:
            self.tb.close()


class ResumableCsv:
    """Appends rows; on resume, first drops the rows logged after the checkpoint."""

    def __init__(self, path: Path, header: list[str], start: int):
        self.path = path
        rows = []
        if path.is_file():
            with open(path, newline="") as f:
                rows = [r for r in csv.reader(f)][1:]
            rows = [r for r in rows if r and r[0].isdigit() and int(r[0]) <= start]
        with open(path, "w", newline="") as f:
            csv.writer(f).writerows([header, *rows])

    def write(self, row):
        with open(self.path, "a", newline="") as f:
            csv.writer(f).writerow(row)


def progress_bar(start: int, total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(initial=start, total=total, disable=not enabled, dynamic_ncols=True, unit="it", file=sys.stderr)
