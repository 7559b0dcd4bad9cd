"""``semanir serve``'s API through Starlette's test client, with tiny models: upload, progress,
result, the CLI's one-line messages for bad uploads, and jobs that never mix."""

import importlib.util
import io
import socket
import threading
import time

import numpy as np
import pytest
import torch

from semanir.cli import main
from semanir.data.io import read_image, write_image
from semanir.errors import UsageError
from semanir.pretrained import get_preset
from semanir.restoration import Restorer
from semanir.weights import model_from_weights, save_weights
from tests.conftest import tiny_model
from tests.helpers import make_images

pytest.importorskip("starlette", reason="the serve extra (starlette, uvicorn) is not installed")
pytest.importorskip("httpx2", reason="Starlette's test client needs httpx2 (the test extra)")

from starlette.testclient import TestClient  # noqa: E402

from semanir.serve.app import create_app  # noqa: E402
from semanir.serve.jobs import JobRunner, Options, parse_options, upload_name  # noqa: E402


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    folder = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    return {
        "denoise": save_weights(tiny_model("semanir_unet_color"), folder / "color.safetensors", task="denoise"),
        "sr": save_weights(tiny_model("semanir_s_sr_x2"), folder / "sr.safetensors", task="sr"),
    }


def _restorers(weights, tile=None):
    out = {}
    for task, path in weights.items():
        model, meta = model_from_weights(path)
        out[task] = Restorer(model, meta["task"], tile)
    return out


@pytest.fixture
def served(tmp_path, weights):
    """A client on a fresh app; ``gate`` holds back the first job until it is set."""
    gate = threading.Event()
    gate.set()
    restorers = _restorers(weights)

    def restorer_for(task):
        gate.wait()
        return restorers[task]

    runner = JobRunner(restorer_for, ["denoise", "sr"], tmp_path / "work", keep=4, max_waiting=3)
    with TestClient(create_app(runner), base_url="http://127.0.0.1") as client:
        client.gate, client.runner = gate, runner
        yield client
    runner.close()


def _png(pixels) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


def _image(seed, size=(40, 48)) -> np.ndarray:
    return (np.random.default_rng(seed).random((*size, 3)) * 255).astype(np.uint8)


def _post(client, data, task="denoise", name="photo.png", **query):
    return client.post("/api/jobs", params={"task": task, "name": name, **query}, content=data)


def _wait(client, job_id):
    deadline = time.monotonic() + 120  # a guard against a hang, not a timing assertion
    while time.monotonic() < deadline:
        status = client.get(f"/api/jobs/{job_id}").json()
        if status["state"] in ("done", "error", "cancelled"):
            return status
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} did not finish: {status}")


def _decoded(data: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)))


def test_the_page_and_the_presets(served):
    page = served.get("/")
    assert page.status_code == 200 and 'id="file"' in page.text and "/api/jobs" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing from elsewhere
    presets = served.get("/api/presets").json()
    assert [p["name"] for p in presets["presets"]] == ["denoise", "sr"] and presets["default"] == "denoise"
    # The menu's words come from each shipped preset's metadata, so a retrained preset keeps them true.
    assert [p["label"] for p in presets["presets"]] == [f"{name}: {get_preset(name).label}" for name in ("denoise", "sr")]
    assert presets["presets"][0]["label"] == "denoise: noise, sigma 0-50"


