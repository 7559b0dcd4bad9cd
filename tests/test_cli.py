"""``semanir test`` and ``semanir restore`` end to end, including every kind of bad input."""

import json
import pickle
import re
import sys
import tempfile
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from semanir.cli import main
from semanir.data.io import read_image, write_image
from semanir.data.protocols import get_protocol
from semanir.evaluation import identity_restorer as _IDENTITY
from semanir.weights import save_weights
from tests.conftest import tiny_model
from tests.helpers import make_images, stale_temporary


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    folder = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    color = save_weights(tiny_model("semanir_unet_color"), folder / "color.safetensors", task="denoise")
    gray = save_weights(tiny_model("semanir_unet_gray"), folder / "gray.safetensors", task="denoise")
    sr = save_weights(tiny_model("semanir_s_sr_x2"), folder / "sr.safetensors", task="sr")
    return {"color": color, "gray": gray, "sr": sr}


def _one_error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[0].startswith("semanir: error: ")
    assert not any("Traceback" in line for line in err)
    return err[0]


# --- test ---------------------------------------------------------------------------------------


def test_identity_model_scores_the_degraded_input_like_the_protocols_benchmark(tmp_path, capsys):
    sys.path.insert(0, "benchmarks")
    try:
        from degraded_baselines import measure
    finally:
        sys.path.remove("benchmarks")
    from semanir.data.io import list_images

    data = make_images(tmp_path / "set", count=3)
    assert main(["test", "--model", "identity", "--task", "denoise", "--level", "25", "--data", str(data), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    psnr, ssim = measure(list_images(data), get_protocol("denoise", 25), seed=0)
    assert report["mean"]["psnr"] == pytest.approx(psnr, abs=1e-9)
    assert report["mean"]["ssim"] == pytest.approx(ssim, abs=1e-9)
    # unclipped AWGN: 20 log10(255 / 25) up to the sampling error of a few thousand pixels
    assert report["mean"]["psnr"] == pytest.approx(20.17, abs=0.15)
    assert [r["name"] for r in report["images"]] == ["img0", "img1", "img2"]


def test_test_prints_a_table_and_writes_json_and_images(tmp_path, capsys, weights):
    data = make_images(tmp_path / "set", count=2)
    args = ["test", "--weights", str(weights["color"]), "--task", "denoise", "--level", "15", "--data", str(data),
            "--json", str(tmp_path / "r.json"), "--save", str(tmp_path / "saved"), "--k", "16"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "denoise_15_rgb" in out and "k=16" in out and out.strip().splitlines()[-1].startswith("mean")
    report = json.loads((tmp_path / "r.json").read_text())
    assert len(report["images"]) == 2 and np.isfinite(report["mean"]["psnr"])
    assert sorted(p.name for p in (tmp_path / "saved").iterdir()) == ["compare", "img0.png", "img1.png"]
    assert sorted(p.name for p in (tmp_path / "saved" / "compare").iterdir()) == ["img0.png", "img1.png"]


def test_sr_test_on_a_registered_set_layout(tmp_path, capsys, weights):
    make_images(tmp_path / "root" / "Set5" / "HR", count=2, size=(40, 44))
    assert main(["test", "--weights", str(weights["sr"]), "--task", "sr", "--level", "2", "--data",
                 str(tmp_path / "root"), "--set", "Set5", "--json"]) == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert report["protocol"] == "sr_2_rgb" and len(report["images"]) == 2


def test_test_refuses_weights_of_the_wrong_scale_before_scoring(tmp_path, capsys, weights):
    make_images(tmp_path / "set", 1, size=(16, 16))
    base = ["test", "--data", str(tmp_path / "set")]
    assert main([*base, "--task", "sr", "--level", "3", "--weights", str(weights["sr"])]) == 2
    assert "semanir_s_sr_x2 upscales x2; task sr needs x3" in _one_error_line(capsys)
    assert main([*base, "--task", "denoise", "--level", "25", "--weights", str(weights["sr"])]) == 2
    assert "task denoise needs same-size output" in _one_error_line(capsys)


def test_test_with_a_missing_folder_is_one_line(tmp_path, capsys):
    assert main(["test", "--model", "identity", "--task", "denoise", "--data", str(tmp_path / "nope")]) == 2
    assert "no such folder" in _one_error_line(capsys)


def _counting_identity(monkeypatch, calls: list, stop_after: int | None = None):
    """identity_restorer that counts its images and, like a Ctrl-C, stops after ``stop_after``."""
    import semanir.evaluation as evaluation

    def make(protocol):
        inner = _IDENTITY(protocol)

        def restore(x):
            if stop_after is not None and len(calls) == stop_after:
                raise KeyboardInterrupt
            calls.append(1)
            return inner(x)

        return restore

    monkeypatch.setattr(evaluation, "identity_restorer", make)


def test_an_interrupted_test_keeps_what_it_measured_and_a_rerun_goes_on(tmp_path, capsys, monkeypatch):
    data = make_images(tmp_path / "set", count=5, size=(24, 24))
    report = tmp_path / "r.json"
    args = ["test", "--model", "identity", "--task", "denoise", "--level", "25", "--data", str(data), "--json", str(report)]
    calls = []
    _counting_identity(monkeypatch, calls, stop_after=2)
    assert main(args) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("semanir: [1/5] img0  PSNR ") and "ETA 0:00:0" in err[0]
    assert err[-1] == (f"semanir: interrupted after 2 of 5 images; they are in {report} (marked incomplete), "
                       "and the same command goes on from there")  # fmt: skip
    partial = json.loads(report.read_text())
    assert partial["complete"] is False and partial["measured"] == 2 and partial["total"] == 5
    assert [r["name"] for r in partial["images"]] == ["img0", "img1"]

    calls.clear()
    _counting_identity(monkeypatch, calls)
    assert main(args) == 0
    assert len(calls) == 3  # only the images not measured before
    err = capsys.readouterr().err
    assert "[2/5] img1  PSNR" in err and "(measured before)" in err and "[5/5] img4" in err
    done = json.loads(report.read_text())
    assert done["complete"] is True and [r["name"] for r in done["images"]] == [f"img{i}" for i in range(5)]
    assert main([*args[:-1], str(tmp_path / "straight.json")]) == 0  # the same rows as a run never stopped
    assert json.loads((tmp_path / "straight.json").read_text())["images"] == done["images"]

    calls.clear()
    assert main([*args, "--seed", "1"]) == 0  # other settings: nothing is reused
    assert len(calls) == 5 and "measured with other settings; measuring every image" in capsys.readouterr().err


def test_ctrl_c_in_a_test_without_a_results_file_exits_130(tmp_path, capsys, monkeypatch):
    data = make_images(tmp_path / "set", count=2, size=(24, 24))
    _counting_identity(monkeypatch, [], stop_after=1)
    assert main(["test", "--model", "identity", "--task", "denoise", "--data", str(data)]) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == "semanir: interrupted"


# --- restore ------------------------------------------------------------------------------------


def _write(path, pixels, **kw):
    write_image(path, pixels, **kw)
    return path


def test_restore_odd_sizes_gray_16bit_rgba_folders_and_globs(tmp_path, capsys, weights):
    rng = np.random.default_rng(0)
    src = tmp_path / "in"
    _write(src / "odd.png", rng.random((37, 53, 3)))
    _write(src / "gray.png", rng.random((17, 9)))
    _write(src / "deep.png", rng.random((20, 30, 3)), bit_depth=16)
    alpha = rng.random((19, 23))
    _write(src / "rgba.png", rng.random((19, 23, 3)), alpha=alpha)
    _write(tmp_path / "more" / "photo.jpg", rng.random((24, 24, 3)))
    args = ["restore", str(src), str(tmp_path / "more" / "*.jpg"), "-o", str(tmp_path / "out"),
            "--weights", str(weights["color"])]  # fmt: skip
    assert main(args) == 0
    out = {p.name: read_image(p) for p in (tmp_path / "out").iterdir()}
    assert sorted(out) == ["deep.png", "gray.png", "odd.png", "photo.png", "rgba.png"]
    assert out["odd.png"].pixels.shape == (37, 53, 3)
    assert out["gray.png"].pixels.shape == (17, 9)
    assert out["deep.png"].bit_depth == 16 and out["odd.png"].bit_depth == 8
    assert np.abs(out["rgba.png"].alpha - read_image(src / "rgba.png").alpha).max() == 0  # carried untouched


@pytest.mark.parametrize(
    "task,model,expected_color_type",
    [("denoise", "color", 4), ("denoise", "gray", 4), ("jpeg", "color", 4), ("sr", "sr", 4),
     ("demosaic", "color", 6)],  # a gray mosaic demosaics to color: RGBA (6), its alpha kept
)  # fmt: skip
def test_gray_with_alpha_comes_out_gray_with_alpha(tmp_path, weights, task, model, expected_color_type):
    from PIL import Image

    rng = np.random.default_rng(9)
    gray_alpha = (rng.random((16, 20, 2)) * 255).astype(np.uint8)
    Image.fromarray(gray_alpha, "LA").save(tmp_path / "la.png")
    args = ["restore", str(tmp_path / "la.png"), "-o", str(tmp_path / "out"), "--weights", str(weights[model])]
    assert main([*args, "--task", task, "--tile", "0"]) == 0
    out = tmp_path / "out" / "la.png"
    assert out.read_bytes()[25] == expected_color_type  # the PNG header's color type
    img = read_image(out)
    scale = 2 if task == "sr" else 1
    assert img.pixels.shape == (16 * scale, 20 * scale, *((3,) if task == "demosaic" else ()))
    if scale == 1:
        np.testing.assert_array_equal(np.round(img.alpha * 255), gray_alpha[..., 1])


def test_restore_sr_upscales_and_resizes_alpha(tmp_path, weights):
    src = _write(tmp_path / "a.png", np.random.default_rng(1).random((15, 21, 3)), alpha=np.ones((15, 21)))
    assert main(["restore", str(src), "-o", str(tmp_path / "out"), "--weights", str(weights["sr"])]) == 0
    img = read_image(tmp_path / "out" / "a.png")
    assert img.pixels.shape == (30, 42, 3) and img.alpha.shape == (30, 42)


def test_restore_tiles_when_asked(tmp_path, capsys, weights):
    src = _write(tmp_path / "big.png", np.random.default_rng(2).random((70, 90, 3)))
    assert main(["restore", str(src), "-o", str(tmp_path / "a"), "--weights", str(weights["color"]), "--tile", "0"]) == 0
    assert main(["restore", str(src), "-o", str(tmp_path / "b"), "--weights", str(weights["color"]),
                 "--tile", "32", "--overlap", "16"]) == 0  # fmt: skip
    a, b = read_image(tmp_path / "a" / "big.png").pixels, read_image(tmp_path / "b" / "big.png").pixels
    assert a.shape == b.shape and np.abs(a - b).mean() < 0.05


def test_restore_self_ensemble_also_for_bayer_mosaics(tmp_path, weights):
    src = _write(tmp_path / "odd.png", np.random.default_rng(7).random((21, 30, 3)))
    base = ["restore", str(src), "--weights", str(weights["color"]), "--tile", "0"]
    assert main([*base, "-o", str(tmp_path / "plain")]) == 0
    assert main([*base, "-o", str(tmp_path / "x8"), "--self-ensemble"]) == 0
    plain, x8 = (read_image(tmp_path / d / "odd.png").pixels for d in ("plain", "x8"))
    assert x8.shape == plain.shape and 0 < np.abs(x8 - plain).max() < 0.5
    # A 1-channel mosaic of odd size: each of the 8 views is a mosaic of another layout.
    cfa = _write(tmp_path / "cfa.png", np.random.default_rng(8).random((21, 30)))
    cfa_base = ["restore", str(cfa), "--weights", str(weights["color"]), "--tile", "0", "--task", "demosaic"]
    for layout in ("RGGB", "GBRG"):
        out = tmp_path / f"x8_{layout}"
        assert main([*cfa_base, "-o", str(out), "--self-ensemble", "--bayer-pattern", layout]) == 0
        assert read_image(out / "cfa.png").pixels.shape == (21, 30, 3)


def test_restore_refuses_a_k_below_one_before_reading_anything(tmp_path, capsys, weights):
    src = _write(tmp_path / "x.png", np.random.default_rng(5).random((16, 16, 3)))
    with pytest.raises(SystemExit) as exit_info:
        main(["restore", str(src), "-o", str(tmp_path / "out"), "--weights", str(weights["color"]), "--k", "0"])
    assert exit_info.value.code == 2
    assert "argument --k: must be >= 1, got 0" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_restore_removes_the_temporaries_a_killed_restore_left(tmp_path, weights):
    src = _write(tmp_path / "x.png", np.random.default_rng(3).random((16, 16, 3)))
    (tmp_path / "out").mkdir()
    left = stale_temporary(tmp_path / "out", "x.png")
    assert main(["restore", str(src), "-o", str(tmp_path / "out"), "--weights", str(weights["color"])]) == 0
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["x.png"] and not left.exists()


def test_a_restore_that_writes_nothing_leaves_no_folder(tmp_path, capsys, weights):
    (tmp_path / "text.png").write_text("this is not an image")
    (tmp_path / "kept").mkdir()
    for out in (tmp_path / "new" / "deeper", tmp_path / "kept"):
        assert main(["restore", str(tmp_path / "text.png"), "-o", str(out), "--weights", str(weights["color"])]) == 2
        assert "1 of 1 images failed" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept", "text.png"]  # a folder already there stays


def test_outputs_never_overwrite_inputs(tmp_path, capsys, weights):
    src = _write(tmp_path / "x.png", np.random.default_rng(3).random((16, 16, 3)))
    before = src.read_bytes()
    assert main(["restore", str(src), "-o", str(tmp_path), "--weights", str(weights["color"])]) == 2
    assert "would overwrite an input" in _one_error_line(capsys)
    assert src.read_bytes() == before


def test_a_bad_file_in_a_batch_fails_alone_without_partial_output(tmp_path, capsys, weights):
    good = _write(tmp_path / "in" / "good.png", np.random.default_rng(4).random((16, 16, 3)))
    data = good.read_bytes()
    (tmp_path / "in" / "trunc.png").write_bytes(data[: len(data) // 2])
    (tmp_path / "in" / "text.png").write_text("this is not an image")
    assert main(["restore", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--weights", str(weights["color"])]) == 2
    err = capsys.readouterr().err
    assert "trunc.png" in err and "text.png" in err and "2 of 3 images failed" in err and "Traceback" not in err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["good.png"]


@pytest.mark.parametrize(
    "case,expected",
    [
        ("missing", "no such file, folder or matching pattern"),
        ("unwritable", "cannot write to output folder"),
        ("wrong_channels", "does not fit semanir_unet_color"),
        ("pickle_with_code", "refused to load"),
        ("random_bytes_pth", "not a PyTorch weights file"),
        ("tile_too_small", "tile size 8 is too small for this model"),
        ("gray_model_color_image", "restores 1-channel (gray) images"),
        ("sr_weights_for_denoising", "semanir_s_sr_x2 upscales x2; task denoise needs same-size output"),
        ("denoiser_weights_for_sr", "semanir_unet_color upscales x1; task sr needs an upscaling model"),
    ],
)
def test_bad_inputs_end_in_one_line_and_exit_2(tmp_path, capsys, weights, case, expected):
    src = _write(tmp_path / "in.png", np.random.default_rng(5).random((16, 16, 3)))
    out = tmp_path / "out"
    args = ["restore", str(src), "-o", str(out), "--weights", str(weights["color"])]
    if case == "missing":
        args[1] = str(tmp_path / "nope.png")
    elif case == "unwritable":
        (tmp_path / "file").write_text("")
        args[3] = str(tmp_path / "file" / "sub")
    elif case == "wrong_channels":
        args[5:] = [str(weights["gray"]), "--model", "semanir_unet_color"]
    elif case == "pickle_with_code":
        evil = tmp_path / "evil.pth"

        class Exploit:
            def __reduce__(self):
                return (exec, ("open('PWNED', 'w').write('x')",))

        evil.write_bytes(pickle.dumps({"w": torch.zeros(1), "x": Exploit()}))
        args[5] = str(evil)
    elif case == "random_bytes_pth":
        noise = tmp_path / "noise.pth"
        noise.write_bytes(b"\xff" + np.random.default_rng(0).bytes(4095))
        args[5] = str(noise)
    elif case == "tile_too_small":
        args += ["--tile", "8"]
    elif case == "gray_model_color_image":
        args[5] = str(weights["gray"])
    elif case == "sr_weights_for_denoising":
        args[5:] = [str(weights["sr"]), "--task", "denoise"]
    elif case == "denoiser_weights_for_sr":
        args += ["--task", "sr"]
    assert main(args) == 2
    line = _one_error_line(capsys)
    assert expected in line and "weights_only" not in line  # never the advice to unpickle
    assert not out.exists()  # no folder made, or removed again: nothing was written
    assert not (tmp_path / "PWNED").exists()


def test_restore_without_weights_uses_the_shipped_denoiser(tmp_path):
    src = _write(tmp_path / "in.png", np.random.default_rng(6).random((16, 16, 3)))
    assert main(["restore", str(src), "-o", str(tmp_path / "out")]) == 0
    assert read_image(tmp_path / "out" / "in.png").pixels.shape == (16, 16, 3)


def test_restore_with_a_task_that_ships_no_weights_says_so(tmp_path, capsys):
    src = _write(tmp_path / "in.png", np.random.default_rng(6).random((16, 16, 3)))
    assert main(["restore", str(src), "-o", str(tmp_path / "out"), "--task", "weather"]) == 2
    assert "no shipped weights for weather; pass --weights FILE" in _one_error_line(capsys)


def test_restore_task_jpeg_leaves_a_mild_jpeg_as_it_is_and_says_so(tmp_path, recwarn):
    # The jpeg presets lower a quality-90+ file (benchmarks/jpeg.md); a quality-20 file is restored.
    pixels = (np.random.default_rng(7).random((24, 32, 3)) * 255).astype(np.uint8)
    for quality in (20, 95):
        cv2.imwrite(str(tmp_path / f"q{quality}.jpg"), pixels, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert main(["restore", str(tmp_path / "q20.jpg"), str(tmp_path / "q95.jpg"), "-o", str(tmp_path / "out"), "--task", "jpeg"]) == 0
    message = "q95.jpg: left as it is: a JPEG of quality 95 (>= 90) has too few artifacts to gain from restoring"
    assert [str(w.message) for w in recwarn.list] == [message]
    w = recwarn.list[0]  # pytest records warnings; outside it, the CLI prints this one as a single line
    assert warnings.formatwarning(w.message, w.category, w.filename, w.lineno) == f"semanir: warning: {message}\n"
    recwarn.clear()
    for quality, unchanged in ((20, False), (95, True)):
        given, written = (read_image(p).pixels for p in (tmp_path / f"q{quality}.jpg", tmp_path / "out" / f"q{quality}.png"))
        assert np.array_equal(given, written) == unchanged
    assert main(["restore", str(tmp_path / "q95.jpg"), "-o", str(tmp_path / "forced"), "--task", "jpeg", "--restore-mild-jpeg"]) == 0
    assert not recwarn.list
    assert not np.array_equal(read_image(tmp_path / "forced" / "q95.png").pixels, read_image(tmp_path / "q95.jpg").pixels)


# --- restore never writes two inputs to one output ----------------------------------------------


def _sized_inputs(tmp_path, names):
    """One image per relative name, each of its own width, so every output tells its input."""
    return {name: _write(tmp_path / name, np.random.default_rng(i).random((8, 8 + 8 * i, 3))) for i, name in enumerate(names)}


def _restore_all(tmp_path, capsys, weights, args):
    """Restore into out/; {output name: width}, after checking that no two inputs shared an output."""
    assert main(["restore", *args, "-o", str(tmp_path / "out"), "--weights", str(weights["color"]), "--tile", "0"]) == 0
    written = {p.name: read_image(p).pixels.shape[1] for p in (tmp_path / "out").iterdir()}
    reported = [line.split(" -> ") for line in capsys.readouterr().out.strip().splitlines()]
    assert len({dst for _, dst in reported}) == len(reported) == len(written)  # one output per input
    return written


@pytest.mark.parametrize(
    "names,expected",
    [
        (["d1/a.png", "d2/a.png"], {"d1_a.png": 8, "d2_a.png": 16}),
        (["d1/a.png", "d1/a.jpg"], {"a_png.png": 8, "a_jpg.png": 16}),
        (["d1/a.png", "d1/a.jpg", "d2/a.png"], {"d1_a_png.png": 8, "a_jpg.png": 16, "d2_a_png.png": 24}),
        (["x/d1/a.png", "y/d1/a.png"], {"x_d1_a.png": 8, "y_d1_a.png": 16}),  # more folders as needed
        # d1/a.png's first try, d1_a, is e/d1_a.png's own name: both take one more folder.
        (["d1/a.png", "d2/a.png", "e/d1_a.png"], {"{tmp}_d1_a.png": 8, "d2_a.png": 16, "e_d1_a.png": 24}),
    ],
)
def test_inputs_sharing_a_name_get_distinct_outputs(tmp_path, capsys, weights, names, expected):
    _sized_inputs(tmp_path, names)
    expected = {name.replace("{tmp}", tmp_path.name): width for name, width in expected.items()}
    assert _restore_all(tmp_path, capsys, weights, [str(tmp_path / n) for n in names]) == expected


def test_the_same_file_given_twice_is_restored_once(tmp_path, capsys, weights):
    _sized_inputs(tmp_path, ["d1/a.png"])
    args = [str(tmp_path / "d1" / "a.png"), str(tmp_path / "d1" / ".." / "d1" / "a.png"), str(tmp_path / "d1")]
    assert _restore_all(tmp_path, capsys, weights, args) == {"a.png": 8}


def test_names_that_differ_only_in_case_are_refused_before_restoring(tmp_path, capsys, weights):
    _sized_inputs(tmp_path, ["d/a.png", "d/A.png"])
    if len(list((tmp_path / "d").iterdir())) < 2:
        pytest.skip("case-insensitive file system: the two names are one file")
    assert main(["restore", str(tmp_path / "d"), "-o", str(tmp_path / "out"), "--weights", str(weights["color"])]) == 2
    assert "would both be written as" in _one_error_line(capsys)
    assert not (tmp_path / "out").exists()


# --- the user's failures and ours ---------------------------------------------------------------


def _a_bug(*args, **kwargs):
    raise RuntimeError("Input type (c10::BFloat16) and bias type (float) should be the same")


def test_an_internal_error_says_it_is_a_bug_and_keeps_the_traceback(tmp_path, capsys, monkeypatch, weights):
    from semanir.restoration import Restorer

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the log goes where the test can see it
    monkeypatch.setattr(Restorer, "restore_array", _a_bug)
    src = _write(tmp_path / "in.png", np.random.default_rng(9).random((16, 16, 3)))
    assert main(["restore", str(src), "-o", str(tmp_path / "out"), "--weights", str(weights["color"])]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("semanir: internal error (a bug in semanir, not your input): RuntimeError: Input type")
    assert "please report it" in err[0] and "--debug" in err[0]
    log = Path(re.search(r"traceback in (\S+) ", err[0]).group(1))
    assert log.parent == tmp_path
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "in _a_bug" in text and f"restore {src}" in text


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_prints_the_traceback_of_an_internal_error(tmp_path, capsys, monkeypatch, weights, where):
    from semanir.restoration import Restorer

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(Restorer, "restore_array", _a_bug)
    src = _write(tmp_path / "in.png", np.random.default_rng(9).random((16, 16, 3)))
    args = ["restore", str(src), "-o", str(tmp_path / "out"), "--weights", str(weights["color"])]
    assert main(["--debug", *args] if where == "before" else [*args, "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "in _a_bug" in err
    assert err.strip().splitlines()[-1].endswith("please report it with the traceback above")
    assert not list(tmp_path.glob("semanir-*.log"))


@pytest.mark.parametrize(
    "extra,expected",
    [
        (["--precision", "fp8", "--device", "cpu"], "precision must be auto, fp32, fp16 or bf16"),  # fp16 runs on the CPU now
        (["--device", "gpu"], "--device 'gpu' is not a device"),
        (["--tile", "7"], "tile size must be a positive multiple of"),
        (["--model", "semanir_nope"], "unknown model 'semanir_nope'"),
        (["--impl", "nope"], "unknown attn_impl 'nope'"),
    ],
)
def test_bad_arguments_are_the_users_failure_not_a_bug(tmp_path, capsys, weights, extra, expected):
    src = _write(tmp_path / "in.png", np.random.default_rng(9).random((16, 16, 3)))
    assert main(["restore", str(src), "-o", str(tmp_path / "out"), "--weights", str(weights["color"]), *extra]) == 2
    assert expected in _one_error_line(capsys)


def test_bad_test_arguments_are_the_users_failure_not_a_bug(tmp_path, capsys):
    data = make_images(tmp_path / "set", count=1)
    base = ["test", "--model", "identity", "--data", str(data)]
    assert main([*base, "--task", "denoise", "--level", "abc"]) == 2
    assert "denoise level must be one of" in _one_error_line(capsys)
    assert main([*base, "--task", "denoise", "--set", "Set6"]) == 2
    assert "unknown benchmark 'Set6'" in _one_error_line(capsys)


def test_debug_also_shows_where_a_users_failure_was_raised(tmp_path, capsys):
    assert main(["--debug", "test", "--model", "identity", "--task", "denoise", "--data", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "semanir: error: " in err and "no such folder" in err


def test_ctrl_c_in_restore_exits_130_in_one_line(tmp_path, capsys, monkeypatch, weights):
    from semanir.restoration import Restorer

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Restorer, "restore_array", ctrl_c)
    src = _write(tmp_path / "in.png", np.random.default_rng(9).random((16, 16, 3)))
    assert main(["restore", str(src), "-o", str(tmp_path / "out"), "--weights", str(weights["color"])]) == 130
    assert capsys.readouterr().err.strip().splitlines() == ["semanir: interrupted"]
