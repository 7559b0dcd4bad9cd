"""The fused implementations (Triton kernels, numba CPU path) against ``gather``, in output and in
the gradients of q, k, v and the bias table; ``auto`` resolution; the FLOP formulas.

Without CUDA the Triton kernels run under TRITON_INTERPRET=1 (set in conftest) on CPU tensors."""

import importlib.util

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from semanir import attention
from semanir.attention import (
    ImplementationUnavailable,
    build_key_semantic_dictionary,
    key_semantic_attention,
    resolve_implementation,
    table_size,
)
from tests.conftest import tiny_model

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
needs_triton = pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="triton is not installed")
needs_numba = pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="numba is not installed")

# (windows, heads, window, head dim, k): head dims 30 and 8..16 (30 is the paper's, not a power of
# two), N = 35/20/36 not a multiple of the 16-query block, k below, across and equal to N-1 and
# never a power of two, several windows in a batch.
SHAPES = [(3, 2, (5, 7), 30, 6), (2, 3, (4, 5), 12, 19), (2, 2, (6, 6), 16, 35)]


def _case(b, h, window, d, k, dtype=torch.float32, device="cpu", seed=0):
    g = torch.Generator().manual_seed(seed)
    n = window[0] * window[1]
    q, kk, v = (torch.randn(b, h, n, d, generator=g).to(device, dtype) for _ in range(3))
    bias = torch.randn(h, table_size(window), generator=g).to(device, dtype)
    index = build_key_semantic_dictionary(torch.randn(b, n, 16, generator=g).to(device), k)
    return q, kk, v, index, bias


def _run(impl, q, k, v, index, bias, window):
    leaves = [t.detach().clone().requires_grad_(True) for t in (q, k, v, bias)]
    out = key_semantic_attention(leaves[0], leaves[1], leaves[2], index, leaves[3], window, impl)
    weight = torch.linspace(-1, 1, out.numel(), device=out.device).view_as(out)
    (out.float() * weight).sum().backward()
    return out.detach(), [t.grad for t in leaves]


def _assert_matches_gather(impl, shape, device):
    q, k, v, index, bias = _case(*shape, device=device)
    window = shape[2]
    out, grads = _run(impl, q, k, v, index, bias, window)
    ref, ref_grads = _run("gather", q, k, v, index, bias, window)
    assert out.shape == ref.shape and out.dtype == ref.dtype
    assert (out - ref).abs().max() < 1e-4
    for got, want, name in zip(grads, ref_grads, ("q", "k", "v", "bias_table")):
        assert (got - want).abs().max() < 1e-4, name


@needs_triton
@pytest.mark.parametrize("impl", ["triton", "flash"])
@pytest.mark.parametrize("shape", SHAPES)
def test_triton_kernels_match_gather_in_output_and_gradients(impl, shape):
    _assert_matches_gather(impl, shape, DEVICE)


@needs_triton
@pytest.mark.parametrize("impl", ["triton", "flash"])
@pytest.mark.parametrize("dtype,tol", [(torch.float16, 5e-3), (torch.bfloat16, 4e-2)])
def test_triton_kernels_half_precision_forward(impl, dtype, tol):
    q, k, v, index, bias = _case(*SHAPES[0], dtype=dtype, device=DEVICE)
    out = key_semantic_attention(q, k, v, index, bias, SHAPES[0][2], impl)
    assert out.dtype == dtype
    # Reference in fp32 on the same rounded inputs: only the kernel's own rounding differs.
    ref = key_semantic_attention(q.float(), k.float(), v.float(), index, bias.float(), SHAPES[0][2], "gather")
    assert (out.float() - ref).abs().max() < tol


@needs_triton
def test_flash_half_precision_gradients_follow_fp32():
    q, k, v, index, bias = _case(*SHAPES[2], dtype=torch.bfloat16, device=DEVICE)
    window = SHAPES[2][2]
    _, grads = _run("flash", q, k, v, index, bias, window)
    _, ref = _run("gather", q.float(), k.float(), v.float(), index, bias.float(), window)
    for got, want, name in zip(grads, ref, ("q", "k", "v", "bias_table")):
        assert got.dtype == torch.bfloat16, name
        assert (got.float() - want).abs().max() < 5e-2 * max(1.0, float(want.abs().max())), name


