"""The side-by-side crops of ``semanir test --save``: where the crop goes, what each panel holds."""

import json

import numpy as np
import pytest

from semanir.cli import main
from semanir.data.io import read_image
from semanir.pictures import BAND, GAP, detail_crop, side_by_side
from tests.helpers import make_images


def test_the_crop_goes_where_the_detail_is():
    image = np.full((100, 120), 0.5, np.float32)
    image[60:80, 30:50] = np.random.default_rng(0).random((20, 20))  # the only texture
    rows, cols = detail_crop(image, 32)
    assert rows.stop - rows.start == 32 and cols.stop - cols.start == 32
    assert rows.start <= 60 and rows.stop >= 80 and cols.start <= 30 and cols.stop >= 50
    assert detail_crop(image[:10, :12], 32) == (slice(0, 10), slice(0, 12))  # smaller: all of it


def test_panels_are_laid_out_under_their_labels_and_enlarged_by_whole_pixels():
    rng = np.random.default_rng(1)
    panels = [(rng.random((24, 32, 3)), "a"), ((rng.random((24, 32)) * 255).astype(np.uint8), "b")]
    picture = side_by_side(panels)
    zoom = 6  # ceil(192 / 32)
    assert picture.shape == (BAND + 24 * zoom + GAP, 2 * 32 * zoom + 3 * GAP, 3) and picture.dtype == np.uint8
    first = picture[BAND : BAND + 24 * zoom, GAP : GAP + 32 * zoom]
    np.testing.assert_array_equal(first[::zoom, ::zoom], np.floor(panels[0][0] * 255 + 0.5).astype(np.uint8))
    second = picture[BAND : BAND + 24 * zoom, 2 * GAP + 32 * zoom : 2 * GAP + 64 * zoom]
    np.testing.assert_array_equal(second[::zoom, ::zoom], np.repeat(panels[1][0][..., None], 3, axis=2))
    assert picture[:BAND].max() > 200  # the labels' light text on the dark strip
    with pytest.raises(ValueError, match="differ in size"):
        side_by_side([(np.zeros((4, 4)), "a"), (np.zeros((4, 5)), "b")])


@pytest.mark.parametrize("task,level", [("denoise", "25"), ("sr", "2")])
def test_test_save_writes_degraded_restored_and_ground_truth_side_by_side(tmp_path, capsys, task, level):
    from semanir.data.protocols import get_protocol
    from semanir.weights import save_weights
    from tests.conftest import tiny_model

    model = tiny_model("semanir_s_sr_x2" if task == "sr" else "semanir_unet_color")
    weights = save_weights(model, tmp_path / "w.safetensors", task=task)
    data = make_images(tmp_path / "set", count=1, size=(40, 44))
    args = ["test", "--weights", str(weights), "--task", task, "--level", level, "--data", str(data),
            "--save", str(tmp_path / "saved"), "--json"]  # fmt: skip
    assert main(args) == 0
    row = json.loads(capsys.readouterr().out)["images"][0]
    picture = read_image(tmp_path / "saved" / "compare" / "img0.png").pixels
    restored = read_image(tmp_path / "saved" / "img0.png").pixels
    clean = read_image(data / "img0.png").pixels  # 40x44: no modcrop needed at x2
    zoom = -(-192 // 44)
    h, w = 40 * zoom, 44 * zoom
    panel = [picture[BAND : BAND + h, GAP + i * (w + GAP) : GAP + i * (w + GAP) + w][::zoom, ::zoom] for i in range(3)]
    np.testing.assert_array_equal(panel[1], restored)
    np.testing.assert_array_equal(panel[2], clean)
    # The degraded panel: the model's input, at the output's size (SR: bicubic-upscaled).
    assert panel[0].shape == clean.shape and np.abs(panel[0] - clean).mean() > 0.01
    protocol = get_protocol(task, int(level))
    assert protocol.psnr(restored, clean) == pytest.approx(row["psnr"], abs=1e-9)
