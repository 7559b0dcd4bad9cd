"""Both architectures: parameter counts against the paper, any input size, batch consistency,
one dictionary per stage, the top-k policy and the registry."""

import pytest
import torch
import torch.nn.functional as F

import semanir
from semanir.models import layers as layers_module
from tests.conftest import tiny_model

ALL_SIZES = [("semanir_s_sr_x4", 4), ("semanir_b_sr_x3", 3), ("semanir_unet_color", 1), ("semanir_unet_gray", 1)]


def count(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", [n for n in semanir.list_models("semanir_*_sr_x*") if semanir.model_entry(n).paper_params_m])
def test_columnar_parameter_counts_match_the_paper(name):
    paper = semanir.model_entry(name).paper_params_m * 1e6
    assert abs(count(semanir.create_model(name)) - paper) / paper < 0.005


def test_unet_color_parameter_count_is_near_the_paper():
    paper = semanir.model_entry("semanir_unet_color").paper_params_m * 1e6
    assert abs(count(semanir.create_model("semanir_unet_color")) - paper) / paper < 0.05


@pytest.mark.parametrize("name,scale", ALL_SIZES)
@pytest.mark.parametrize("size", [(37, 53), (17, 9), (5, 3), (64, 8)])
def test_odd_sizes_give_the_right_output_size(name, scale, size):
    model = tiny_model(name).eval()
    chans = 1 if "gray" in name else 3
    with torch.no_grad():
        out = model(torch.rand(1, chans, *size))
    assert out.shape == (1, chans, size[0] * scale, size[1] * scale)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", ["semanir_s_sr_x2", "semanir_unet_gray"])
def test_gray_and_color_inputs(name):
    model = tiny_model(name, in_chans=1).eval()
    scale = 2 if "sr" in name else 1
    with torch.no_grad():
        assert model(torch.rand(2, 1, 17, 9)).shape == (2, 1, 17 * scale, 9 * scale)


@pytest.mark.parametrize("name", ["semanir_s_sr_x2", "semanir_unet_color"])
def test_a_batch_equals_its_images_one_by_one(name):
    model = tiny_model(name).eval()
    x = torch.rand(3, 3, 21, 30)
    with torch.no_grad():
        batched = model(x)
        single = torch.cat([model(x[i : i + 1]) for i in range(3)])
    assert (batched - single).abs().max() < 1e-5


@pytest.mark.parametrize("name", ["semanir_s_sr_x4", "semanir_unet_color"])
def test_mask_and_gather_models_agree(name):
    model = tiny_model(name, attn_impl="gather").eval()
    x = torch.rand(2, 3, 19, 26)
    with torch.no_grad():
        gathered = model(x, topk=7)
        model.set_attn_impl("mask")
        masked = model(x, topk=7)
    assert (gathered - masked).abs().max() < 1e-4


@pytest.mark.parametrize("name", ["semanir_b_sr_x2", "semanir_unet_gray"])
def test_one_dictionary_per_stage_shared_by_every_layer(name, monkeypatch):
    model = tiny_model(name, **({"depths": (3, 2, 2)} if "sr" in name else {"final_depth": 2})).eval()
    built, seen_by_layers = [], []
    real_build = layers_module.build_key_semantic_dictionary
    real_attend = layers_module.key_semantic_attention

    def counting_build(*args, **kwargs):
        built.append(real_build(*args, **kwargs))
        return built[-1]

    def recording_attend(q, k, v, index, *rest):
        seen_by_layers.append(index)
        return real_attend(q, k, v, index, *rest)

    monkeypatch.setattr(layers_module, "build_key_semantic_dictionary", counting_build)
    monkeypatch.setattr(layers_module, "key_semantic_attention", recording_attend)
    chans = 1 if "gray" in name else 3
    with torch.no_grad():
        model(torch.rand(1, chans, 20, 20))
    stages = model.iter_stages()
    assert len(built) == len(stages)
    # Every layer of a stage received that stage's index tensor itself, in order.
    expected = [index for index, stage in zip(built, stages) for _ in stage.layers]
    assert len(seen_by_layers) == len(expected)
    assert all(a is b for a, b in zip(seen_by_layers, expected))


def test_dictionary_is_computed_from_the_stage_input(monkeypatch):
    model = tiny_model("semanir_s_sr_x2", depths=(1,)).eval()
    captured = []
    real_build = layers_module.build_key_semantic_dictionary
    monkeypatch.setattr(
        layers_module, "build_key_semantic_dictionary", lambda *a, **kw: captured.append(real_build(*a, **kw)) or captured[-1]
    )
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        model(x, topk=4)
        x2 = x.clone()
        x2[..., 0, 0] = x[..., 7, 7]  # change one pixel's content
        model(x2, topk=4)
    assert not torch.equal(captured[0], captured[1])


def test_the_model_uses_its_own_topk_unless_the_caller_passes_one(monkeypatch):
    # The model never draws k (the trainer owns random top-k): train and eval mode alike use
    # model.topk, and an explicit topk= wins.
    model = tiny_model("semanir_s_sr_x2")
    ks = []
    real_build = layers_module.build_key_semantic_dictionary
    monkeypatch.setattr(
        layers_module, "build_key_semantic_dictionary", lambda t, k, *a, **kw: ks.append(k) or real_build(t, k, *a, **kw)
    )
    x = torch.rand(1, 3, 8, 8)
    for mode in (True, False):
        ks.clear()
        with torch.set_grad_enabled(mode):
            model.train(mode)(x)
        assert set(ks) == {63}  # the default 512, clipped to the 8x8 window's N-1
    model.set_topk(5)
    ks.clear()
    model.train()(x)
    model(x, topk=9)
    assert ks == [5, 5, 9, 9]  # one dictionary per stage, two stages
    assert model.resolve_topk() == 5 and model.resolve_topk(9) == 9


def test_models_no_longer_take_random_topk_options():
    for name in ("semanir_s_sr_x2", "semanir_unet_color"):
        model = tiny_model(name)
        assert "topk_choices" not in model.config and "topk_seed" not in model.config
        with pytest.raises(TypeError, match="has no option 'topk_choices'"):
            tiny_model(name, topk_choices=[8, 16])


def test_topk_changes_the_output_and_training_backpropagates():
    model = tiny_model("semanir_unet_color").train()
    x = torch.rand(2, 3, 16, 16)
    out = model(x, topk=3)
    out.abs().mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    model.eval()
    with torch.no_grad():
        assert not torch.allclose(model(x, topk=3), model(x, topk=40))


def test_shifted_alternate_stages_option():
    model = tiny_model("semanir_s_sr_x2", shift_alternate=True).eval()
    assert [s.shift for s in model.iter_stages()] == [False, True]
    with torch.no_grad():
        assert model(torch.rand(1, 3, 19, 23)).shape == (1, 3, 38, 46)


@pytest.mark.parametrize("shift", [False, True])
def test_a_shifted_stage_cuts_its_windows_half_a_window_off_the_grid(shift):
    # Per-token FFN, so only attention (within a window) and the stage's 3x3 conv (one pixel of
    # halo) carry a change from one token to another. Unshifted, 4x4 windows start at 0, 4; shifted,
    # at -2, 2, 6 (the two rows above the map reflect rows 2 and 1), so a change at (3, 3) reaches
    # the top-left window only in the unshifted grid.
    torch.manual_seed(0)
    stage = layers_module.SemanIRStage(8, 1, 2, window_size=4, attn_impl="mask", shift=shift).eval()
    x = torch.rand(1, 8, 8, 8)
    bumped = x.clone()
    bumped[..., 3, 3] += 1.0
    with torch.no_grad():
        change = (stage(bumped, topk=15) - stage(x, topk=15)).abs().sum(1)[0]
    window = slice(2, 6) if shift else slice(0, 4)
    expected = torch.zeros(8, 8, dtype=torch.bool)
    expected[max(window.start - 1, 0) : window.stop + 1, max(window.start - 1, 0) : window.stop + 1] = True
    assert torch.equal(change > 0, expected)


def test_bicubic_skip_starts_at_bicubic_and_then_learns_a_residual():
    model = tiny_model("semanir_s_sr_x2", bicubic_skip=True)
    x = torch.rand(2, 3, 19, 23)
    bicubic = F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False)
    with torch.no_grad():
        assert torch.equal(model.eval()(x), bicubic)  # zero-initialised last conv
    model.train()
    (model(x) - torch.rand_like(bicubic)).abs().mean().backward()
    assert model.reconstruct[-1].weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="bicubic_skip applies to upscale > 1"):
        semanir.create_model("semanir_s_sr_x4", upscale=1, bicubic_skip=True)


