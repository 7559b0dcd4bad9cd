"""The training loop: exact resume, several processes through torchrun, validation and logging.

Reproducibility does not depend on hidden iterator state. Training item ``i`` (global over
ranks and iterations) is a pure function of (seed, i), and the random k of iteration ``t`` a
pure function of (seed, t); so a run resumed from the checkpoint of iteration ``t`` sees exactly
the batches and ks the uninterrupted run saw, on any number of data workers, and every rank
draws the same k.
"""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from .. import __version__, create_model
from ..config import ConfigError, dump_config
from ..errors import Interrupted, UsageError
from ..fileio import atomic_write, remove_stale_temporaries
from ..weights import (
    WeightsError, adapt_to_sibling, decoded_metadata, load_state_dict_checked, read_weights, save_weights, total_iterations,
    without_runtime_choices,
)  # fmt: skip
from .distributed import (
    all_ranks_agree, any_rank, barrier, cleanup, group_timeout, init_distributed, max_parameter_divergence,
)  # fmt: skip
from .losses import build_loss
from .logs import RunLogger, progress_bar
from .optim import EMA, amp_dtype, build_optimizer, learning_rate
from .sampling import GlobalIndexSampler, checked_topk_choices, leave_stop_signals_to_the_trainer, topk_for_iteration

CHECKPOINT_NAME = "last.pt"


class TrainingError(UsageError, RuntimeError):
    """A run that cannot go on; the message is one line and says what is left on disk."""


def builds_the_same_model(section: dict, model: torch.nn.Module) -> bool:
    """Whether a config's model section builds ``model``'s architecture in other words: the
    shipped sizes were options of semanir_unet_color before they were registered by name."""
    try:
        built = create_model(section.get("name"), **{k: v for k, v in section.items() if k != "name"})
    except (UsageError, TypeError):
        return False
    return without_runtime_choices(built.config) == without_runtime_choices(model.config)


