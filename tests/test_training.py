"""Training: the loss falls, a SIGKILLed run resumes to bit-identical weights, two gloo ranks stay
in sync, NaN and full-disk failures stop cleanly with the last checkpoint intact."""

import csv
import errno
import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import torch
from safetensors.torch import load_file

from semanir.config import ConfigError, load_config
from semanir.training.engine import Trainer, TrainingError
from semanir.training.optim import learning_rate
from semanir.training.sampling import topk_for_iteration
from semanir.weights import WeightsError, decoded_metadata, read_weights, save_weights, total_iterations
from tests.data_support import REPO
from tests.helpers import make_images, run_cli, stale_temporary

ITERATIONS = 60
TRAINING_RECORDS = REPO / "docs" / "training-records"


def _train_args(data, out, *extra):
    return [
        "train", "tiny_denoise", f"data.train.root={data}", f"output_dir={out}", f"train.iterations={ITERATIONS}",
        "train.checkpoint_every=10", "train.log_every=1", "train.val_every=1000", *extra, "--no-progress",
    ]  # fmt: skip


def _logged_iterations(run_dir):
    path = run_dir / "train_log.csv"
    if not path.is_file():
        return 0
    with open(path) as f:
        rows = list(csv.reader(f))[1:]
    return int(rows[-1][0]) if rows else 0