def test_upload_progress_result_and_download(served, weights):
    pixels = _image(1)
    reply = _post(served, _png(pixels), name="../holiday shots/beach.png")
    assert reply.status_code == 202
    job = reply.json()
    assert job["name"] == "beach.png" and job["state"] in ("queued", "running") and len(job["id"]) >= 20
    status = _wait(served, job["id"])
    assert status["state"] == "done", status
    # Random pixels reach 0 and 255 like clipped noise: the denoise task's two passes, one tile each.
    assert status["done"] == status["total"] == 2 and status["input_size"] == status["result_size"] == [48, 40]
    result = served.get(f"/api/jobs/{job['id']}/result.png")
    assert result.status_code == 200 and result.headers["content-type"] == "image/png"
    expected = _restorers(weights)["denoise"].restore(pixels)  # the Python API on the same pixels
    np.testing.assert_array_equal(_decoded(result.content), expected)
    np.testing.assert_array_equal(_decoded(served.get(f"/api/jobs/{job['id']}/input.png").content), pixels)
    download = served.get(f"/api/jobs/{job['id']}/result.png", params={"download": 1})
    assert 'filename="beach_denoise.png"' in download.headers["content-disposition"]


def _cli_error_line(capsys, args) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) >= 1 and err[0].startswith("semanir: error: ")
    return err[0].removeprefix("semanir: error: ")


