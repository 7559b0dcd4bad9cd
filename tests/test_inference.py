"""Tiled inference against untiled inference, and the tiling parameters' checks."""

import pytest
import torch

from semanir.inference import DIHEDRAL, _blend_profile, _transform, auto_tile_size, model_geometry, restore_tensor
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
    with pytest.raises(ValueError, match="at most half the tile size 16, got 16; pass --overlap 8 or less"):
        restore_tensor(model, x, tile=16, overlap=16)
    # Only the tile given: the message is about the tile (the overlap was never chosen).
    with pytest.raises(ValueError, match="tile size 8 is too small .* pass --tile 16 or more") as err:
        restore_tensor(model, x, tile=8)
    assert "overlap must" not in str(err.value)
    assert restore_tensor(model, x, tile=8, overlap=0).shape == (1, 3, 80, 80)  # no overlap: tile 8 is fine


def test_auto_tile_is_a_multiple_of_the_model_granule():
    for name in ["semanir_s_sr_x4", "semanir_unet_color"]:
        model = tiny_model(name)
        tile = auto_tile_size(model, torch.device("cpu"))
        granule = model_geometry(model).granule
        assert tile >= 4 * granule and tile % granule == 0


@pytest.mark.parametrize(
    "name,overrides,size",
    [
        ("semanir_unet_color", {"dims": (8, 16), "num_heads": (1, 1), "encoder_depths": (1, 1),
                                "decoder_depths": (1, 1), "window_size": 4}, (19, 27)),
        ("semanir_s_sr_x2", {"depths": (1,)}, (13, 18)),
    ],
)  # fmt: skip
def test_self_ensemble_commutes_with_every_rotation_and_mirror(name, overrides, size):
    # Averaging over the 8 symmetries makes the restorer equivariant, which the bare model is not;
    # a transform undone in the wrong order (or not at all) breaks it.
    model = tiny_model(name, **overrides).eval()
    x = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        plain = restore_tensor(model, x, tile=0)
        ensemble = restore_tensor(model, x, tile=0, self_ensemble=True)
        assert ensemble.shape == plain.shape
        assert (ensemble - plain).abs().max() > 1e-4
        for turns, mirror in DIHEDRAL:
            moved = restore_tensor(model, _transform(x, turns, mirror), tile=0, self_ensemble=True)
            assert (moved - _transform(ensemble, turns, mirror)).abs().max() < 1e-5
            bare = restore_tensor(model, _transform(x, turns, mirror), tile=0)
            if (turns, mirror) != (0, False):
                assert (bare - _transform(plain, turns, mirror)).abs().max() > 1e-4


def test_self_ensemble_reports_progress_over_all_eight_passes():
    model = tiny_model("semanir_s_sr_x2", depths=(1,)).eval()
    calls = []
    with torch.no_grad():
        restore_tensor(model, torch.rand(1, 3, 40, 40), tile=16, overlap=8, self_ensemble=True,
                       progress=lambda done, total: calls.append((done, total)))  # fmt: skip
    done, totals = [c[0] for c in calls], {c[1] for c in calls}
    assert len(totals) == 1 and done == list(range(1, totals.pop() + 1)) and len(done) % 8 == 0
