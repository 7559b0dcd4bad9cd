"""Weights files: safetensors with metadata, safe .pth loading, one-line mismatch errors."""

import json
import pickle

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from semanir.weights import WeightsError, model_from_weights, read_weights, save_weights
from tests.conftest import tiny_model


def test_safetensors_round_trip_rebuilds_the_model_from_metadata(tmp_path):
    model = tiny_model("semanir_unet_gray").eval()
    path = save_weights(model, tmp_path / "w.safetensors", task="denoise", training={"iterations": 3})
    loaded, meta = model_from_weights(path)
    assert meta["model_name"] == "semanir_unet_gray" and meta["task"] == "denoise"
    assert meta["training"] == {"iterations": 3}
    x = torch.rand(1, 1, 20, 20)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))


def test_weights_trained_with_the_gpu_kernels_run_where_they_are_loaded(tmp_path):
    # Trained with attn_impl="triton" (CUDA only): the file must not carry that choice to a CPU.
    model = tiny_model("semanir_unet_gray", attn_impl="triton").eval()
    path = save_weights(model, tmp_path / "w.safetensors")
    assert "attn_impl" not in json.loads(read_weights(path)[1]["model_config"])
    loaded, _ = model_from_weights(path)
    assert loaded.config["attn_impl"] == "auto"
    # Files written before attn_impl was left out of the metadata load the same way.
    state, meta = read_weights(path)
    meta["model_config"] = json.dumps({**json.loads(meta["model_config"]), "attn_impl": "triton"})
    save_file(state, str(tmp_path / "old.safetensors"), metadata=meta)
    old, _ = model_from_weights(tmp_path / "old.safetensors")
    assert old.config["attn_impl"] == "auto"
    x = torch.rand(1, 1, 20, 20)
    with torch.no_grad():
        assert torch.equal(old(x), loaded(x))


def test_files_whose_model_config_still_holds_random_topk_options_load(tmp_path):
    # Files written when models drew k themselves (the shipped presets among them) keep
    # topk_choices and topk_seed in their model config: ignored, the trainer owns random k now.
    model = tiny_model("semanir_s_sr_x2").eval()
    state, meta = read_weights(save_weights(model, tmp_path / "w.safetensors"))
    meta["model_config"] = json.dumps({**json.loads(meta["model_config"]), "topk_choices": [64, 512], "topk_seed": 0})
    save_file(state, str(tmp_path / "old.safetensors"), metadata=meta)
    old, _ = model_from_weights(tmp_path / "old.safetensors")
    assert "topk_choices" not in old.config and "topk_seed" not in old.config
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(old(x), model(x))


def test_half_precision_storage(tmp_path):
    model = tiny_model("semanir_s_sr_x2")
    state, _ = read_weights(save_weights(model, tmp_path / "h.safetensors", storage="fp16"))
    assert state["conv_first.weight"].dtype == torch.float16
    loaded, _ = model_from_weights(tmp_path / "h.safetensors")
    assert loaded.conv_first.weight.dtype == torch.float32


def test_int8_storage_keeps_each_output_channel_to_half_a_step(tmp_path):
    from safetensors import safe_open

    model = tiny_model("semanir_unet_color")
    with torch.no_grad():
        model.conv_first.weight[0] *= 1000  # one loud channel must not coarsen the others
    path = save_weights(model, tmp_path / "q.safetensors", storage="int8")
    with safe_open(str(path), framework="pt") as f:
        stored = {k: f.get_tensor(k).dtype for k in f.keys()}
        assert f.metadata()["storage"] == "int8"
    state, _ = read_weights(path)
    assert set(state) == set(model.state_dict())  # the scales are folded back in
    for name, tensor in model.state_dict().items():
        restored = state[name].float()
        if stored[name] == torch.int8:
            step = tensor.reshape(tensor.shape[0], -1).abs().amax(1) / 127  # per output channel
            error = (restored - tensor).reshape(tensor.shape[0], -1).abs().amax(1)
            assert torch.all(error <= step / 2 + 1e-7), name
        elif tensor.is_floating_point():
            assert stored[name] == torch.float16 and torch.equal(restored, tensor.half().float()), name
    assert any(dtype == torch.int8 for dtype in stored.values())
    loaded, _ = model_from_weights(path)
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        exact, stored_out = model(x), loaded(x)
    assert (stored_out - exact).abs().max() < 0.01 * exact.abs().max()


@pytest.mark.parametrize("wrap", [lambda s: s, lambda s: {"params_ema": s}, lambda s: {"model": {f"module.{k}": v for k, v in s.items()}}])
def test_pth_state_dicts_load_with_weights_only(tmp_path, wrap):
    model = tiny_model("semanir_s_sr_x2")
    torch.save(wrap(model.state_dict()), tmp_path / "w.pth")
    loaded, _ = model_from_weights(tmp_path / "w.pth", "semanir_s_sr_x2", embed_dim=12, depths=(2, 2), num_heads=2,
                                   window_size=8, upsampler_dim=8)  # fmt: skip
    assert torch.equal(loaded.conv_first.weight, model.conv_first.weight)


class _Exploit:
    def __reduce__(self):
        return (print, ("this code ran while loading weights",))


def test_a_pickle_with_code_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        pickle.dump({"conv.weight": torch.zeros(1), "payload": _Exploit()}, f)
    with pytest.raises(WeightsError, match="refused to load"):
        read_weights(path)
    assert "this code ran" not in capsys.readouterr().out


def test_unreadable_pth_files_never_advise_unpickling(tmp_path):
    # torch's own message says to retry with weights_only=False, i.e. to run the file's code.
    noise = tmp_path / "noise.pth"
    noise.write_bytes(b"\xff" + np.random.default_rng(0).bytes(4095))
    evil = tmp_path / "evil.pth"
    evil.write_bytes(pickle.dumps({"conv.weight": torch.zeros(1), "payload": _Exploit()}))
    for path, expected in ((noise, "not a PyTorch weights file"), (evil, "refused to load")):
        with pytest.raises(WeightsError) as err:
            read_weights(path)
        message = str(err.value)
        assert expected in message and "\n" not in message
        assert "weights_only" not in message and "trust" not in message


def test_mismatched_weights_name_the_mismatch_in_one_line(tmp_path):
    gray = save_weights(tiny_model("semanir_unet_gray"), tmp_path / "gray.safetensors")
    with pytest.raises(WeightsError) as err:
        model_from_weights(gray, "semanir_unet_color", dims=(8, 16, 32, 64), num_heads=(1, 1, 2, 2),
                           encoder_depths=(1, 1, 1, 1), decoder_depths=(1, 1, 1, 1), final_depth=1, window_size=8)  # fmt: skip
    message = str(err.value)
    assert "\n" not in message
    assert "conv_first.weight (8, 1, 3, 3) vs (8, 3, 3, 3)" in message


@pytest.mark.parametrize("content", [b"", b"not a weights file at all", b"\x00" * 100])
@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_corrupt_files_are_reported(tmp_path, content, suffix):
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(content)
    with pytest.raises(WeightsError, match=str(path.name)):
        read_weights(path)


def test_truncated_safetensors_is_reported(tmp_path):
    path = save_weights(tiny_model("semanir_s_sr_x2"), tmp_path / "t.safetensors")
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(WeightsError, match="not a readable safetensors file"):
        read_weights(path)


def test_missing_file(tmp_path):
    with pytest.raises(WeightsError, match="weights file not found"):
        read_weights(tmp_path / "nope.safetensors")