@needs_triton
def test_flash_dictionary_mask_is_the_dictionary_and_is_shared_per_index():
    from semanir.attention import flash_kernels

    n = 23
    index = build_key_semantic_dictionary(torch.randn(2, n, 8, generator=torch.Generator().manual_seed(1)), 9)
    mask = flash_kernels.dictionary_mask(index, n)
    assert mask.shape == (2, n, n) and mask.dtype == torch.uint8 and int(mask.sum()) == 2 * n * 9
    assert bool(mask.gather(2, index).all())
    # Every layer of a stage passes the same index tensor: one mask serves them all,
    # and an in-place change of the index is seen.
    assert flash_kernels.dictionary_mask(index, n) is mask
    index.add_(0)  # an in-place write (same values) bumps the version: the mask is rebuilt
    assert flash_kernels.dictionary_mask(index, n) is not mask


def test_auto_on_cuda_picks_flash_unless_k_is_a_small_share_of_n(monkeypatch):
    monkeypatch.setattr(attention, "_kernel_works", lambda backend, device: True)
    ratio = attention.FLASH_MIN_RATIO
    assert resolve_implementation("auto", "cuda", n=1024, k=512) == "flash"
    assert resolve_implementation("auto", "cuda", n=1024, k=1024 // ratio) == "flash"
    assert resolve_implementation("auto", "cuda", n=8192, k=8192 // ratio - 1) == "triton"
    # fp32 without TF32 leaves flash no tensor cores: the gather kernel does K/N of the work.
    tf32 = torch.backends.cuda.matmul.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32 = False
        assert resolve_implementation("auto", "cuda", n=1024, k=512, dtype=torch.float32) == "triton"
        assert resolve_implementation("auto", "cuda", n=1024, k=512, dtype=torch.bfloat16) == "flash"
        torch.backends.cuda.matmul.allow_tf32 = True
        assert resolve_implementation("auto", "cuda", n=1024, k=512, dtype=torch.float32) == "flash"
    finally:
        torch.backends.cuda.matmul.allow_tf32 = tf32
    monkeypatch.setattr(attention, "_kernel_works", lambda backend, device: backend == "triton")
    assert resolve_implementation("auto", "cuda", n=1024, k=512) == "triton"
    monkeypatch.setattr(attention, "_kernel_works", lambda backend, device: False)
    assert resolve_implementation("auto", "cuda", n=1024, k=512) == "mask"


@needs_numba
@pytest.mark.parametrize("shape", SHAPES)
def test_cpu_path_matches_gather_in_output_and_gradients(shape):
    _assert_matches_gather("cpu", shape, "cpu")


@needs_numba
def test_cpu_path_accepts_half_inputs_and_returns_their_dtype():
    q, k, v, index, bias = _case(*SHAPES[1], dtype=torch.bfloat16)
    out = key_semantic_attention(q, k, v, index, bias, SHAPES[1][2], "cpu")
    ref = key_semantic_attention(q.float(), k.float(), v.float(), index, bias.float(), SHAPES[1][2], "gather")
    assert out.dtype == torch.bfloat16 and (out.float() - ref).abs().max() < 2e-2


@pytest.mark.parametrize(
    "impl", [pytest.param("cpu", marks=needs_numba), pytest.param("flash", marks=needs_triton)]
)
@pytest.mark.parametrize("name", ["semanir_s_sr_x2", "semanir_unet_color"])
def test_tiny_model_with_a_fused_path_equals_mask(name, impl):
    # A fixed input: top-k is discontinuous, so the ~1e-8 rounding differences of one stage can flip
    # a near-tie in the next stage's dictionary. About 1 random input in 60 has one (seen in CI).
    torch.manual_seed(0)
    x = torch.rand(2, 3, 19, 26)
    results = []
    for run in (impl, "mask"):
        model = tiny_model(name, attn_impl=run).train()
        out = model(x, topk=7)
        out.square().mean().backward()
        assert model.implementations_ran() == [run]
        results.append((out.detach(), [p.grad for p in model.parameters()]))
    (out_c, grads_c), (out_m, grads_m) = results
    assert (out_c - out_m).abs().max() < 1e-4
    assert max((a - b).abs().max() for a, b in zip(grads_c, grads_m)) < 1e-4


def test_auto_resolves_per_device(monkeypatch):
    expected_cpu = "cpu" if importlib.util.find_spec("numba") else "mask"
    assert resolve_implementation("auto", "cpu") == expected_cpu
    assert resolve_implementation("auto", "meta") == "mask"
    monkeypatch.setattr(attention.Backend, "missing", lambda self: f"{self.name} is missing" if self.kernels else None)
    attention._kernel_works.cache_clear()
    assert resolve_implementation("auto", "cpu") == "mask"
    assert resolve_implementation("auto", "cuda") == "mask"
    attention._kernel_works.cache_clear()


def test_auto_is_the_model_default_and_reports_what_ran():
    model = tiny_model("semanir_s_sr_x2").eval()
    assert model.iter_stages()[0].layers[0].attn.attn_impl == "auto"
    with torch.no_grad():
        model(torch.rand(1, 3, 9, 9))
    assert model.implementations_ran() == [resolve_implementation("auto", "cpu")]


def test_explicit_implementations_never_fall_back(monkeypatch):
    with pytest.raises(ImplementationUnavailable, match="attn_impl='cpu' runs on CPU tensors, got cuda"):
        resolve_implementation("cpu", "cuda")
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    for name in ("triton", "flash"):
        with pytest.raises(ImplementationUnavailable, match=rf"attn_impl='{name}' runs on CUDA tensors \(or on CPU under"):
            resolve_implementation(name, "cpu")
    monkeypatch.setattr(attention.Backend, "missing", lambda self: "its kernels need the 'numba' package")
    with pytest.raises(ImplementationUnavailable, match="attn_impl='cpu' is not available: .*numba"):
        tiny_model("semanir_s_sr_x2", attn_impl="cpu")
    with pytest.raises(ValueError, match="unknown attn_impl"):
        resolve_implementation("fast", "cpu")


@needs_numba
def test_flop_counter_counts_the_custom_op():
    b, h, window, d, k = SHAPES[0]
    n = window[0] * window[1]
    q, kk, v, index, bias = _case(*SHAPES[0])
    q.requires_grad_(True)
    with FlopCounterMode(display=False) as counter:
        key_semantic_attention(q, kk, v, index, bias, window, "cpu").sum().backward()
    counts = {str(op): c for op, c in counter.get_flop_counts()["Global"].items()}
    assert counts["semanir.ksa_cpu"] == 2 * (2 * b * h * n * k * d)
    assert counts["semanir.ksa_cpu_backward"] == 5 * (2 * b * h * n * k * d)
    # The same count as gather's einsums, which do exactly these multiply-adds.
    with FlopCounterMode(display=False) as gather_counter:
        key_semantic_attention(q, kk, v, index, bias, window, "gather")
    assert gather_counter.get_total_flops() == counts["semanir.ksa_cpu"]


@needs_triton
def test_triton_op_has_a_flop_formula():
    from torch.utils.flop_counter import flop_registry

    for backend in ("triton", "flash"):
        assert getattr(torch.ops.semanir, f"ksa_{backend}") in flop_registry
        assert getattr(torch.ops.semanir, f"ksa_{backend}_backward") in flop_registry


@needs_triton
@pytest.mark.parametrize("name", ["semanir_s_sr_x2", "semanir_unet_color"])
def test_models_run_the_tensor_core_path_under_bf16_autocast(name):
    # Autocast makes qkv bf16 while the logit scale is an fp32 parameter; tl.dot needs one dtype.
    model = tiny_model(name, attn_impl="flash").eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(torch.rand(1, 3, 17, 20), topk=7)
    assert model.implementations_ran() == ["flash"] and bool(out.isfinite().all())


def test_mixed_dtypes_are_refused():
    q, k, v, index, bias = _case(*SHAPES[0])
    with pytest.raises(ValueError, match="q, k, v must share a dtype"):
        key_semantic_attention(q, k.bfloat16(), v, index, bias, SHAPES[0][2], "gather")


def test_every_registered_backend_is_a_valid_name_with_a_memory_estimate():
    from semanir.benchmarking.attention import IMPLS, Shape, estimate_bytes

    for name, backend in attention.BACKENDS.items():
        assert attention.check_implementation(name) == name or backend.missing()
        assert name in IMPLS and estimate_bytes(name, Shape(), 1024, 512, True) > 0
    with pytest.raises(ValueError, match="registered twice"):
        attention.backends.register(attention.BACKENDS["mask"])