class Trainer:
    def __init__(self, cfg: dict, resume: str | None = "auto", build_data=None, progress: bool = True):
        """``resume``: "auto" (the run folder's checkpoint if there is one), a checkpoint path,
        "required" (the run folder's, which must exist) or None (refuse to overwrite a run)."""
        self.cfg = cfg
        self.dist = init_distributed(cfg["train"]["device"], cfg["train"]["dist_timeout_minutes"])
        self.out = Path(cfg["output_dir"])
        self.ckpt_path = self.out / "checkpoints" / CHECKPOINT_NAME
        self.show_progress = progress and self.dist.is_main
        t = cfg["train"]
        self.seed = int(t["seed"])
        torch.manual_seed(self.seed)
        random.seed(self.seed)

        self.topk_choices = checked_topk_choices(t["topk_choices"])
        self.model = create_model(cfg["model"]["name"], **{k: v for k, v in cfg["model"].items() if k != "name"})
        self.model.to(self.dist.device)
        self.optimizer = build_optimizer(self.model.parameters(), t["optimizer"])
        self.loss_fn = build_loss(t).to(self.dist.device)
        self.ema = EMA(self.model, t["ema_decay"]) if t["ema_decay"] else None
        self.amp_dtype = amp_dtype(t["amp"], self.dist.device)
        self.scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None
        self.iteration = 0
        self.bad_steps = 0
        self._load_or_refuse(resume)

        if self.dist.enabled:
            ids = [self.dist.local_rank] if self.dist.device.type == "cuda" else None
            self.net = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        else:
            self.net = self.model
        build_data = build_data or _default_data
        self.train_set, self.val_set, self.protocol = build_data(cfg)
        self._stop_signal = None

    # --- checkpoints ---------------------------------------------------------------------

    def _load_or_refuse(self, resume: str | None) -> None:
        path = None
        if resume not in (None, "auto", "required"):
            path = Path(resume)
            if not path.is_file():
                raise TrainingError(f"no checkpoint at {path}")
        elif self.ckpt_path.is_file():
            if resume is None:
                raise TrainingError(f"{self.out} already holds a run; resume it or choose another output_dir")
            path = self.ckpt_path
        elif resume == "required":
            raise TrainingError(f"nothing to resume: {self.ckpt_path} does not exist")
        if path is None:
            self._init_from_weights(self.cfg["train"]["init_weights"])
            return
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001 - any unreadable checkpoint is reported the same way
            raise TrainingError(f"cannot read checkpoint {path}: {str(err).splitlines()[0]}") from None
        # The attention implementation may change between runs: every one computes the same function.
        saved, wanted = (without_runtime_choices(c) for c in (state.get("config", {}).get("model", {}), self.cfg["model"]))
        if saved != wanted and not builds_the_same_model(saved, self.model):
            raise TrainingError(f"{path} was trained with model {saved}, not {wanted}")
        try:
            load_state_dict_checked(self.model, state["model"], str(path))
        except WeightsError as err:
            raise TrainingError(str(err)) from None
        self.optimizer.load_state_dict(state["optimizer"])
        if self.ema is not None and state.get("ema") is not None:
            self.ema.model.load_state_dict(state["ema"])
        if self.scaler is not None and state.get("scaler") is not None:
            self.scaler.load_state_dict(state["scaler"])
        self.iteration = int(state["iteration"])
        self.init_summary = state.get("init_summary")
        self.bad_steps = int(state.get("bad_steps", 0))
        torch.set_rng_state(state["rng"]["torch"])
        if self.dist.is_main:
            print(f"resuming from {path} at iteration {self.iteration}", flush=True)

    def _init_from_weights(self, source: str | None) -> None:
        """Load a new run's starting weights; their training summary is kept for the record."""
        self.init_summary = None
        if not source:
            return
        from ..pretrained import resolve_weights

        try:
            path = resolve_weights(source)
            state, meta = read_weights(path)
            state, adapted = adapt_to_sibling(self.model, state, decoded_metadata(meta))
            load_state_dict_checked(self.model, state, str(path))
        except UsageError as err:  # not a preset, not a file, or weights that do not fit
            raise TrainingError(f"train.init_weights: {err}") from None
        if self.ema is not None:
            self.ema.model.load_state_dict(self.model.state_dict())
        training = decoded_metadata(meta).get("training")
        self.init_summary = {"weights": str(source), "training": training}
        if self.dist.is_main:
            done = total_iterations(training) if isinstance(training, dict) else 0
            print(f"starting from {path}" + (f" ({done} iterations in all)" if done else ""), flush=True)
            if adapted:
                print(f"fitted to {self.cfg['model']['name']}: {'; '.join(adapted)}", flush=True)

    def save_checkpoint(self) -> None:
        if not self.dist.is_main:
            return
        state = {
            "iteration": self.iteration,
            "model": self.model.state_dict(),
            "ema": self.ema.model.state_dict() if self.ema else None,
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler else None,
            "rng": {"torch": torch.get_rng_state()},
            "bad_steps": self.bad_steps,
            "init_summary": self.init_summary,
            "config": self.cfg,
            "semanir_version": __version__,
        }
        try:
            atomic_write(self.ckpt_path, lambda f: torch.save(state, f))
            self.export_weights("last")
        except OSError as err:
            raise TrainingError(
                f"could not write the checkpoint of iteration {self.iteration} ({err.strerror or err}); "
                f"the previous checkpoint in {self.ckpt_path.parent} is intact"
            ) from None

    def export_weights(self, tag: str) -> Path:
        model = self.ema.model if self.ema else self.model
        t = self.cfg["train"]
        return save_weights(
            model,
            self.out / "weights" / f"{tag}.safetensors",
            task=self.cfg["task"],
            level=self.cfg["data"]["train"]["level"],
            training={
                "config": self.cfg["name"], "iterations": self.iteration, "loss": t["loss"],
                "batch_size": self.cfg["data"]["train"]["batch_size"],
                "patch_size": self.cfg["data"]["train"]["patch_size"], "topk_choices": t["topk_choices"],
                "ema": bool(self.ema), "semanir_version": __version__,
                **({"init_weights": self.init_summary} if self.init_summary else {}),
            },
        )  # fmt: skip

    # --- the loop ------------------------------------------------------------------------

    def _loader(self):
        d = self.cfg["data"]["train"]
        per_rank = d["batch_size"] // self.dist.world
        if per_rank < 1 or d["batch_size"] % self.dist.world:
            raise ConfigError(f"batch_size {d['batch_size']} must be a multiple of the {self.dist.world} processes")
        sampler = GlobalIndexSampler(self.iteration, per_rank, self.dist.rank, self.dist.world)
        workers = int(d["workers"])
        return DataLoader(
            self.train_set, batch_size=per_rank, sampler=sampler, num_workers=workers,
            worker_init_fn=leave_stop_signals_to_the_trainer,
            pin_memory=self.dist.device.type == "cuda", persistent_workers=workers > 0,
            prefetch_factor=2 if workers > 0 else None,
        )  # fmt: skip

    def _install_signal_handlers(self) -> dict:
        """Stop at the end of the iteration instead of dying mid-write; returns the old handlers."""

        def stop(signum, frame):
            self._stop_signal = signum

        return {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}

    def step(self, inp: torch.Tensor, target: torch.Tensor) -> float | None:
        t = self.cfg["train"]
        k = topk_for_iteration(self.topk_choices, self.seed, self.iteration)
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(t, self.iteration)
        self.optimizer.zero_grad(set_to_none=True)
        with torch.autocast(self.dist.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
            loss = self.loss_fn(self.net(inp, topk=k).float(), target)  # k None: the model's topk
        finite = all_ranks_agree(self.dist, bool(torch.isfinite(loss)))
        if finite:
            if self.scaler:
                self.scaler.scale(loss).backward()
                self.scaler.unscale_(self.optimizer)
            else:
                loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), t["grad_clip"] or float("inf"))
            finite = bool(torch.isfinite(norm))  # gradients are all-reduced: every rank agrees
        if not finite:
            self.optimizer.zero_grad(set_to_none=True)
            self.bad_steps += 1
            if self.scaler:
                self.scaler.update()
            if self.bad_steps > t["max_bad_steps"]:
                raise TrainingError(
                    f"loss or gradients not finite for {self.bad_steps} consecutive iterations at {self.iteration}; "
                    f"lower the learning rate or enable grad_clip; last checkpoint: {self.ckpt_path}"
                )
            return None
        self.bad_steps = 0
        if self.scaler:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        if self.ema:
            self.ema.update(self.model)
        return float(loss.detach())

    def validate(self) -> dict | None:
        if self.val_set is None or not self.dist.is_main:
            return None
        from ..evaluation import evaluate, model_restorer

        model = self.ema.model if self.ema else self.model
        was_training = model.training
        result = evaluate(model_restorer(model, self.dist.device), self.val_set, self.protocol, self.cfg["data"]["val"]["limit"])
        model.train(was_training)
        return result.mean

    def fit(self) -> dict:
        t = self.cfg["train"]
        total = int(t["iterations"])
        logger = RunLogger(self.out, self.iteration, self.dist.is_main)
        if self.dist.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            for folder in (self.out, self.ckpt_path.parent, self.out / "weights"):  # what a kill -9 left
                remove_stale_temporaries(folder)
            atomic_write(self.out / "config.yaml", lambda f: f.write(dump_config(self.cfg).encode()))
            timeout = group_timeout(self.dist)
            if timeout is not None:
                print(f"{self.dist.world} ranks, collective timeout {timeout.total_seconds() / 60:g} min", flush=True)
        self.model.train()
        bar = progress_bar(self.iteration, total, self.show_progress)
        loader = iter(self._loader()) if self.iteration < total else None
        last_loss, tick, tick_it = None, time.perf_counter(), self.iteration
        previous_handlers = self._install_signal_handlers()
        try:
            while self.iteration < total:
                inp, target = next(loader)[:2]  # paired datasets add the file name
                inp = inp.to(self.dist.device, non_blocking=True)
                target = target.to(self.dist.device, non_blocking=True)
                loss = self.step(inp, target)
                self.iteration += 1
                last_loss = loss if loss is not None else last_loss
                bar.update(1)
                if loss is not None:
                    bar.set_postfix(loss=f"{loss:.4f}", k=topk_for_iteration(self.topk_choices, self.seed, self.iteration - 1))
                if self.iteration % t["log_every"] == 0 or self.iteration == total:
                    now = time.perf_counter()
                    rate = (self.iteration - tick_it) / max(now - tick, 1e-9)
                    tick, tick_it = now, self.iteration
                    logger.train(self.iteration, last_loss, learning_rate(t, self.iteration - 1), rate)
                if (t["val_every"] and self.iteration % t["val_every"] == 0) or self.iteration == total:  # 0: at the end only
                    scores = self.validate()
                    if scores:
                        logger.val(self.iteration, scores)
                        bar.write(f"iteration {self.iteration}: PSNR {scores['psnr']:.2f} dB, SSIM {scores['ssim']:.4f}")
                    barrier(self.dist)
                # A signal may reach one rank only (a scheduler, a kill): every rank learns of it at
                # the same iteration (one MAX all-reduce of one number per iteration, next to the
                # step's own), so all stop together behind one checkpoint instead of the others
                # hanging in the next collective.
                stop = any_rank(self.dist, self._stop_signal is not None)
                if stop or self.iteration % t["checkpoint_every"] == 0 or self.iteration == total:
                    self.save_checkpoint()
                    barrier(self.dist)  # no rank leaves before rank 0 has written it
                if stop:
                    cleanup(self.dist)
                    signum = self._stop_signal or signal.SIGTERM
                    cause = f"signal {signum} ({signal.Signals(signum).name})" if self._stop_signal else "a signal to another rank"
                    # Interrupted, not an error: the CLI exits 128 + the signal, as for any Ctrl-C.
                    raise Interrupted(
                        f"stopped by {cause} at iteration {self.iteration}; checkpoint saved, "
                        f"run the same command again to resume",
                        signum,
                    )
        finally:
            bar.close()
            logger.close()
            # A caller's own Ctrl-C handling (a notebook, a test runner) works again after the run.
            for sig, handler in previous_handlers.items():
                signal.signal(sig, handler)
        divergence = max_parameter_divergence(self.dist, self.model.parameters())
        if self.dist.is_main:
            final = self.export_weights("final")
            if self.dist.enabled:
                print(f"ranks in sync: max parameter difference across {self.dist.world} ranks = {divergence:.3g}")
            print(f"done: {self.iteration} iterations; weights in {final}", flush=True)
        cleanup(self.dist)
        return {"iteration": self.iteration, "loss": last_loss, "divergence": divergence}


def _default_data(cfg: dict):
    from .data_setup import build_datasets

    return build_datasets(cfg)


def train(cfg: dict, resume: str | None = "auto") -> dict:
    return Trainer(cfg, resume=resume).fit()


__all__ = ["Trainer", "TrainingError", "train"]
