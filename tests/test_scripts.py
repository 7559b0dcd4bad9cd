"""The maintenance scripts under scripts/ that a test can run on tiny data."""

import importlib.util
import json

import cv2
import numpy as np

from semanir.data.io import read_image, write_image
from semanir.weights import read_weights, save_weights
from tests.conftest import tiny_model
from tests.data_support import REPO, natural_image


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pack_training_data_keeps_jpegs_whole_and_crops_the_rest_within_budget(tmp_path):
    pack = _script("pack_training_data")
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        cv2.imwrite(str(src / f"j{i}.jpg"), (natural_image(40, 48, seed=i) * 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 95])
    write_image(src / "big.png", natural_image(96, 128, seed=5))
    jpeg_bytes = sum((src / f"j{i}.jpg").stat().st_size for i in range(3))
    budget = 2 * jpeg_bytes + 30_000
    report = pack.pack([src], tmp_path / "out", budget, jpeg_share=0.75, crop=32, seed=1)
    written = sorted((tmp_path / "out").iterdir())
    assert report["bytes"] == sum(p.stat().st_size for p in written) <= budget
    assert report["jpeg_files"] == 3 and report["crops"] > 0
    for i in range(3):  # the JPEGs are the same bytes
        assert (tmp_path / "out" / f"j{i}.jpg").read_bytes() == (src / f"j{i}.jpg").read_bytes()
    big = np.floor(read_image(src / "big.png").pixels * 255 + 0.5)
    for crop in (p for p in written if p.suffix == ".webp"):  # lossless: the crop's exact pixels
        y, x = (int(v) for v in crop.stem.split("_")[1:])
        np.testing.assert_array_equal(np.floor(read_image(crop).pixels * 255 + 0.5), big[y : y + 32, x : x + 32])
    again = pack.pack([src], tmp_path / "again", budget, jpeg_share=0.75, crop=32, seed=1)
    assert again == report and sorted(p.name for p in (tmp_path / "again").iterdir()) == [p.name for p in written]


def test_reencode_writes_a_smaller_copy_with_the_same_metadata(tmp_path):
    source = save_weights(tiny_model("semanir_unet_color"), tmp_path / "w.safetensors", task="denoise", training={"iterations": 5})
    _script("reencode_presets").main(["fp16", str(source), "--out", str(tmp_path / "out")])
    copy = tmp_path / "out" / "w.safetensors"
    (_, before), (_, after) = read_weights(source), read_weights(copy)
    assert copy.stat().st_size < source.stat().st_size
    assert before["storage"] == "fp32" and after == {**before, "storage": "fp16"}


def test_ship_weights_writes_an_int8_preset_with_the_run_history(tmp_path, monkeypatch):
    # A run's final weights as `semanir train` writes them (fp32, storage in their metadata).
    ship = _script("ship_weights")
    monkeypatch.setattr(ship, "PRETRAINED", tmp_path / "pretrained")
    monkeypatch.setattr(ship, "TRAINING_RECORDS", tmp_path / "records")
    (tmp_path / "pretrained").mkdir()
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / "tiny_run.yaml").write_text("task: denoise\n")
    run = tmp_path / "run"
    save_weights(tiny_model("semanir_unet_color"), run / "weights" / "final.safetensors", task="denoise",
                 training={"config": "tiny_run", "iterations": 50})
    (run / "train_log.csv").write_text("iteration,loss,lr,iterations_per_s\n25,0.1,1e-4,0.5\n50,0.1,1e-4,0.25\n")
    assert ship.main([str(run), "denoise", "--hardware", "a CPU", "--history", "tiny_run 0-50"]) == 0
    _, meta = read_weights(tmp_path / "pretrained" / "denoise.safetensors")
    assert meta["storage"] == "int8" and meta["task"] == "denoise"
    training = json.loads(meta["training"])
    assert training["history"] == "tiny_run 0-50" and training["hardware"] == "a CPU"
    assert training["wall_hours"] == 0.04  # 25 iterations at 0.5/s, then 25 at 0.25/s: 150 s
