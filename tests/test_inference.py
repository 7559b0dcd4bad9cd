"""Tiled inference against untiled inference, and the tiling parameters' checks."""

import pytest
import torch

from semanir.inference import _blend_profile, auto_tile_size, model_geometry, restore_tensor
from tests.conftest import tiny_model


@pytest.mark.parametrize(
    "name,overrides,size,tile,overlap",
    [
        ("semanir_s_sr_x2", {"depths": (1,)}, (150, 200), 128, 64),
        ("semanir_unet_color", {"dims": (8, 16), "num_heads": (1, 1), "encoder_depths": (1, 1),
                                "decoder_depths": (1, 1), "window_size": 4}, (200, 260), 192, 96),
    ],
)  # fmt: skip
def test_tiled_equals_untiled_when_the_margin_covers_the_receptive_field(name, overrides, size, tile, overlap):
    model = tiny_model(name, **overrides).eval()
    x = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(1))
    calls = []
    whole = restore_tensor(model, x, tile=0)
    tiled = restore_tensor(model, x, tile=tile, overlap=overlap, progress=lambda d, t: calls.append((d, t)))
    assert len(calls) > 2 and calls[-1][0] == calls[-1][1]  # really tiled
    assert tiled.shape == whole.shape
    assert (tiled - whole).abs().max() < 1e-3


def test_blend_weights_cross_fade_to_one():
    length, tile, overlap = 100, 40, 16
    total = torch.zeros(length)
    for start in range(0, length, tile - overlap):
        end = min(start + tile, length)
        total[start:end] += _blend_profile(start, end, length, overlap, 1)
        if end == length:
            break
    assert torch.allclose(total, torch.ones(length))


def test_bad_tiling_parameters_are_reported():
    model = tiny_model("semanir_s_sr_x2").eval()  # window 8
    x = torch.rand(1, 3, 40, 40)
    with pytest.raises(ValueError, match="multiple of 8"):
        restore_tensor(model, x, tile=20, overlap=8)
    with pytest.raises(ValueError, match="at most half the tile size"):
        restore_tensor(model, x, tile=16, overlap=16)


def test_auto_tile_is_a_multiple_of_the_model_granule():
    for name in ["semanir_s_sr_x4", "semanir_unet_color"]:
        model = tiny_model(name)
        tile = auto_tile_size(model, torch.device("cpu"))
        granule = model_geometry(model).granule
        assert tile >= 4 * granule and tile % granule == 0