def test_overrides_reach_every_size_knob():
    model = semanir.create_model(
        "semanir_unet_color", dims=(16, 32), num_heads=(2, 4), encoder_depths=(1, 2), decoder_depths=(2, 1),
        final_depth=3, window_size=4, attn_impl="mask", topk=9, ffn="gdfn", sampling="conv", skip="add",
    )  # fmt: skip
    assert [len(s.layers) for s in model.iter_stages()] == [1, 2, 2, 1, 3]
    assert model.iter_stages()[1].layers[0].attn.num_heads == 4
    assert model.topk == 9 and model.config["window_size"] == 4
    assert model.iter_stages()[0].layers[0].attn.attn_impl == "mask"
    with torch.no_grad():
        assert model.eval()(torch.rand(1, 3, 13, 11)).shape == (1, 3, 13, 11)


def test_registry_errors_are_clear():
    with pytest.raises(ValueError, match="did you mean semanir_s_sr_x4"):
        semanir.create_model("semanir_s_x4")
    with pytest.raises(TypeError, match="has no option 'embed'"):
        semanir.create_model("semanir_s_sr_x4", embed=12)
    with pytest.raises(ValueError, match="unknown attn_impl"):
        tiny_model("semanir_s_sr_x2", attn_impl="fast")


def test_wrong_channel_count_is_reported():
    model = tiny_model("semanir_unet_gray").eval()
    with pytest.raises(ValueError, match=r"expects \(B, 1, H, W\) input, got \(1, 3, 8, 8\)"):
        model(torch.rand(1, 3, 8, 8))


def test_registered_names():
    assert semanir.list_models() == [
        "semanir_b_sr_x2", "semanir_b_sr_x3", "semanir_b_sr_x4", "semanir_light_sr_x2", "semanir_light_sr_x3",
        "semanir_light_sr_x4", "semanir_s_sr_x2",
        "semanir_s_sr_x3", "semanir_s_sr_x4", "semanir_unet_color", "semanir_unet_color_light", "semanir_unet_gray", "semanir_unet_gray_light",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "name,presets,params",
    [("semanir_unet_color_light", ("denoise", "jpeg", "demosaic"), 6_934_673), ("semanir_light_sr_x4", ("sr",), 646_371)],
)
def test_the_shipped_presets_architectures_are_registered_models(name, presets, params):
    from semanir.pretrained import preset_path
    from semanir.weights import load_state_dict_checked, model_from_weights, read_weights, without_runtime_choices

    model = semanir.create_model(name)
    assert count(model) == params
    for preset in presets:
        shipped, _ = model_from_weights(preset_path(preset))
        assert without_runtime_choices(model.config) == without_runtime_choices(shipped.config)
        load_state_dict_checked(model, read_weights(preset_path(preset))[0], preset)  # strict: every key and shape
