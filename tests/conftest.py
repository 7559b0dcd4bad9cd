import importlib.util
import os

import pytest
import torch

# Triton picks interpreter or compiler when a kernel is *defined*, i.e. when semanir's kernel module
# is first imported; set it before anything can import it. Without CUDA the interpreter is the only
# way Triton runs at all, so nothing else is affected.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import semanir
from semanir.models import SemanIRUNet

# Import the kernel modules now, under the interpreter: a test that sets TRITON_INTERPRET=0 for a
# moment (to check the error a GPU-less user sees) must not be the first to import them, or every
# later Triton test in that worker would get compiled kernels and no driver.
if importlib.util.find_spec("triton") and not torch.cuda.is_available():
    import semanir.attention.flash_kernels  # noqa: F401
    import semanir.attention.triton_kernels  # noqa: F401

# Tiny versions of the registered models: the same code with small numbers.
TINY_COLUMNAR = dict(embed_dim=12, depths=(2, 2), num_heads=2, window_size=8, upsampler_dim=8)
TINY_UNET = dict(
    dims=(8, 16, 32, 64), num_heads=(1, 1, 2, 2), encoder_depths=(1, 1, 1, 1),
    decoder_depths=(1, 1, 1, 1), final_depth=1, window_size=8,
)  # fmt: skip


def tiny_model(name: str, **overrides):
    base = TINY_UNET if issubclass(semanir.model_entry(name).cls, SemanIRUNet) else TINY_COLUMNAR
    torch.manual_seed(0)
    return semanir.create_model(name, **{**base, **overrides})


@pytest.fixture(autouse=True)
def _few_threads():
    # Two cores on CI; more threads only add contention for tiny tensors.
    torch.set_num_threads(1)
