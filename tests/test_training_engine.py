"""The generated training engine under real conditions: SIGKILL + resume, torchrun, real data."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.factories import make_spec
from tests.test_generated_project import assert_ok, project_env, run_in, write_project
from tests.test_render import digits_cnn_spec

KILL_AFTER_STEP = 10
RESUME_OVERRIDES = [
    "data.synthetic_train_size=320",
    "data.synthetic_eval_size=16",
    "training.batch_size=8",
    "training.epochs=2",
    "training.checkpoint_every_steps=5",
    "training.keep_last_checkpoints=100",
    "training.progress_bar=false",
    "training.log_every_steps=1000",
]


def _cnn_spec() -> object:
    return make_spec(name="resume_cnn", model={"family": "cnn", "channels": [8, 16]})


def _final_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    """The weights of the last step checkpoint of a run folder."""
    checkpoints = sorted((run_dir / "checkpoints").glob("step_*.pt"))
    state = torch.load(checkpoints[-1], map_location="cpu", weights_only=True)
    return state["model"]


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_matches_uninterrupted_run(tmp_path: Path) -> None:
    root = write_project(_cnn_spec(), tmp_path)  # type: ignore[arg-type]
    train = [sys.executable, "train.py", "--config-name", "debug", *RESUME_OVERRIDES]
    # Each run writes into <output_dir>/<run_name>/; --resume finds the latest run.
    full_dir, killed_dir = tmp_path / "full" / "run", tmp_path / "killed" / "run"
    assert_ok(run_in(root, [*train, f"output_dir={full_dir.parent}", "training.run_name=run"]))

    process = subprocess.Popen(
        [*train, f"output_dir={killed_dir.parent}", "training.run_name=run"],
        cwd=root,
        env=project_env(root),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    marker = killed_dir / "checkpoints" / f"step_{KILL_AFTER_STEP:08d}.pt"
    deadline = time.monotonic() + 120
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL, "the run finished before it was killed"

    latest = sorted((killed_dir / "checkpoints").glob("step_*.pt"))[-1]
    state = torch.load(latest, map_location="cpu", weights_only=True)
    steps_per_epoch = 320 // 8
    assert 0 < state["batch_in_epoch"] < steps_per_epoch, "the kill should land mid-epoch"
    assert state["global_step"] < 2 * steps_per_epoch

    resumed = run_in(root, [*train, f"output_dir={killed_dir.parent}", "--resume"])
    assert_ok(resumed)
    assert f"resuming run run ({killed_dir}) from checkpoint {latest.name}" in resumed.stdout
    assert f"resumed from {latest}" in resumed.stderr
    expected, actual = _final_weights(full_dir), _final_weights(killed_dir)
    assert expected.keys() == actual.keys()
    for name, tensor in expected.items():
        assert torch.equal(tensor, actual[name]), f"{name} differs after SIGKILL + resume"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_torchrun_two_cpu_ranks_checkpoint_once_per_interval(tmp_path: Path) -> None:
    root = write_project(_cnn_spec(), tmp_path)  # type: ignore[arg-type]
    output_dir = tmp_path / "ddp"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--master_addr=127.0.0.1",
        f"--master_port={_free_port()}",
        "train.py",
        "--config-name",
        "debug",
        "training.distributed=ddp",
        "training.device=cpu",
        "training.checkpoint_every_steps=2",
        "training.keep_last_checkpoints=100",
        f"output_dir={output_dir}",
    ]
    result = run_in(root, command, timeout=240)
    assert_ok(result)
    # Rank 0 names the run folder (a timestamp) and both ranks use it: exactly one folder.
    (run_dir,) = output_dir.iterdir()
    # 64 synthetic samples over 2 ranks, batch 8: 4 steps per epoch, 2 epochs.
    names = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert names == [
        "best.pt",
        "step_00000002.pt",
        "step_00000004.pt",
        "step_00000006.pt",
        "step_00000008.pt",
    ]
    saved = re.findall(r"saved checkpoint \S+/(step_\d+\.pt)", result.stderr)
    assert sorted(saved) == names[1:], "each interval is written exactly once, by rank 0"
    assert "world_size=2" in result.stderr


OPTIONS_SCRIPT = """
import sys, tempfile
import torch
from {package}.config import load_config
from {package}.models import build_model
from {package}.task import build_task
from {package}.trainers.trainer import Trainer
from {package}.utils.distributed import init_distributed

for overrides in {combos!r}:
    with tempfile.TemporaryDirectory() as out:
        cfg = load_config("debug", [*overrides, f"output_dir={{out}}"])
        torch.manual_seed(0)
        trainer = Trainer(cfg, build_task(cfg), build_model(cfg.model), init_distributed("cpu"))
        result = trainer.fit()
        again = Trainer(cfg, build_task(cfg), build_model(cfg.model), init_distributed("cpu"))
        again.resume(result.last_checkpoint)
        assert again.state.global_step == result.state.global_step
        assert result.test_metrics and all(v == v for v in result.test_metrics.values())
        print("OK", overrides, result.stop_reason, result.state.global_step, flush=True)
