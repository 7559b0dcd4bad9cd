"""Key-semantic dictionary and the attention implementations against each other and against
independent references (brute-force sorting, dense window attention)."""

import pytest
import torch

from semanir.attention import (
    build_key_semantic_dictionary,
    clip_topk,
    dense_attention,
    key_semantic_attention,
    table_size,
)

IMPLS = ["mask", "gather"]


def _inputs(b=3, h=2, window=(5, 7), d=8, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    n = window[0] * window[1]
    q, k, v = (torch.randn(b, h, n, d, generator=g, dtype=dtype) for _ in range(3))
    bias = torch.randn(h, table_size(window), generator=g, dtype=dtype)
    tokens = torch.randn(b, n, 16, generator=g)
    return q, k, v, bias, tokens


def _grads(impl, q, k, v, index, bias, window):
    leaves = [t.detach().clone().requires_grad_(True) for t in (q, k, v, bias)]
    out = key_semantic_attention(leaves[0], leaves[1], leaves[2], index, leaves[3], window, impl)
    weight = torch.linspace(-1, 1, out.numel()).view_as(out)  # a non-trivial upstream gradient
    (out * weight).sum().backward()
    return out.detach(), [t.grad for t in leaves]


@pytest.mark.parametrize("k", [1, 6, 17, 34])  # 34 = N - 1 for a 5x7 window
def test_mask_and_gather_agree_in_output_and_gradients(k):
    window = (5, 7)
    q, kk, v, bias, tokens = _inputs(window=window)
    index = build_key_semantic_dictionary(tokens, k)
    assert index.shape == (3, 35, k)
    out_m, grads_m = _grads("mask", q, kk, v, index, bias, window)
    out_g, grads_g = _grads("gather", q, kk, v, index, bias, window)
    assert (out_m - out_g).abs().max() < 1e-4
    for gm, gg, name in zip(grads_m, grads_g, "qkvb"):
        assert (gm - gg).abs().max() < 1e-4, name


@pytest.mark.parametrize("impl", IMPLS)
def test_full_dictionary_equals_dense_window_attention(impl):
    window = (4, 6)
    q, k, v, bias, tokens = _inputs(window=window)
    n = window[0] * window[1]
    index = build_key_semantic_dictionary(tokens, n, include_self=True)
    out = key_semantic_attention(q, k, v, index, bias, window, impl)
    assert (out - dense_attention(q, k, v, bias, window)).abs().max() < 1e-5


@pytest.mark.parametrize("impl", IMPLS)
def test_self_excluded_dictionary_equals_dense_attention_without_the_diagonal(impl):
    window = (3, 5)
    q, k, v, bias, tokens = _inputs(window=window)
    n = 15
    index = build_key_semantic_dictionary(tokens, n - 1)
    out = key_semantic_attention(q, k, v, index, bias, window, impl)
    # Independent reference: explicit loops over queries, softmax over every other token.
    from semanir.attention.position import pair_offsets

    ref = torch.empty_like(out)
    for i in range(n):
        others = torch.tensor([j for j in range(n) if j != i])
        logits = torch.einsum("bhd,bhjd->bhj", q[:, :, i], k[:, :, others])
        logits = logits + bias[:, pair_offsets(torch.tensor(i), others, window)].unsqueeze(0)
        ref[:, :, i] = torch.einsum("bhj,bhjd->bhd", logits.softmax(-1), v[:, :, others])
    assert (out - ref).abs().max() < 1e-5


@pytest.mark.parametrize("impl", IMPLS)
def test_tokens_outside_the_dictionary_do_not_reach_the_output(impl):
    window = (4, 4)
    q, k, v, bias, tokens = _inputs(window=window)
    index = build_key_semantic_dictionary(tokens, 5)
    out = key_semantic_attention(q, k, v, index, bias, window, impl)
    query = 0
    outside = [j for j in range(16) if j not in index[0, query].tolist()]
    v2, k2 = v.clone(), k.clone()
    v2[0, :, outside] += 100.0
    k2[0, :, outside] -= 3.0
    out2 = key_semantic_attention(q, k2, v2, index, bias, window, impl)
    assert torch.allclose(out[0, :, query], out2[0, :, query], atol=1e-6)
    assert not torch.allclose(out[0], out2[0])  # other queries do see those tokens


def test_dictionary_matches_brute_force_ranking():
    g = torch.Generator().manual_seed(3)
    tokens = torch.randn(2, 20, 9, generator=g, dtype=torch.float64)
    index = build_key_semantic_dictionary(tokens, 6)
    for w in range(2):
        p = tokens[w].numpy()
        sim = p @ p.T
        for i in range(20):
            order = [j for j in sim[i].argsort()[::-1] if j != i]
            assert set(index[w, i].tolist()) == set(order[:6])


def test_dictionary_excludes_self_by_default_and_can_include_it():
    tokens = torch.randn(1, 12, 4)
    rows = torch.arange(12).view(1, 12, 1)
    assert not (build_key_semantic_dictionary(tokens, 11) == rows).any()
    # Scaled so every token is its own best match (|p|^2 beats any other dot product).
    tokens = torch.eye(12).unsqueeze(0) * torch.arange(1, 13).view(1, 12, 1)
    assert (build_key_semantic_dictionary(tokens, 1, include_self=True) == rows).all()


def test_dictionary_follows_the_content():
    g = torch.Generator().manual_seed(5)
    tokens = torch.randn(1, 30, 8, generator=g)
    before = build_key_semantic_dictionary(tokens, 3)
    # Make token 17 a scaled copy of token 4: it must become one of token 4's key semantics.
    assert 17 not in before[0, 4].tolist()
    tokens[0, 17] = tokens[0, 4] * 10
    after = build_key_semantic_dictionary(tokens, 3)
    assert 17 in after[0, 4].tolist()
    changed_rows = (before.sort(-1).values != after.sort(-1).values).any(-1)[0]
    assert changed_rows.sum() >= 2  # token 17's own row and its new neighbours changed


def test_topk_is_clipped_to_the_window():
    assert clip_topk(512, 64) == 63
    assert clip_topk(512, 64, include_self=True) == 64
    assert clip_topk(8, 64) == 8
    assert build_key_semantic_dictionary(torch.randn(2, 9, 3), 512).shape == (2, 9, 8)
    with pytest.raises(ValueError, match="top-k must be >= 1"):
        clip_topk(0, 10)


def test_unknown_implementation_name_is_an_error():
    q, k, v, bias, tokens = _inputs(window=(2, 2))
    index = build_key_semantic_dictionary(tokens, 2)
    with pytest.raises(ValueError, match="unknown attn_impl 'fast'"):
        key_semantic_attention(q, k, v, index, bias, (2, 2), "fast")


def test_bad_shapes_are_reported():
    q, k, v, bias, tokens = _inputs(window=(3, 3))
    index = build_key_semantic_dictionary(tokens, 4)
    with pytest.raises(ValueError, match="window"):
        key_semantic_attention(q, k, v, index, bias, (3, 4))
    with pytest.raises(ValueError, match="index must be"):
        key_semantic_attention(q, k, v, index[:1], bias, (3, 3))
    with pytest.raises(ValueError, match="bias_table must be"):
        key_semantic_attention(q, k, v, index, bias[:, :20], (3, 3))


@pytest.mark.parametrize("window", [(1, 1), (3, 5), (6, 4), (8, 8)])
def test_dense_bias_is_the_table_at_every_pairs_offset(window):
    from semanir.attention.position import dense_bias, dense_offsets

    table = torch.randn(3, table_size(window))
    assert torch.equal(dense_bias(table, window), table[:, dense_offsets(window)])
    # A table that is a column slice of a wider one (a non-zero storage offset) too.
    wide = torch.randn(3, table_size(window) + 2)
    assert torch.equal(dense_bias(wide[:, 2:], window), wide[:, 2:][:, dense_offsets(window)])


def test_cached_geometry_made_under_inference_mode_still_trains():
    from semanir.attention.position import relative_coords_table

    with torch.inference_mode():
        relative_coords_table((7, 3), 8)
    mlp = torch.nn.Linear(2, 1)
    mlp(relative_coords_table((7, 3), 8)).sum().backward()
    assert mlp.weight.grad is not None
