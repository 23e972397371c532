"""Generate a small-CNN project for scikit-learn's digits and train it on the CPU.

Real data, no download, about a minute on a laptop CPU:

    python examples/train_digits.py [--out DIR] [--epochs N]

It renders the project with dlgen, writes it to DIR (a temporary folder by default),
runs the project's own ``train.py`` and prints the test accuracy and the time taken.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dlgen.render import render
from dlgen.spec import Spec

DIGITS_SPEC = {
    "language": "en",
    "request": "A small CNN for scikit-learn's 8x8 digits",
    "name": "digits_cnn",
    "task": "image_classification",
    "modality": "image",
    "dataset": {
        "name": "digits",
        "modality": "image",
        "source": "sklearn",
        "input_shape": [1, 8, 8],
        "in_channels": 1,
        "num_classes": 10,
    },
    "model": {
        "family": "cnn",
        "channels": [32, 64],
        "padding": [1, 1],
        "hidden_dims": [64],
        "dropout": 0.1,
    },
    "training": {"epochs": 8, "batch_size": 64, "lr": 3e-3, "num_workers": 0},
}


def write(files: dict[str, str], root: Path) -> None:
    """Write rendered files under ``root``."""
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def train(root: Path, epochs: int) -> tuple[float, float]:
    """Run the project's train.py; return (test top-1 accuracy, seconds)."""
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "train.py", f"training.epochs={epochs}", "training.progress_bar=false"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"training failed:\n{result.stderr[-3000:]}")
    match = re.search(r"test: loss=\S+ top1=([0-9.]+)", result.stderr)
    if match is None:
        raise SystemExit(f"no test accuracy in the log:\n{result.stderr[-3000:]}")
    return float(match.group(1)), elapsed


def main() -> None:
    """Render, write, train, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="where to write the project")
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    spec = Spec.from_dict(DIGITS_SPEC)
    with tempfile.TemporaryDirectory() as scratch:
        root = (args.out or Path(scratch)) / spec.name
        write(render(spec), root)
        accuracy, seconds = train(root, args.epochs)
    print(f"digits: test top-1 accuracy {accuracy:.4f}, {args.epochs} epochs, {seconds:.1f}s")


if __name__ == "__main__":
    main()
