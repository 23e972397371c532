"""Run folders, --resume of the latest run, --evaluate, the real fast dev run, group choices.

One small digits CNN project (real data from scikit-learn, no download) serves every test.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from tests.test_generated_project import assert_ok, run_in, write_project
from tests.test_render import digits_cnn_spec

QUIET = ["training.progress_bar=false", "training.log_every_steps=1000"]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(digits_cnn_spec(), tmp_path_factory.mktemp("run_folders"))


def _train(project: Path, output_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "train.py",
        "--config-name",
        "debug",
        f"output_dir={output_dir}",
        *QUIET,
        *extra,
    ]


def _runs(output_dir: Path) -> list[Path]:
    return sorted(path for path in output_dir.iterdir() if path.is_dir())


@pytest.mark.slow
def test_each_run_has_its_folder_and_resume_takes_the_latest(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "outputs"
    assert_ok(run_in(project, _train(project, out, "training.epochs=1")))
    assert_ok(run_in(project, _train(project, out, "training.epochs=1")))
    first, second = _runs(out)
    for run in (first, second):
        assert list((run / "checkpoints").glob("step_*.pt")), run
        assert (run / "config.yaml").is_file() and (run / "metrics.json").is_file()
    first_files = sorted(p.name for p in (first / "checkpoints").iterdir())

    resumed = run_in(project, [*_train(project, out, "training.epochs=2"), "--resume"])
    assert_ok(resumed)
    last = sorted((second / "checkpoints").glob("step_*.pt"))[-1]
    assert f"resuming run {second.name} ({second})" in resumed.stdout
    assert _runs(out) == [first, second], "a resumed run continues in its own folder"
    assert torch.load(last, weights_only=True)["epoch"] == 2
    assert sorted(p.name for p in (first / "checkpoints").iterdir()) == first_files

    # A run name that already holds checkpoints is refused instead of being overwritten.
    named = _train(project, out, "training.epochs=1", "training.run_name=fixed")
    assert_ok(run_in(project, named))
    again = run_in(project, named)
    assert again.returncode == 2 and "--resume" in again.stderr


@pytest.mark.slow
def test_evaluate_and_final_test_use_the_best_checkpoint(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "outputs"
    assert_ok(run_in(project, _train(project, out, "training.epochs=2")))
    (run,) = _runs(out)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test_weights"] == "best.pt"
    assert metrics["best_checkpoint"].endswith("checkpoints/best.pt")
    assert set(metrics["test"]) >= {"loss", "top1"}

    # The default config (real digits data) is not used: the checkpoint's config is.
    best = run / "checkpoints" / "best.pt"
    evaluated = run_in(project, [sys.executable, "train.py", "--evaluate", str(best)])
    assert_ok(evaluated)
    report = json.loads((run / "checkpoints" / "best.eval.json").read_text())
    assert report["split"] == "test"
    assert report["metrics"]["top1"] == pytest.approx(metrics["test"]["top1"])
    assert report["metrics"]["loss"] == pytest.approx(metrics["test"]["loss"], rel=1e-5)

    on_val = run_in(project, [sys.executable, "train.py", "--evaluate", str(run), "--split", "val"])
    assert_ok(on_val)
    assert on_val.stdout.startswith("val (")


@pytest.mark.slow
def test_resume_with_another_batch_size_is_refused(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "outputs"
    assert_ok(run_in(project, _train(project, out, "training.epochs=1")))
    changed = run_in(
        project, [*_train(project, out, "training.epochs=2", "training.batch_size=4"), "--resume"]
    )
    assert changed.returncode == 2, changed.stderr[-2000:]
    assert "training.batch_size=4 (checkpoint: 8)" in changed.stderr
    new_lr = run_in(
        project, [*_train(project, out, "training.epochs=2", "training.lr=0.5"), "--resume"]
    )
    assert_ok(new_lr)
    assert "training.lr=0.5 is not applied" in new_lr.stderr


@pytest.mark.slow
def test_group_choice_overrides_like_hydra(project: Path, tmp_path: Path) -> None:
    shown = run_in(
        project, [sys.executable, "train.py", "data=debug", "model=debug", "--cfg", "job"]
    )
    assert_ok(shown)
    assert "source: synthetic" in shown.stdout
    trained = run_in(
        project,
        [
            sys.executable,
            "train.py",
            "data=debug",
            "model=debug",
            "training=debug",
            "training.epochs=1",
            f"output_dir={tmp_path / 'out'}",
            *QUIET,
        ],
    )
    assert_ok(trained)
    unknown = run_in(project, [sys.executable, "train.py", "data=nope", "--cfg", "job"])
    assert unknown.returncode == 2 and "has no option 'nope'" in unknown.stderr


@pytest.mark.slow
def test_fast_dev_run_uses_the_real_model_and_data(project: Path) -> None:
    fast = run_in(project, [sys.executable, "train.py", "--fast-dev-run", "training.device=cpu"])
    assert_ok(fast)
    assert "fast dev run: real path (cnn, batch 2 on cpu, one real batch of digits" in fast.stdout
    assert "fast dev run passed" in fast.stdout
    huge = run_in(
        project,
        [
            sys.executable,
            "train.py",
            "--fast-dev-run",
            "training.device=cpu",
            "model.hidden_dims=[300000,300000]",
        ],
    )
    assert huge.returncode == 2, huge.stderr[-2000:]
    assert "--fast-dev-run --config-name debug" in huge.stderr
