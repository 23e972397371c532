"""The operator-learning task rendered with the FNO family: files, configs, and the project's
own checks (its tests, ``train.py --fast-dev-run``, ruff, black and mypy).

Specs are built from the catalog (variant and dataset facts), as the analyzer does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dlgen import catalog
from dlgen.render import render
from dlgen.spec import Spec

DATASETS = ("darcy", "burgers", "navier_stokes", "navier_stokes_3d")
TASK_FILES = (
    "task.py",
    "data/burgers.py",
    "data/darcy.py",
    "data/datasets.py",
    "data/generators.py",
    "data/mat_files.py",
    "data/normalizer.py",
    "losses/relative_l2.py",
    "metrics/fields.py",
    "models/fno.py",
    "layers/spectral_conv.py",
    "layers/pointwise.py",
)
REQUEST = (
    "Generate a 2D Fourier Neural Operator for solving Darcy flow PDEs, using GeLU "
    "activation, 12 Fourier modes"
)


def fno_spec(dataset: str, **model: object) -> Spec:
    """The Spec the analyzer gives for FNO on a catalog dataset (variant from the dataset)."""
    family = catalog.family("fno")
    variant = family.dataset_variants[dataset]
    return Spec.model_validate(
        {
            "name": f"fno_{dataset}",
            "request": REQUEST if dataset == "darcy" else "",
            "task": "operator_learning",
            "modality": "field",
            "dataset": catalog.dataset(dataset).spec_fields(),
            "model": {
                "family": "fno",
                "variant": variant,
                **family.variant(variant).hparams,
                **model,
            },
            "training": {**family.training_defaults, "num_workers": 0},
        }
    )


@pytest.fixture(scope="module")
def rendered() -> dict[str, dict[str, str]]:
    return {name: render(fno_spec(name)) for name in ("darcy", "navier_stokes_3d")}


@pytest.mark.parametrize("dataset", ["darcy", "navier_stokes_3d"])
def test_render_contains_the_task_model_and_layers(
    rendered: dict[str, dict[str, str]], dataset: str
) -> None:
    files = rendered[dataset]
    package = f"src/fno_{dataset}/"
    missing = [name for name in TASK_FILES if package + name not in files]
    assert not missing
    assert f"configs/data/{dataset}.yaml" in files
    assert {"configs/model/fno.yaml", "configs/model/debug.yaml"} <= set(files)
    assert {"tests/test_fno.py", "tests/test_pde_solvers.py"} <= set(files)


def test_darcy_configs_carry_the_spec(rendered: dict[str, dict[str, str]]) -> None:
    files = rendered["darcy"]
    model = yaml.safe_load(files["configs/model/fno.yaml"])
    assert {k: model[k] for k in ("dims", "modes", "width", "num_layers", "padding")} == {
        "dims": 2,
        "modes": 12,
        "width": 32,
        "num_layers": 4,
        "padding": 9,
    }
    assert model["activation"] == "gelu" and model["in_channels"] == "${data.in_channels}"
    data = yaml.safe_load(files["configs/data/darcy.yaml"])
    assert data["source"] == "generator" and data["resolution"] == 85
    assert (data["num_train"], data["num_test"], data["normalization"]) == (1000, 200, None)
    assert data["generator"]["high"] == 12.0 and data["generator"]["low"] == 3.0


def test_space_time_data_config(rendered: dict[str, dict[str, str]]) -> None:
    data = yaml.safe_load(rendered["navier_stokes_3d"]["configs/data/navier_stokes_3d.yaml"])
    assert (data["dims"], data["in_channels"], data["out_channels"]) == (3, 10, 1)
    assert (data["time_in"], data["time_out"], data["resolution"]) == (10, 40, 64)
    assert data["source"] == "mat" and data["path"].endswith("ns_V1e-3_N5000_T50.mat")
    debug = yaml.safe_load(rendered["navier_stokes_3d"]["configs/data/debug.yaml"])
    assert debug["source"] == "synthetic"


def test_readme_reports_fno_performance(rendered: dict[str, dict[str, str]]) -> None:
    readme = rendered["darcy"]["README.md"]
    assert "2,368,001" in readme
    assert "N log N" in readme


def _run(command: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=environment
    )


def _write(files: dict[str, str], root: Path) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.mark.slow
@pytest.mark.parametrize("dataset", DATASETS)
def test_generated_project_passes_its_own_checks(dataset: str, tmp_path: Path) -> None:
    """The project's tests and --fast-dev-run pass; for Darcy also ruff, black and mypy.

    The style checks run once: the other datasets render the same Python files.
    """
    project = _write(render(fno_spec(dataset)), tmp_path / dataset)
    bin_dir = Path(sys.executable).parent
    commands = [
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x"],
        [sys.executable, "train.py", "--fast-dev-run"],
    ]
    if dataset == "darcy":
        commands += [
            [str(bin_dir / "ruff"), "check", "--no-cache", "."],
            [str(bin_dir / "black"), "--check", "-q", "."],
            [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy")]
            + ["src", "train.py", "inference.py", "tests"],
        ]
    for command in commands:
        result = _run(command, project)
        output = f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        assert result.returncode == 0, f"{command[1:]} failed:\n{output}"