def test_loss_falls_and_a_killed_run_resumes_to_identical_weights(tmp_path):
    data = make_images(tmp_path / "images")
    straight = run_cli(_train_args(data, tmp_path / "straight"), tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = straight.communicate(timeout=600)
    assert straight.returncode == 0, out

    with open(tmp_path / "straight" / "train_log.csv") as f:
        losses = [float(r["loss"]) for r in csv.DictReader(f)]
    assert len(losses) == ITERATIONS
    assert sum(losses[-10:]) / 10 < 0.8 * sum(losses[:10]) / 10

    victim = run_cli(_train_args(data, tmp_path / "killed"), tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while _logged_iterations(tmp_path / "killed") < 25 and time.time() < deadline and victim.poll() is None:
        time.sleep(0.02)
    assert victim.poll() is None, "the run ended before it could be killed"
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    killed_at = _logged_iterations(tmp_path / "killed")
    assert 25 <= killed_at < ITERATIONS
    assert not list((tmp_path / "killed" / "checkpoints").glob("*.tmp"))  # nothing half-written is kept

    resumed = run_cli(_train_args(data, tmp_path / "killed"), tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, out
    assert "resuming from" in out and f"at iteration {killed_at // 10 * 10}" in out

    a = load_file(tmp_path / "straight" / "weights" / "final.safetensors")
    b = load_file(tmp_path / "killed" / "weights" / "final.safetensors")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    ckpt = torch.load(tmp_path / "killed" / "checkpoints" / "last.pt", weights_only=True)
    assert ckpt["iteration"] == ITERATIONS
    assert _logged_iterations(tmp_path / "killed") == ITERATIONS


def test_sigterm_to_the_process_group_saves_a_checkpoint_at_the_current_iteration(tmp_path):
    # With data workers, as real runs use: the signal reaches them too (Ctrl-C, pkill -f, a scheduler).
    data = make_images(tmp_path / "images")
    args = _train_args(data, tmp_path / "run", "train.checkpoint_every=1000", "data.train.workers=1")
    proc = run_cli(args, tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 300
    while _logged_iterations(tmp_path / "run") < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be stopped"
    os.killpg(proc.pid, signal.SIGTERM)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, out  # the shell's convention, as for Ctrl-C's 130
    assert "stopped by signal 15 (SIGTERM)" in out and "checkpoint saved" in out and "Traceback" not in out
    ckpt = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)
    assert 3 <= ckpt["iteration"] < ITERATIONS  # no checkpoint interval was reached: the signal saved it


def test_two_gloo_processes_train_in_sync(tmp_path):
    data = make_images(tmp_path / "images")
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "semanir",
        "train", "tiny_denoise", f"data.train.root={data}", f"output_dir={tmp_path / 'ddp'}", "train.iterations=12",
        "train.checkpoint_every=6", "train.log_every=3", "train.val_every=1000", "--no-progress",
    ]  # fmt: skip
    env = {"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(cmd, cwd=tmp_path, env={**__import__("os").environ, **env}, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ranks in sync: max parameter difference across 2 ranks = 0" in proc.stdout
    assert (tmp_path / "ddp" / "weights" / "final.safetensors").is_file()


def _torchrun(tmp_path, data, out, *overrides, **popen) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "semanir",
        "train", "tiny_denoise", f"data.train.root={data}", f"output_dir={out}", "train.log_every=1",
        "train.val_every=100000", "train.checkpoint_every=100000", *overrides, "--no-progress",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(cmd, cwd=tmp_path, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **popen)


def _children(parent: int) -> dict[int, list[bytes]]:
    """``parent``'s child processes with their environments (Linux /proc)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if ppid == parent:
            found[int(entry)] = env
    return found


def _child_with_rank(parent: int, rank: int) -> int | None:
    return next((pid for pid, env in _children(parent).items() if f"RANK={rank}".encode() in env), None)


def _kill_run(proc: subprocess.Popen) -> None:
    """A run this test failed to stop: torchrun and its workers (each in its own session) go."""
    if proc.poll() is None:
        for pid in _children(proc.pid):
            os.kill(pid, signal.SIGKILL)
        proc.kill()
        proc.wait()


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="finds the rank's process in /proc")
def test_sigterm_to_one_rank_stops_every_rank_at_the_same_iteration_and_resumes(tmp_path):
    data = make_images(tmp_path / "images")
    out = tmp_path / "ddp"
    proc = _torchrun(tmp_path, data, out, "train.iterations=100000", "train.dist_timeout_minutes=77")
    try:
        deadline = time.time() + 120
        while _logged_iterations(out) < 3 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        rank1 = _child_with_rank(proc.pid, 1)
        assert proc.poll() is None and rank1, "the run ended (or rank 1 was not found) before it could be stopped"
        os.kill(rank1, signal.SIGTERM)  # rank 1 only: rank 0 never sees a signal of its own
        text, _ = proc.communicate(timeout=120)  # before the fix: rank 0 went on and both hung
    finally:
        _kill_run(proc)
    assert proc.returncode != 0  # torchrun's own status for failed workers (each exits 128 + 15)
    # The timeout asked for is the one the process group holds (read back from the group).
    assert "2 ranks, collective timeout 77 min" in text, text
    stops = {}
    for cause in (r"signal 15 \(SIGTERM\)", "a signal to another rank"):
        match = re.search(rf"stopped by {cause} at iteration (\d+); checkpoint saved", text)
        assert match, text
        stops[cause] = int(match[1])
    stopped_at = stops[r"signal 15 \(SIGTERM\)"]
    assert stops["a signal to another rank"] == stopped_at and stopped_at >= 3, text
    ckpt = torch.load(out / "checkpoints" / "last.pt", weights_only=True)
    assert ckpt["iteration"] == stopped_at  # saved at the stop: no checkpoint interval was reached
    assert _logged_iterations(out) == stopped_at  # rank 0 logged no iteration past it

    resumed = _torchrun(tmp_path, data, out, f"train.iterations={stopped_at + 2}")
    try:
        text, _ = resumed.communicate(timeout=120)
    finally:
        _kill_run(resumed)
    assert resumed.returncode == 0, text
    assert f"at iteration {stopped_at}" in text and "max parameter difference across 2 ranks = 0" in text
    assert torch.load(out / "checkpoints" / "last.pt", weights_only=True)["iteration"] == stopped_at + 2


@pytest.mark.parametrize("device, backend", [("cpu", "gloo"), ("cuda", "nccl")])
def test_the_process_group_gets_a_timeout_longer_than_nccls_ten_minutes(monkeypatch, device, backend):
    from semanir.training import distributed

    calls = []
    monkeypatch.setattr(distributed.dist, "is_initialized", lambda: False)
    monkeypatch.setattr(distributed.dist, "init_process_group", lambda **kw: calls.append(kw))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "set_device", lambda i: None)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv(distributed.TIMEOUT_ENV, raising=False)
    distributed.init_distributed(device)
    monkeypatch.setenv(distributed.TIMEOUT_ENV, "90")
    distributed.init_distributed(device)
    distributed.init_distributed(device, timeout_minutes=30)  # the config's key wins over the environment
    assert calls == [{"backend": backend, "timeout": timedelta(minutes=m)} for m in (120, 90, 30)]
    monkeypatch.setenv(distributed.TIMEOUT_ENV, "soon")
    with pytest.raises(ValueError, match=distributed.TIMEOUT_ENV):
        distributed.init_distributed(device)


def _tiny_cfg(tmp_path, *overrides):
    data = make_images(tmp_path / "images", count=3)
    return load_config("tiny_denoise", [f"data.train.root={data}", f"output_dir={tmp_path / 'run'}", *overrides])


def test_non_finite_losses_stop_the_run_with_one_clear_line(tmp_path):
    trainer = Trainer(_tiny_cfg(tmp_path, "train.iterations=50", "train.max_bad_steps=3"), progress=False)
    trainer.loss_fn = lambda pred, target: (pred * float("nan")).mean()
    before = [p.detach().clone() for p in trainer.model.parameters()]
    with pytest.raises(TrainingError, match="not finite for 4 consecutive iterations"):
        trainer.fit()
    assert all(torch.equal(a, b) for a, b in zip(before, trainer.model.parameters()))  # no step was taken


def test_a_full_disk_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    trainer = Trainer(_tiny_cfg(tmp_path, "train.iterations=4", "train.checkpoint_every=2"), progress=False)
    trainer.fit()
    ckpt = tmp_path / "run" / "checkpoints" / "last.pt"
    good = ckpt.read_bytes()

    real_save = torch.save

    def full_disk(obj, f, *a, **kw):
        real_save({"partial": torch.zeros(1000)}, f)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    trainer = Trainer(_tiny_cfg(tmp_path, "train.iterations=8", "train.checkpoint_every=2"), progress=False)
    with pytest.raises(TrainingError, match="No space left on device.*previous checkpoint .* is intact"):
        trainer.fit()
    assert ckpt.read_bytes() == good
    assert [p.name for p in ckpt.parent.iterdir()] == ["last.pt"]


def test_a_run_removes_the_temporaries_a_killed_run_left(tmp_path):
    run = tmp_path / "run"
    (run / "weights").mkdir(parents=True)
    (run / "checkpoints").mkdir()
    left = [stale_temporary(run / folder, name)
            for folder, name in (("weights", "last.safetensors"), ("checkpoints", "last.pt"), (".", "config.yaml"))]  # fmt: skip
    Trainer(_tiny_cfg(tmp_path, "train.iterations=1"), progress=False).fit()
    assert not any(path.exists() for path in left)
    assert not list(run.rglob("*.tmp"))


def test_resume_refuses_a_checkpoint_of_another_model(tmp_path):
    Trainer(_tiny_cfg(tmp_path, "train.iterations=2", "train.checkpoint_every=2"), progress=False).fit()
    with pytest.raises(TrainingError, match="was trained with model"):
        Trainer(_tiny_cfg(tmp_path, "train.iterations=4", "model.window_size=4"), progress=False)
    # The same architecture in other words (a default spelled out, a size later registered by
    # name) resumes.
    assert Trainer(_tiny_cfg(tmp_path, "train.iterations=4", "model.ffn=mlp"), progress=False).iteration == 2
    with pytest.raises(TrainingError, match="already holds a run"):
        Trainer(_tiny_cfg(tmp_path, "train.iterations=4"), resume=None, progress=False)


def test_init_weights_starts_a_new_run_from_weights_and_records_their_history(tmp_path, capsys):
    Trainer(_tiny_cfg(tmp_path, "train.iterations=3", "train.checkpoint_every=3"), progress=False).fit()
    start = tmp_path / "run" / "weights" / "final.safetensors"
    tuned = tmp_path / "tuned"
    trainer = Trainer(_tiny_cfg(tmp_path, f"output_dir={tuned}", f"train.init_weights={start}", "train.iterations=2",
                                "train.optimizer.lr=0.0"), progress=False)  # fmt: skip
    assert trainer.iteration == 0
    assert f"starting from {start} (3 iterations in all)" in capsys.readouterr().out
    start_state, own = load_file(start), trainer.model.state_dict()
    assert all(torch.equal(v, own[k]) for k, v in start_state.items())
    trainer.fit()
    meta = read_weights(tuned / "weights" / "final.safetensors")[1]
    summary = json.loads(meta["training"])
    assert summary["iterations"] == 2 and total_iterations(summary) == 3 + 2
    assert summary["init_weights"] == {"weights": str(start), "training": json.loads(read_weights(start)[1]["training"])}
    # lr 0: the tuned weights are the starting ones.
    tuned_state = load_file(tuned / "weights" / "final.safetensors")
    assert start_state.keys() == tuned_state.keys()
    assert all(torch.equal(v, tuned_state[k]) for k, v in start_state.items())
    # A resumed fine-tuning run keeps the record; a model that does not fit is refused in one line.
    resumed = Trainer(_tiny_cfg(tmp_path, f"output_dir={tuned}", "train.iterations=3"), progress=False)
    assert resumed.init_summary["weights"] == str(start)
    third = tuned / "weights" / "final.safetensors"
    capsys.readouterr()
    Trainer(_tiny_cfg(tmp_path, f"output_dir={tmp_path / 'third'}", f"train.init_weights={third}"), progress=False)
    assert f"starting from {third} (5 iterations in all)" in capsys.readouterr().out
    with pytest.raises(TrainingError, match=r"^train.init_weights: .* does not fit .*shape mismatch"):
        Trainer(_tiny_cfg(tmp_path, f"output_dir={tmp_path / 'other'}", f"train.init_weights={start}", "model.dims=[16, 32, 64, 128]"),
                progress=False)  # fmt: skip


def test_train_takes_options_and_overrides_in_any_order(tmp_path, capsys):
    from semanir.cli import main

    data, run = make_images(tmp_path / "images", count=3), tmp_path / "run"
    # Overrides on both sides of an option: argparse alone took one run of them only.
    assert main(["train", "tiny_denoise", f"data.train.root={data}", "--no-progress", f"output_dir={run}",
                 "train.iterations=2", "train.checkpoint_every=2"]) == 0  # fmt: skip
    assert torch.load(run / "checkpoints" / "last.pt", weights_only=True)["iteration"] == 2
    # A bare --resume: the override after it is an override, not the checkpoint's path.
    assert main(["train", "tiny_denoise", "--resume", f"data.train.root={data}", f"output_dir={run}",
                 "train.iterations=3", "--no-progress"]) == 0  # fmt: skip
    assert f"resuming from {run / 'checkpoints' / 'last.pt'} at iteration 2" in capsys.readouterr().out
    assert torch.load(run / "checkpoints" / "last.pt", weights_only=True)["iteration"] == 3


def test_train_arguments_keep_their_meaning_wherever_they_stand(tmp_path, monkeypatch, capsys):
    import semanir.training.engine as engine
    from semanir.cli import main

    seen = {}

    class Recorder:
        def __init__(self, cfg, resume, progress):
            seen.update(iterations=cfg["train"]["iterations"], resume=resume, progress=progress)

        def fit(self):
            return {}

    monkeypatch.setattr(engine, "Trainer", Recorder)
    base = ["train", "tiny_denoise"]
    assert main([*base, "train.iterations=5", "--resume", "train.iterations=7"]) == 0
    assert seen == {"iterations": 7, "resume": "required", "progress": True}  # the last one given wins
    assert main([*base, "--resume", "runs/x/last.pt", "train.iterations=8", "--no-progress"]) == 0
    assert seen == {"iterations": 8, "resume": "runs/x/last.pt", "progress": False}
    assert main([*base, "--resume", "./a=b.pt"]) == 0  # a path that looks like an override, made explicit
    assert seen["resume"] == "./a=b.pt"
    assert main([*base, "--no-progress", "train.iterations=9"]) == 0 and seen["iterations"] == 9
    with pytest.raises(SystemExit) as exit_info:
        main([*base, "train.iterations=5", "--no-progress", "junk"])
    assert exit_info.value.code == 2 and "unrecognized arguments: junk" in capsys.readouterr().err


def test_ctrl_c_stops_training_with_a_checkpoint_and_exit_130(tmp_path, monkeypatch, capsys):
    from semanir.cli import main

    real_step = Trainer.step

    def step_then_ctrl_c(self, inp, target):
        if self.iteration == 2:
            signal.raise_signal(signal.SIGINT)  # as a Ctrl-C would, through the trainer's handler
        return real_step(self, inp, target)

    monkeypatch.setattr(Trainer, "step", step_then_ctrl_c)
    data, run = make_images(tmp_path / "images", count=3), tmp_path / "run"
    before = signal.getsignal(signal.SIGINT)
    assert main(["train", "tiny_denoise", f"data.train.root={data}", f"output_dir={run}", "--no-progress"]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["semanir: stopped by signal 2 (SIGINT) at iteration 3; checkpoint saved, run the same command again to resume"]
    assert torch.load(run / "checkpoints" / "last.pt", weights_only=True)["iteration"] == 3
    assert signal.getsignal(signal.SIGINT) is before  # the caller's Ctrl-C works again


def test_a_bad_override_value_names_its_key_and_type(tmp_path, capsys):
    from semanir.cli import main

    data = make_images(tmp_path / "images", count=3)
    base = ["train", "tiny_denoise", f"data.train.root={data}", f"output_dir={tmp_path / 'run'}", "--no-progress"]
    assert main([*base, "train.iterations=abc"]) == 2
    assert capsys.readouterr().err.strip() == "semanir: error: train.iterations must be an integer, got 'abc'"
    assert not (tmp_path / "run").exists()  # refused before anything was written
    with pytest.raises(ConfigError, match=r"^train.optimizer.lr must be a number, got 'fast'$"):
        load_config("tiny_denoise", ["train.optimizer.lr=fast"])
    with pytest.raises(ConfigError, match=r"^train.milestones\[1\] must be an integer, got 'x'$"):
        load_config("tiny_denoise", ["train.milestones=[10, x]"])
    with pytest.raises(ConfigError, match=r"^data.train.cache must be true or false, got 'maybe'$"):
        load_config("tiny_denoise", ["data.train.cache=maybe"])
    with pytest.raises(ConfigError, match=r"^train.amp must be a string, got False \(YAML reads off"):
        load_config("tiny_denoise", ["train.amp=off"])
    assert load_config("tiny_denoise", ["train.iterations=1e5"])["train"]["iterations"] == 100_000
    assert load_config("tiny_denoise", ["train.topk_choices=null"])["train"]["topk_choices"] is None
    with pytest.raises(ValueError, match="semanir_unet_color option topk must be an integer, got 'abc'"):
        Trainer(_tiny_cfg(tmp_path, "model.topk=abc"), progress=False)


def test_random_k_is_a_function_of_seed_and_iteration():
    choices = [64, 128, 192, 256, 384, 512]
    seq = [topk_for_iteration(choices, 0, t) for t in range(200)]
    assert seq == [topk_for_iteration(choices, 0, t) for t in range(200)]
    assert set(seq) == set(choices)
    assert seq != [topk_for_iteration(choices, 1, t) for t in range(200)]
    assert topk_for_iteration(None, 0, 5) is None


def test_the_trainer_alone_draws_k_and_records_its_choices_under_training(tmp_path):
    trainer = Trainer(_tiny_cfg(tmp_path, "train.iterations=6", "train.checkpoint_every=6", "train.seed=3"), progress=False)
    passed = []
    forward = trainer.model.forward
    trainer.model.forward = lambda x, topk=None: passed.append(topk) or forward(x, topk)
    trainer.fit()
    assert passed == [topk_for_iteration([8, 16, 32], 3, t) for t in range(6)]
    meta = read_weights(tmp_path / "run" / "weights" / "final.safetensors")[1]
    assert "topk_choices" not in json.loads(meta["model_config"])  # the model has no say in it
    assert json.loads(meta["training"])["topk_choices"] == [8, 16, 32]
    # null: the paper's fixed-k baseline, every iteration at the model's own topk.
    fixed = Trainer(_tiny_cfg(tmp_path, f"output_dir={tmp_path / 'fixed'}", "train.topk_choices=null"), progress=False)
    assert [topk_for_iteration(fixed.topk_choices, 0, t) for t in range(3)] == [None] * 3


@pytest.mark.parametrize("choices", ["[]", "[0, 8]", "[8, -1]"])
def test_bad_topk_choices_are_refused_in_one_line(tmp_path, capsys, choices):
    from semanir.cli import main

    data = make_images(tmp_path / "images", count=3)
    args = ["train", "tiny_denoise", f"data.train.root={data}", f"output_dir={tmp_path / 'run'}", "--no-progress"]
    assert main([*args, f"train.topk_choices={choices}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("semanir: error: train.topk_choices must be null (the model's fixed topk) or positive integers")
    assert "\n" not in err and not (tmp_path / "run").exists()


def test_learning_rate_halves_at_the_milestones():
    cfg = load_config("denoise_color_s25")["train"]
    assert learning_rate(cfg, 0) == 2e-4
    assert learning_rate(cfg, 499_999) == 2e-4
    assert learning_rate(cfg, 500_000) == 1e-4
    assert learning_rate(cfg, 950_000) == pytest.approx(2e-4 / 16)


def test_numbers_in_exponent_form_are_floats(tmp_path):
    # PyYAML's YAML 1.1 rules read "5e-5" as a string; the optimizer would then fail with a traceback.
    path = tmp_path / "run.yaml"
    path.write_text("base: tiny_denoise\ntrain:\n  optimizer: {lr: 3e-4}\n")
    cfg = load_config(path, ["train.optimizer.lr=5e-5", "train.ema_decay=1E-3"])
    assert cfg["train"]["optimizer"]["lr"] == 5e-5 and cfg["train"]["ema_decay"] == 1e-3
    assert load_config(path)["train"]["optimizer"]["lr"] == 3e-4
    assert load_config(path, ["name=12e"])["name"] == "12e"  # not a number: stays a string


def test_config_errors_are_one_line():
    with pytest.raises(ConfigError, match="unknown config key 'train.iteratons'"):
        load_config("tiny_denoise", ["train.iteratons=5"])
    with pytest.raises(ConfigError, match="no shipped config of that name"):
        load_config("no_such_config")
    with pytest.raises(ConfigError, match="data.train.root is not set"):
        from semanir.training.data_setup import build_datasets

        build_datasets(load_config("tiny_denoise"))


def test_every_shipped_config_loads():
    from semanir.config import shipped_configs

    names = shipped_configs()
    assert {"denoise_color_blind", "jpeg_gray_q10", "sr_b_x3", "demosaic", "deblur_gopro", "weather_allweather"} <= set(names)
    assert not [n for n in names if n.startswith("shipped_")]  # run records live in docs/training-records/
    for name in names:
        cfg = load_config(name)
        assert cfg["model"]["name"] and cfg["task"]


def test_every_training_record_of_the_shipped_weights_loads_with_its_registered_model():
    from semanir import model_entry

    records = sorted(TRAINING_RECORDS.glob("*.yaml"))
    # Every record is in the folder's table of which preset it trained, and nothing else is.
    table = (TRAINING_RECORDS / "README.md").read_text()
    assert {p.stem for p in records} == set(re.findall(r"`(shipped_[a-z0-9_]+)`", table))
    for path in records:
        cfg = load_config(path)
        # The records name the shipped sizes by their registered names, not by repeating them.
        assert set(cfg["model"]) == {"name"}, path
        model_entry(cfg["model"]["name"])  # registered
        assert cfg["task"] and cfg["train"]["topk_choices"] == [16, 32, 48, 64, 96, 128]
    # A record's base is the record of that name beside it, as when they were package configs.
    assert load_config(TRAINING_RECORDS / "shipped_denoise_color_slice4.yaml")["data"]["train"]["patch_size"] == 96
    assert load_config(TRAINING_RECORDS / "shipped_jpeg_color.yaml")["train"]["grad_clip"] == 0.5


def test_a_training_record_runs_again_by_its_path(tmp_path, capsys):
    from semanir.cli import main

    data = make_images(tmp_path / "images", count=2)
    record = TRAINING_RECORDS / "shipped_jpeg_color.yaml"  # builds on shipped_denoise_color, starts from "denoise"
    args = ["train", str(record), f"data.train.root={data}", "data.val.root=null", f"output_dir={tmp_path / 'run'}",
            "train.iterations=1", "data.train.patch_size=32", "data.train.batch_size=1", "data.train.workers=0"]  # fmt: skip
    assert main([*args, "--no-progress"]) == 0
    assert "starting from" in capsys.readouterr().out
    meta = read_weights(tmp_path / "run" / "weights" / "final.safetensors")[1]
    assert meta["model_name"] == "semanir_unet_color_light" and json.loads(meta["training"])["config"] == "shipped_jpeg_color"


def test_a_base_beside_the_config_comes_before_a_shipped_one(tmp_path):
    (tmp_path / "tiny_denoise.yaml").write_text("base: tiny_sr\nname: local\n")
    (tmp_path / "mine.yaml").write_text("base: tiny_denoise\n")
    assert load_config(tmp_path / "mine.yaml")["task"] == "sr"  # the local tiny_denoise, built on the package's tiny_sr
    (tmp_path / "loop.yaml").write_text("base: loop\n")
    with pytest.raises(ConfigError, match="inherits from itself"):
        load_config(tmp_path / "loop.yaml")


def test_validation_and_logs(tmp_path):
    cfg = _tiny_cfg(tmp_path, "train.iterations=4", "train.val_every=2", "train.log_every=2")
    cfg["data"]["val"].update(root=cfg["data"]["train"]["root"], limit=2)
    Trainer(cfg, progress=False).fit()
    run = tmp_path / "run"
    with open(run / "val_log.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["iteration"] for r in rows] == ["2", "4"] and all(0 < float(r["psnr"]) < 100 for r in rows)
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))
    assert (run / "config.yaml").is_file() and (run / "weights" / "final.safetensors").is_file()


def test_val_every_0_validates_at_the_end_only(tmp_path):
    cfg = _tiny_cfg(tmp_path, "train.iterations=3", "train.val_every=0")
    cfg["data"]["val"].update(root=cfg["data"]["train"]["root"], limit=1)
    Trainer(cfg, progress=False).fit()
    with open(tmp_path / "run" / "val_log.csv") as f:
        assert [r["iteration"] for r in csv.DictReader(f)] == ["3"]


def test_losses_by_name_match_their_definitions():
    from semanir.training.losses import build_loss

    pred, target = torch.tensor([0.0, 0.5, 1.0]), torch.tensor([0.25, 0.5, 0.0])
    assert float(build_loss({"loss": "l1"})(pred, target)) == pytest.approx((0.25 + 0 + 1) / 3)
    assert float(build_loss({"loss": "mse"})(pred, target)) == pytest.approx((0.0625 + 0 + 1) / 3)
    assert float(build_loss({"loss": "charbonnier"})(pred, target)) == pytest.approx(
        sum((d * d + 1e-6) ** 0.5 for d in (0.25, 0.0, 1.0)) / 3
    )
    with pytest.raises(ValueError, match="unknown loss 'l3'; choose l1, charbonnier, mse"):
        build_loss({"loss": "l3"})


def test_init_weights_fits_a_color_model_to_its_gray_twin(tmp_path, capsys):
    from tests.conftest import tiny_model

    color = tiny_model("semanir_unet_color").eval()
    start = save_weights(color, tmp_path / "color.safetensors", task="denoise")
    trainer = Trainer(_tiny_cfg(tmp_path, "model.name=semanir_unet_gray", "data.train.channels=1",
                                f"train.init_weights={start}"), progress=False)  # fmt: skip
    assert "summed over RGB" in capsys.readouterr().out
    gray = trainer.model.eval()
    x = torch.rand(1, 1, 16, 16)
    with torch.no_grad():  # k = 64 = every key of an 8x8 window: no top-k ties can differ
        expected = color(x.expand(1, 3, 16, 16), topk=64).mean(1, keepdim=True)
        assert torch.allclose(gray(x, topk=64), expected, atol=1e-5)


def test_init_weights_fits_an_sr_model_to_another_scale(tmp_path):
    from semanir.weights import adapt_to_sibling, load_state_dict_checked
    from tests.conftest import tiny_model

    x4 = tiny_model("semanir_light_sr_x4")
    x3 = tiny_model("semanir_light_sr_x4", upscale=3)
    path = save_weights(x4, tmp_path / "x4.safetensors", task="sr")
    state, raw = read_weights(path)
    fitted, notes = adapt_to_sibling(x3, state, decoded_metadata(raw))
    load_state_dict_checked(x3, fitted, "x4")
    body = [k for k in x4.state_dict() if not k.startswith("reconstruct.")]
    assert body and all(torch.equal(x3.state_dict()[k], x4.state_dict()[k]) for k in body)
    assert notes and all("reconstruct." in n and "starts fresh" in n for n in notes)
    # A model of another width is no sibling: refused, not half loaded.
    with pytest.raises(WeightsError, match="shape mismatch"):
        other = tiny_model("semanir_light_sr_x4", embed_dim=24)
        load_state_dict_checked(other, adapt_to_sibling(other, state, decoded_metadata(raw))[0], "x4")