@pytest.mark.parametrize(
    "name,data",
    [("notes.png", b"these are words, not pixels\n"), ("empty.png", b""), ("cut.jpg", None)],
)
def test_a_bad_upload_gets_the_clis_one_line(served, weights, tmp_path, monkeypatch, capsys, name, data):
    if data is None:  # a JPEG cut in half: OpenCV alone would return a half-gray image
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(_image(2, (64, 64))).save(buf, "JPEG", quality=90)
        data = buf.getvalue()[: len(buf.getvalue()) // 2]
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_bytes(data)
    cli = _cli_error_line(capsys, ["restore", name, "-o", "out", "--weights", str(weights["denoise"])])
    # The CLI names the file by its full path, the page by the name it was uploaded under.
    assert cli.startswith(f"{tmp_path / name}: ")
    reply = _post(served, data, name=name)
    assert reply.status_code == 400 and reply.json() == {"error": cli.replace(str(tmp_path / name), name, 1)}


def test_bad_options_are_one_line_each(served):
    png = _png(_image(3))
    assert _post(served, png, task="paint").json()["error"] == "task must be one of denoise, sr, got 'paint'"
    assert "k must be a whole number >= 1" in _post(served, png, k="0").json()["error"]
    assert "unknown Bayer pattern 'XYZW'" in _post(served, png, bayer="xyzw").json()["error"]
    assert served.get("/api/jobs/no-such-job").status_code == 404
    assert served.get("/api/jobs/no-such-job/result.png").status_code == 404


def test_options_reach_the_restorer():
    assert parse_options({"task": "sr", "k": "16", "ensemble": "1", "bayer": "bggr"}, ["sr"]) == Options(
        "sr", 16, True, "BGGR"
    )
    assert parse_options({"task": "sr"}, ["sr"]) == Options("sr")
    assert upload_name("C:\\Users\\me\\x.png") == "x.png" and upload_name("") == "upload"


def test_two_jobs_at_once_stay_separate(served, weights):
    """Two pages, two images, two tasks, submitted while the first still waits: each result is its
    own image restored with its own task, reached through its own id only."""
    served.gate.clear()  # the first job waits for its model until both are in
    first, second = _image(4), _image(5, (24, 32))
    a = _post(served, _png(first), "denoise", "a.png").json()
    b = _post(served, _png(second), "sr", "b.png", k="3").json()
    assert a["id"] != b["id"]
    assert served.get(f"/api/jobs/{b['id']}").json()["ahead"] == 1  # waits behind the first
    assert served.get(f"/api/jobs/{b['id']}/result.png").status_code == 404  # not done: nothing to fetch
    served.gate.set()
    sa, sb = _wait(served, a["id"]), _wait(served, b["id"])
    assert (sa["state"], sb["state"]) == ("done", "done")
    assert sa["result_size"] == [48, 40] and sb["result_size"] == [64, 48] and sb["k"] == 3
    restorers = _restorers(weights)
    restorers["sr"].topk = 3
    np.testing.assert_array_equal(_decoded(served.get(f"/api/jobs/{a['id']}/result.png").content),
                                  restorers["denoise"].restore(first))  # fmt: skip
    np.testing.assert_array_equal(_decoded(served.get(f"/api/jobs/{b['id']}/result.png").content),
                                  restorers["sr"].restore(second))  # fmt: skip


def test_a_big_image_takes_the_clis_tiled_path(tmp_path, weights, capsys):
    """The server's Restorer is the CLI's: with --tile 32 both cut a 72x80 image into the same tiles
    (the page sees them as progress) and write the same pixels."""
    src = make_images(tmp_path / "in", count=1, size=(72, 80)) / "img0.png"
    assert main(["restore", str(src), "-o", str(tmp_path / "out"), "--weights", str(weights["denoise"]), "--tile", "32"]) == 0
    capsys.readouterr()
    runner = JobRunner(_restorers({"denoise": weights["denoise"]}, tile=32).__getitem__, ["denoise"], tmp_path / "w")
    with TestClient(create_app(runner), base_url="http://localhost") as client:
        job = _post(client, src.read_bytes(), name="img0.png").json()
        status = _wait(client, job["id"])
        assert status["state"] == "done" and status["total"] == status["done"] > 1  # tiles
        served_pixels = _decoded(client.get(f"/api/jobs/{job['id']}/result.png").content)
    runner.close()
    np.testing.assert_array_equal(served_pixels, np.asarray(_decoded((tmp_path / "out" / "img0.png").read_bytes())))


def test_a_job_is_cancelled_at_once_when_queued_and_after_its_tile_when_running(tmp_path, weights):
    restorers = _restorers({"denoise": weights["denoise"]}, tile=32)
    in_first_tile, go_on = threading.Event(), threading.Event()

    def hold_the_first_tile(module, args):
        if not in_first_tile.is_set():
            in_first_tile.set()
            go_on.wait(60)

    restorers["denoise"].model.register_forward_pre_hook(hold_the_first_tile)
    runner = JobRunner(restorers.__getitem__, ["denoise"], tmp_path / "w")
    src = make_images(tmp_path / "in", count=1, size=(72, 80)) / "img0.png"
    with TestClient(create_app(runner), base_url="http://localhost") as client:
        running = _post(client, src.read_bytes(), name="big.png").json()
        queued = _post(client, src.read_bytes(), name="next.png").json()
        assert in_first_tile.wait(60)
        reply = client.delete(f"/api/jobs/{queued['id']}")
        assert reply.status_code == 202 and reply.json()["state"] == "cancelled"  # at once: it never started
        assert client.delete(f"/api/jobs/{running['id']}").status_code == 202
        go_on.set()  # the first tile ends; the job stops there
        stopped = _wait(client, running["id"])
        assert stopped["state"] == "cancelled" and stopped["done"] == 1 < stopped["total"]
        assert client.get(f"/api/jobs/{running['id']}/result.png").status_code == 404
        assert client.get(f"/api/jobs/{queued['id']}").json()["seconds"] is None
        assert client.delete(f"/api/jobs/{running['id']}").status_code == 409  # already ended
        assert client.delete("/api/jobs/nope").status_code == 404
        after = _wait(client, _post(client, src.read_bytes(), name="after.png").json()["id"])
        assert after["state"] == "done"  # the worker goes on
    runner.close()


def test_limits_and_hosts(tmp_path, weights):
    gate = threading.Event()
    restorers = _restorers(weights)
    runner = JobRunner(lambda task: gate.wait() and restorers[task], ["denoise"], tmp_path / "w", max_waiting=1)
    with TestClient(create_app(runner, max_upload_bytes=10_000), base_url="http://localhost") as client:
        big = _post(client, b"x" * 10_001)
        assert big.status_code == 413 and "larger than this server takes" in big.json()["error"]
        png = _png(_image(6, (16, 16)))
        assert _post(client, png).status_code == 202
        busy = _post(client, png)
        assert busy.status_code == 429 and "busy with 1 images" in busy.json()["error"]
        gate.set()
        # A page elsewhere that resolves its own name to 127.0.0.1 (DNS rebinding) is refused.
        assert client.get("/api/presets", headers={"host": "attacker.example:8000"}).status_code == 400
    runner.close()


def test_finished_jobs_beyond_keep_are_removed(tmp_path, weights):
    runner = JobRunner(_restorers(weights).__getitem__, ["denoise"], tmp_path / "w", keep=1)
    ids = []
    for seed in (7, 8):
        ids.append(_finished(runner.submit(_png(_image(seed, (16, 16))), "x.png", Options("denoise"))))
    runner.close()
    assert runner.get(ids[0].id) is None and not ids[0].folder.exists()
    assert runner.get(ids[1].id) is ids[1] and (ids[1].folder / "result.png").is_file()


def test_a_job_that_fails_says_why_in_one_line(tmp_path, weights):
    gray = save_weights(tiny_model("semanir_unet_gray"), tmp_path / "gray.safetensors", task="denoise")
    model, _ = model_from_weights(gray)
    runner = JobRunner({"denoise": Restorer(model, "denoise")}.__getitem__, ["denoise"], tmp_path / "w")
    job = _finished(runner.submit(_png(_image(9, (16, 16))), "rgb.png", Options("denoise")))
    runner.close()
    assert job.state == "error" and job.message == "rgb.png: this model restores 1-channel (gray) images, the input is RGB"


def test_serve_without_the_extra_is_one_line(monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "uvicorn" else real(name, *a))
    assert main(["serve"]) == 2
    assert capsys.readouterr().err.strip() == (
        "semanir: error: semanir serve needs uvicorn: pip install 'semanir[serve]' (starlette, uvicorn)"
    )


def test_a_taken_port_is_one_line(capsys):
    from semanir.serve import listen

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UsageError, match=f"cannot listen on 127.0.0.1:{port}: .*; pass another --port"):
            listen("127.0.0.1", port)
    with pytest.raises(UsageError, match="not an address of this machine"):
        listen("no-such-host.invalid", 0)


