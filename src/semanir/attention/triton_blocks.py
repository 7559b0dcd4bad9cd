"""What the gather (``triton_kernels``) and tensor-core (``flash_kernels``) Triton kernels share: which
block of tokens of which (window, head) a program owns, and the host-side layout they expect."""

from __future__ import annotations

import torch
import triton
import triton.language as tl


@triton.jit
def program_block(H, N, D, BLOCK: tl.constexpr, BLOCK_D: tl.constexpr):
    """(window b, head h, this program's BLOCK token indices, the head dims, which of each are real):
    grid axis 0 walks the token blocks, axis 1 the B x H (window, head) pairs. A head dim that is not
    a power of two (30) is padded to BLOCK_D and masked: the zeros add nothing to q.k or p.v."""
    b = tl.program_id(1) // H
    h = tl.program_id(1) % H
    tokens = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    dims = tl.arange(0, BLOCK_D)
    return b, h, tokens, dims, tokens < N, dims < D


def block_d(d: int) -> int:
    """The padded head dim: a power of two, at least 16 (``tl.dot``'s smallest)."""
    return max(16, triton.next_power_of_2(d))


def rows_contiguous(t: torch.Tensor) -> torch.Tensor:
    """The kernels address the head dim with unit stride; every other stride is passed in."""
    return t if t.stride(-1) == 1 else t.contiguous()
