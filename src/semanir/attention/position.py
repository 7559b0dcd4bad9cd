"""Relative-position geometry of a window: the log-spaced coordinate table fed to the
continuous position bias MLP, and the flat table offset of every (query, key) pair."""

from __future__ import annotations

import math
from functools import lru_cache

import torch


def _coords_table(wh, ww, nominal: int, device=None) -> torch.Tensor:
    dy = torch.arange(-(wh - 1), wh, dtype=torch.float32, device=device)
    dx = torch.arange(-(ww - 1), ww, dtype=torch.float32, device=device)
    table = torch.stack(torch.meshgrid(dy, dx, indexing="ij"), dim=-1).reshape(-1, 2)
    # Normalised by the nominal window size, so that an offset means the same thing
    # in a window that shrank to a small feature map (SwinV2's pretrained-window trick).
    table = table / max(nominal - 1, 1) * 8.0
    return torch.sign(table) * torch.log2(table.abs() + 1.0) / math.log2(8.0)


@lru_cache(maxsize=64)
def _coords_table_cpu(wh: int, ww: int, nominal: int) -> torch.Tensor:
    return _coords_table(wh, ww, nominal)


@lru_cache(maxsize=64)
def _coords_table_on(wh: int, ww: int, nominal: int, device: torch.device) -> torch.Tensor:
    with torch.inference_mode(False):  # a cached inference tensor could not be saved for backward later
        return _coords_table_cpu(wh, ww, nominal).to(device)


def relative_coords_table(window: tuple[int, int], nominal: int, device=None) -> torch.Tensor:
    """(T, 2) log-spaced offsets, T = (2*wh-1)*(2*ww-1), row-major in (dy, dx).

    Kept on each device once: every layer asks for it on every call, and a host-to-device copy
    per call is a synchronising transfer on a GPU."""
    if _symbolic(window):
        return _coords_table(window[0], window[1], int(nominal), device)
    return _coords_table_on(int(window[0]), int(window[1]), int(nominal), torch.device(device or "cpu"))


def _symbolic(window) -> bool:
    """A window whose size is a symbol of an ONNX export (it follows the image size): computed in
    the graph, never cached, since int() of it would fix the exported graph to one size."""
    return isinstance(window[0], torch.SymInt) or isinstance(window[1], torch.SymInt)


def table_size(window: tuple[int, int]) -> int:
    return (2 * window[0] - 1) * (2 * window[1] - 1)


def pair_offsets(query: torch.Tensor, key: torch.Tensor, window: tuple[int, int]) -> torch.Tensor:
    """Flat bias-table offset of each (query, key) token pair; tokens are row-major in the window.

    Broadcasts ``query`` against ``key`` (both integer tensors of token positions).
    """
    wh, ww = window
    if isinstance(ww, torch.SymInt):
        # ONNX export, where the width follows the image's: // and % by a symbol have no ONNX
        # translation, by a tensor they do.
        ww = torch.full((), ww, dtype=key.dtype, device=key.device)
    dy = torch.div(query, ww, rounding_mode="floor") - torch.div(key, ww, rounding_mode="floor")
    dx = query % ww - key % ww
    return (dy + (wh - 1)) * (2 * ww - 1) + (dx + (ww - 1))


@lru_cache(maxsize=64)
def _dense_offsets_cpu(wh: int, ww: int) -> torch.Tensor:
    tok = torch.arange(wh * ww)
    return pair_offsets(tok[:, None], tok[None, :], (wh, ww))


@lru_cache(maxsize=8)
def _dense_offsets_on(wh: int, ww: int, device: torch.device) -> torch.Tensor:
    with torch.inference_mode(False):  # a cached inference tensor could not be saved for backward later
        return _dense_offsets_cpu(wh, ww).to(device)


def dense_offsets(window: tuple[int, int], device=None) -> torch.Tensor:
    """(N, N) offsets for every pair of a window, kept on each device once (8 MiB at N=1024: copied
    from the host on every call it cost ~0.8 ms, more than the attention it served on an H200)."""
    if _symbolic(window):
        tok = torch.arange(window[0] * window[1], device=device)
        return pair_offsets(tok[:, None], tok[None, :], window)
    return _dense_offsets_on(int(window[0]), int(window[1]), torch.device(device or "cpu"))


def dense_bias(bias_table: torch.Tensor, window: tuple[int, int]) -> torch.Tensor:
    """(H, T) table -> (H, N, N) bias of every pair, with no index tensor: one strided copy.

    With the key's row and column counted from the far end (yj' = wh-1-yj), a pair's offset is
    (yi + yj', xi + xj') in the (2wh-1, 2ww-1) table, so the table read with strides
    (row, col, row, col) is the bias with the key axes mirrored."""
    wh, ww = window
    h = bias_table.shape[0]
    row, col = 2 * ww - 1, 1
    view = bias_table.as_strided((h, wh, ww, wh, ww), (bias_table.stride(0), row, col, row, col), bias_table.storage_offset())
    return view.flip(3, 4).reshape(h, wh * ww, wh * ww)