def _finished(job):
    deadline = time.monotonic() + 120  # a guard against a hang, not a timing assertion
    while job.state not in ("done", "error") and time.monotonic() < deadline:
        time.sleep(0.02)
    return job


def test_a_16_bit_upload_is_previewed_in_8_bits_and_restored_in_16(tmp_path, weights):
    deep = np.random.default_rng(0).random((16, 16, 3))
    write_image(tmp_path / "deep.png", deep, bit_depth=16)
    runner = JobRunner(_restorers(weights).__getitem__, ["denoise"], tmp_path / "w")
    job = _finished(runner.submit((tmp_path / "deep.png").read_bytes(), "deep.png", Options("denoise")))
    runner.close()
    preview, result = read_image(job.folder / "input.png"), read_image(job.folder / "result.png")
    assert preview.bit_depth == 8 and np.abs(preview.pixels - deep).max() <= 0.5 / 255 + 1e-6
    assert job.state == "done" and result.bit_depth == 16


def test_a_mild_jpeg_comes_back_unchanged_with_a_note(tmp_path, weights):
    import cv2

    model, _ = model_from_weights(weights["denoise"])  # any model: the jpeg task decides before it runs
    runner = JobRunner({"jpeg": Restorer(model, "jpeg")}.__getitem__, ["jpeg"], tmp_path / "w")
    data = cv2.imencode(".jpg", _image(10, (16, 16)), [cv2.IMWRITE_JPEG_QUALITY, 96])[1].tobytes()
    job = _finished(runner.submit(data, "mild.jpg", Options("jpeg")))
    runner.close()
    assert job.state == "done" and job.message.startswith("left as it is: a JPEG of quality 96")
    np.testing.assert_array_equal(_decoded((job.folder / "result.png").read_bytes()), cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[..., ::-1])
