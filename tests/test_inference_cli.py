"""A generated image classifier's inference.py: folders, class names, --output, clean errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from dlgen.agent.offline.analyzer import analyze_choice
from tests.test_generated_project import assert_ok, run_in, write_project

CLASSES = ("bird", "cat", "dog")
COLOURS = ((200, 30, 30), (30, 200, 30), (30, 30, 200))


def _image_tree(root: Path) -> Path:
    """An ImageFolder tree (train/ and val/, three classes) and a query folder of 3 images."""
    for split in ("train", "val"):
        for class_name, colour in zip(CLASSES, COLOURS, strict=True):
            folder = root / split / class_name
            folder.mkdir(parents=True)
            for index in range(3):
                shade = tuple(min(255, value + 15 * index) for value in colour)
                Image.new("RGB", (28, 28), shade).save(folder / f"{index}.png")
    query = root / "query"
    query.mkdir()
    for index, colour in enumerate(COLOURS):
        Image.new("RGB", (28, 28), colour).save(query / f"image_{index}.png")
    (query / "notes.txt").write_text("not an image", encoding="utf-8")
    return query


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A CNN project trained for two steps on an ImageFolder tree: (root, checkpoint, query)."""
    base = tmp_path_factory.mktemp("inference")
    root = write_project(analyze_choice("cnn", "image_classification", "mnist"), base)
    query = _image_tree(base / "images")
    result = run_in(
        root,
        [
            sys.executable,
            "train.py",
            "--config-name",
            "debug",
            "data.source=imagefolder",
            f"data.root={base / 'images'}",
            "data.num_classes=3",
            "data.class_names=null",
            "training.epochs=1",
            "training.max_steps=1",
            "training.limit_val_batches=1",
            f"output_dir={base / 'run'}",
        ],
    )
    assert_ok(result)
    checkpoints = sorted((base / "run").rglob("step_*.pt"))
    assert checkpoints, "training wrote no checkpoint"
    return root, checkpoints[-1], query


def _infer(root: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return run_in(root, [sys.executable, "inference.py", *arguments, "--device", "cpu"])


@pytest.mark.slow
def test_folder_prints_class_names_and_writes_json(trained: tuple[Path, Path, Path]) -> None:
    """Three images in a folder: three lines naming the folder classes, three JSON records."""
    root, checkpoint, query = trained
    output = query.parent / "predictions.json"
    result = _infer(root, str(checkpoint), str(query), "--output", str(output), "--top-k", "2")
    assert_ok(result)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3, result.stdout
    for index, line in enumerate(lines):
        name, ranked = line.split(": ", 1)
        assert name == str(query / f"image_{index}.png")
        labels = [entry.rsplit(" ", 1)[0] for entry in ranked.split(", ")]
        assert len(labels) == 2 and set(labels) <= set(CLASSES), line
    records = json.loads(output.read_text(encoding="utf-8"))
    assert len(records) == 3
    assert {record["top1_class"] for record in records} <= set(CLASSES)
    assert all(0.0 <= record["top1_probability"] <= 1.0 for record in records)


@pytest.mark.slow
def test_missing_path_is_one_line_without_traceback(trained: tuple[Path, Path, Path]) -> None:
    """A missing input: exit status 2 and exactly one line on stderr."""
    root, checkpoint, query = trained
    result = _infer(root, str(checkpoint), str(query / "image_0.png"), str(query / "nope.png"))
    assert result.returncode == 2
    assert result.stdout == ""
    expected = f"error: {query / 'nope.png'}: no such file or folder"
    assert result.stderr.strip().splitlines() == [expected]
    assert "Traceback" not in result.stderr
