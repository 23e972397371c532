"""Every command a generated README shows runs, on the debug preset, for one project per task.

The project of each task is its default family (or the first family that generates it)
on the task's default dataset, with no data on disk: every data source falls back to its
offline one, as the README promises. The commands run in the README's order, because
later ones use what earlier ones wrote (the ``baseline`` run, its ``best.pt``).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
from omegaconf import DictConfig, OmegaConf
from PIL import Image

from dlgen import catalog
from dlgen.agent.offline.analyzer import analyze_choice
from dlgen.catalog.base import TaskEntry
from dlgen.spec.common import Modality
from tests.readme_commands import DebugRunner, readme_commands, write_table_rows
from tests.test_generated_project import BIN, assert_ok, run_in, write_project

RUN_NAME = "baseline"
FOLDER_SIZE = 3
GENERATING_TASKS = [task for task in catalog.all_tasks() if task.template is not None]


def _family(task: TaskEntry) -> str:
    generating = [f.key for f in catalog.all_families() if f.template and task.key in f.tasks]
    return task.default_family if task.default_family in generating else generating[0]


def _write_input(path: Path, cfg: DictConfig, index: int) -> None:
    """Write one input file of the kind ``path``'s suffix names, shaped for ``cfg``."""
    data = cfg.data
    rng = np.random.default_rng(index)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".png":
        pixels = rng.integers(0, 256, (data.image_size, data.image_size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(path)
    elif path.suffix == ".npy" and cfg.task == "operator_learning":
        grid = [data.resolution] * data.dims
        np.save(path, rng.standard_normal((data.in_channels, *grid)).astype(np.float32))
    elif path.suffix == ".npy":
        shape = (data.channels, data.sequence_length)
        np.save(path, rng.standard_normal(shape).astype(np.float32))
    elif path.suffix == ".csv" and "preprocessing" in data:
        write_table_rows(path, data, 4, index)
    elif path.suffix == ".csv":
        columns = list(data.columns or [f"x{i}" for i in range(data.num_features)])
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            writer.writerows(rng.standard_normal((data.input_length, len(columns))).tolist())
    elif path.suffix == ".txt":
        path.write_text(f"review {index}: a moving, wonderful film", encoding="utf-8")
    else:
        raise AssertionError(f"no test writes {path.suffix} inputs: add it here")


def _example_writer(root: Path, package: str, task: TaskEntry, modality: Modality):
    """The stand-in for ``path/to/<name>``: a file, or a folder of files like the first."""
    first = Path(task.inference_example(modality))
    folder_suffix = first.suffix or ".txt"

    def example(name: str) -> Path:
        config = root / "outputs" / package / RUN_NAME / "config.yaml"
        cfg = OmegaConf.load(config)
        assert isinstance(cfg, DictConfig)
        target = root / "inputs" / name
        if target.suffix:
            _write_input(target, cfg, 0)
        else:
            shutil.rmtree(target, ignore_errors=True)
            for index in range(FOLDER_SIZE):
                _write_input(target / f"{name}_{index}{folder_suffix}", cfg, index)
        return target

    return example


@pytest.mark.slow
@pytest.mark.parametrize("task", GENERATING_TASKS, ids=lambda task: task.key)
def test_every_readme_command_runs(task: TaskEntry, tmp_path: Path) -> None:
    spec = analyze_choice(_family(task), task.key, task.default_dataset)
    root = write_project(spec, tmp_path)
    package = spec.name
    runner = DebugRunner(
        package=package,
        run_name=RUN_NAME,
        example=_example_writer(root, package, task, spec.modality),
        tensorboard=str(BIN / "tensorboard"),
    )
    commands = readme_commands((root / "README.md").read_text(encoding="utf-8"))
    ran = []
    for words in commands:
        argv = runner.command(words)
        if argv is None:
            continue
        result = run_in(root, argv, timeout=600)
        assert_ok(result)
        ran.append((words, result))

    assert [reason for _, reason in runner.skipped] == ["installs into the test environment"]
    assert len(ran) == len(commands) - 1, "every other README command ran"
    run = root / "outputs" / package / RUN_NAME
    assert (run / "checkpoints" / "best.pt").is_file() and (run / "metrics.json").is_file()
    assert (run / "checkpoints" / "best.eval.json").is_file()
    assert list(run.parent.glob("*/tensorboard/events.*")), "the tensorboard command read events"
    for words, result in ran:
        if words[:2] == ["python", "inference.py"]:
            assert result.stdout.strip(), f"{words} printed no prediction"
    written = [word for words, _ in ran for word in words if word.endswith((".csv", ".json"))]
    for output in written:
        if output.startswith(("predictions", "samples", "forecasts")):
            assert (root / output).is_file(), output
