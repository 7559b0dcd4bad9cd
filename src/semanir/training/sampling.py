"""What each iteration sees, as pure functions of (seed, iteration): its items and its random k."""

from __future__ import annotations

import signal
from itertools import count

import numpy as np
from torch.utils.data import Sampler

from ..config import ConfigError


def topk_for_iteration(choices, seed: int, iteration: int) -> int | None:
    """The random k of one iteration (Sec. 3.3); None (the model's own topk) without choices.
    The trainer is its only owner: a function of (seed, iteration), the same on every rank and
    after a resume."""
    if not choices:
        return None
    return int(choices[np.random.default_rng([seed, iteration, 0x70]).integers(len(choices))])


def checked_topk_choices(choices) -> list[int] | None:
    if choices is None:
        return None
    if not choices or any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in choices):
        raise ConfigError(f"train.topk_choices must be null (the model's fixed topk) or positive integers, got {choices!r}")
    return [int(c) for c in choices]


class GlobalIndexSampler(Sampler):
    """Yields this rank's item indices of iterations start, start+1, ... forever."""

    def __init__(self, start_iteration: int, batch_per_rank: int, rank: int, world: int):
        self.start, self.batch, self.rank, self.world = start_iteration, batch_per_rank, rank, world

    def __iter__(self):
        for it in count(self.start):
            first = (it * self.world + self.rank) * self.batch
            yield from range(first, first + self.batch)


def leave_stop_signals_to_the_trainer(worker_id: int) -> None:
    # A SIGTERM/SIGINT sent to the whole process group (Ctrl-C, pkill, a cluster's scheduler)
    # would otherwise kill the data workers first and the loader would fail before the trainer
    # could save its checkpoint; the trainer stops them itself once it has saved.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
