"""End to end: a rendered project passes its own checks (style, types, tests, fast dev run)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from dlgen.render import render
from dlgen.spec import Spec
from tests.factories import make_spec

BIN = Path(sys.executable).parent


def write_project(spec: Spec, destination: Path) -> Path:
    """Render a Spec and write its files under ``destination/<name>``."""
    root = destination / spec.name
    for path, text in render(spec).items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def project_env(root: Path) -> dict[str, str]:
    """The environment a project's commands run with: its src/ importable, one thread."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root / "src")
    env["OMP_NUM_THREADS"] = "1"
    env["MKL_NUM_THREADS"] = "1"
    env.pop("WORLD_SIZE", None)
    env.pop("RANK", None)
    return env


def run_in(
    root: Path, command: Sequence[str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run a command in the project folder and return its completed process."""
    return subprocess.run(
        list(command),
        cwd=root,
        env=project_env(root),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    """Fail with the command's output when it did not succeed."""
    assert result.returncode == 0, (
        f"{' '.join(result.args)} exited {result.returncode}\n"
        f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
    )


@pytest.mark.slow
def test_vit_project_passes_its_own_checks(tmp_path: Path) -> None:
    root = write_project(make_spec(), tmp_path)
    assert_ok(run_in(root, [str(BIN / "ruff"), "check", "."]))
    assert_ok(run_in(root, [str(BIN / "black"), "--check", "--quiet", "."]))
    assert_ok(run_in(root, [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]))
    fast = run_in(root, [sys.executable, "train.py", "--fast-dev-run"])
    assert_ok(fast)
    assert "fast dev run passed" in fast.stdout


@pytest.mark.slow
def test_cnn_project_is_type_clean_and_tested(tmp_path: Path) -> None:
    spec = make_spec(
        name="small_cnn",
        model={"family": "cnn", "channels": [8, 16], "hidden_dims": [16]},
        language="zh",
    )
    root = write_project(spec, tmp_path)
    mypy = [sys.executable, "-m", "mypy", "src", "train.py", "inference.py", "tests"]
    assert_ok(run_in(root, mypy))
    assert_ok(run_in(root, [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]))


@pytest.mark.slow
def test_train_then_infer_from_checkpoint(tmp_path: Path) -> None:
    root = write_project(make_spec(), tmp_path)
    overrides = ["training.epochs=1", "training.progress_bar=false", "training.tensorboard=false"]
    assert_ok(run_in(root, [sys.executable, "train.py", "--config-name", "debug", *overrides]))
    (best,) = (root / "outputs/debug").glob("*/checkpoints/best.pt")
    predicted = run_in(root, [sys.executable, "inference.py", str(best), "--device", "cpu"])
    assert_ok(predicted)
    assert predicted.stdout.count("synthetic[") == 2
    # The config comes from the checkpoint: no --config-name needed for a debug run's.
    evaluated = run_in(root, [sys.executable, "train.py", "--evaluate", str(best)])
    assert_ok(evaluated)
    assert "top1=" in evaluated.stdout
    assert (best.parent / "best.eval.json").is_file()
    typo = run_in(root, [sys.executable, "train.py", "training.lrr=1"])
    assert typo.returncode == 2 and "training.lrr" in typo.stderr


def test_configs_compose_identically_with_hydra(tmp_path: Path) -> None:
    hydra = pytest.importorskip("hydra")
    import importlib.util

    from omegaconf import OmegaConf

    root = write_project(make_spec(), tmp_path)
    location = root / "src/tiny_vit/config.py"
    module_spec = importlib.util.spec_from_file_location("generated_config", location)
    assert module_spec is not None and module_spec.loader is not None
    generated = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(generated)
    cases = [
        ("config", ["training.lr=0.01", "data.download=true"]),
        ("debug", ["training.lr=0.01", "data.download=true"]),
        ("config", ["data=debug", "model=debug", "training.lr=0.01"]),
        ("debug", ["training=default", "training.epochs=3"]),
    ]
    for name, overrides in cases:
        with hydra.initialize_config_dir(config_dir=str(root / "configs"), version_base="1.3"):
            expected = hydra.compose(config_name=name, overrides=overrides)
        ours = generated.load_config(name, overrides, root / "configs")
        assert OmegaConf.to_container(ours, resolve=True) == OmegaConf.to_container(
            expected, resolve=True
        ), (name, overrides)