"""
OPTION_COMBOS = [
    ["training.precision=bf16", "training.ema=true", "training.ema_decay=0.9"],
    ["training.precision=fp16", "training.scheduler=onecycle"],
    ["training.mixup_alpha=0.2", "training.cutmix_alpha=1.0", "training.label_smoothing=0.1"],
    ["training.scheduler=step", "training.step_size=1", "training.optimizer=sgd"],
    [
        "training.scheduler=plateau",
        "training.optimizer=adam",
        "training.epochs=4",
        "training.early_stopping_patience=1",
    ],
    ["training.scheduler=none", "training.grad_accum_steps=3", "training.grad_clip=null"],
    ["training.gradient_checkpointing=true", "training.num_workers=2"],
    [
        "training.channels_last=true",
        "training.lr_reference_batch=64",
        "training.nonfinite_check_every_steps=3",
        "training.log_every_steps=2",
        "training.grad_accum_steps=2",
    ],
]


@pytest.mark.slow
def test_engine_options_train_and_resume(tmp_path: Path) -> None:
    spec = make_spec()
    root = write_project(spec, tmp_path)
    script = OPTIONS_SCRIPT.format(package=spec.name, combos=OPTION_COMBOS)
    result = run_in(root, [sys.executable, "-c", script])
    assert_ok(result)
    assert result.stdout.count("OK ") == len(OPTION_COMBOS)
    assert "early_stopping" in result.stdout


@pytest.mark.slow
def test_small_cnn_learns_sklearn_digits(tmp_path: Path) -> None:
    root = write_project(digits_cnn_spec(), tmp_path)
    started = time.monotonic()
    result = run_in(root, [sys.executable, "train.py", "training.progress_bar=false"])
    elapsed = time.monotonic() - started
    assert_ok(result)
    match = re.search(r"test: loss=\S+ top1=([0-9.]+)", result.stderr)
    assert match, result.stderr[-2000:]
    accuracy = float(match.group(1))
    print(f"digits test accuracy {accuracy:.4f} in {elapsed:.1f}s")
    assert accuracy >= 0.95


def _torchrun(
    root: Path, *overrides: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--master_addr=127.0.0.1",
        f"--master_port={_free_port()}",
        "train.py",
        "--config-name",
        "debug",
        "training.device=cpu",
        "training.progress_bar=false",
        *overrides,
    ]
    return run_in(root, command, timeout=timeout)


@pytest.mark.slow
def test_fsdp_two_cpu_ranks_match_ddp_and_resume(tmp_path: Path) -> None:
    """FSDP2 on gloo: same weights as DDP, full checkpoints, resume only under FSDP."""
    root = write_project(make_spec(name="fsdp_vit"), tmp_path)
    common = ("training.max_steps=4", "training.checkpoint_every_steps=2")
    sharded = _torchrun(
        root, "training.distributed=fsdp", f"output_dir={tmp_path / 'fsdp'}", *common
    )
    assert_ok(sharded)
    assert "parallel=fsdp (2 units + root)" in sharded.stderr  # the two ViT blocks
    plain = _torchrun(root, "training.distributed=ddp", f"output_dir={tmp_path / 'ddp'}", *common)
    assert_ok(plain)
    (fsdp_run,) = (tmp_path / "fsdp").iterdir()
    (ddp_run,) = (tmp_path / "ddp").iterdir()
    state = torch.load(fsdp_run / "checkpoints" / "step_00000004.pt", weights_only=True)
    assert state["optimizer_layout"] == "by_name"
    reference = _final_weights(ddp_run)
    # Full, unsharded tensors under the plain module's names: they load anywhere.
    assert state["model"].keys() == reference.keys()
    for name, tensor in reference.items():
        assert state["model"][name].shape == tensor.shape
        torch.testing.assert_close(state["model"][name], tensor, atol=1e-5, rtol=1e-4)

    # Resume the FSDP run from step 2: it reaches the same step-4 weights.
    (fsdp_run / "checkpoints" / "step_00000004.pt").unlink()
    resumed = _torchrun(
        root, "training.distributed=fsdp", f"output_dir={tmp_path / 'fsdp'}", *common, "--resume"
    )
    assert_ok(resumed)
    assert "from checkpoint step_00000002.pt" in resumed.stdout + resumed.stderr
    again = _final_weights(fsdp_run)
    for name, tensor in state["model"].items():
        torch.testing.assert_close(again[name], tensor, atol=1e-6, rtol=1e-5)

    # DDP cannot take the sharded run's optimizer state: a clear error, non-zero exit.
    crossed = _torchrun(
        root, "training.distributed=ddp", f"output_dir={tmp_path / 'fsdp'}", *common, "--resume"
    )
    assert crossed.returncode != 0
    assert "its optimizer state was written by an FSDP run" in crossed.stderr
