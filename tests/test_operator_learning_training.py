"""The generated FNO projects learn their PDEs: a short CPU run reaches < 5% relative L2 error.

Each case renders the project, lets it generate its own data with its PDE solver and trains
it with ``train.py`` and a few overrides (the paper's model; fewer samples and epochs).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dlgen.render import render
from tests.test_operator_learning import fno_spec

TARGET_ERROR = 0.05
COMMON = (
    "training.scheduler=cosine",
    "training.batch_size=10",
    "training.num_workers=0",
    "training.progress_bar=false",
    "training.tensorboard=false",
    "training.log_every_steps=1000000",
)
RUNS = {
    "darcy": ("data.resolution=32", "training.epochs=5"),
    "burgers": (
        "data.resolution=128",
        "data.num_train=400",
        "data.num_val=50",
        "data.num_test=100",
        "training.epochs=2",
    ),
}
TEST_LINE = re.compile(r"test: .*?rel_l2=([0-9.eE+-]+)")


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("dataset", sorted(RUNS))
def test_short_training_run_reaches_five_percent_error(dataset: str, tmp_path: Path) -> None:
    project = tmp_path / dataset
    for relative, text in render(fno_spec(dataset)).items():
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    command = [sys.executable, "train.py", *RUNS[dataset], *COMMON]
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        command, cwd=project, capture_output=True, text=True, timeout=1700, env=environment
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    match = TEST_LINE.search(log)
    assert match is not None, log[-4000:]
    assert float(match.group(1)) < TARGET_ERROR, log[-2000:]
