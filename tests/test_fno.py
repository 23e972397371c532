"""The FNO model template: reference parameter counts, every dimension, the catalog's estimates.

The model module is imported from a rendered project (exactly what a user gets); forward and
backward passes use tiny configurations of the same code paths as the paper sizes.
"""

from __future__ import annotations

import importlib
import math
import sys
import uuid
from pathlib import Path
from types import ModuleType

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from dlgen import catalog
from dlgen.catalog.families.fno import FNOHParams
from dlgen.render import render
from dlgen.spec.dataset import DatasetSpec
from tests.test_operator_learning import fno_spec

# Li et al.'s fourier_2d.py and fourier_1d.py, a complex weight counted as two reals.
PINNED_COUNTS = {"darcy": 2_368_001, "burgers": 549_569}
DATASET_OF_VARIANT = {
    "darcy": "darcy",
    "burgers": "burgers",
    "ns2d": "navier_stokes",
    "fno3d": "navier_stokes_3d",
}


@pytest.fixture(scope="module")
def fno(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """``<package>.models.fno`` of a freshly rendered Darcy project."""
    root: Path = tmp_path_factory.mktemp("rendered")
    spec = fno_spec("darcy").model_copy(update={"name": f"fno_{uuid.uuid4().hex[:8]}"})
    for path, text in render(spec).items():
        if path.startswith("src/"):
            target = root / path.removeprefix("src/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    sys.path.insert(0, str(root))
    return importlib.import_module(f"{spec.name}.models.fno")


def _dataset(key: str) -> DatasetSpec:
    entry = catalog.dataset(key)
    return DatasetSpec(
        name=entry.key,
        modality=entry.modality,
        source=entry.source,
        input_shape=list(entry.input_shape),
        output_shape=list(entry.output_shape) if entry.output_shape else None,
    )


def _build(fno: ModuleType, hparams: FNOHParams, dataset: DatasetSpec) -> torch.nn.Module:
    fields = hparams.model_dump(exclude={"family", "variant"})
    out_channels = (dataset.output_shape or [1])[0]
    config = fno.FNOConfig(in_channels=dataset.input_shape[0], out_channels=out_channels, **fields)
    return fno.FNO(config)


def _count(model: torch.nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


@pytest.mark.parametrize("variant", sorted(PINNED_COUNTS))
def test_paper_variants_reproduce_the_reference_counts(fno: ModuleType, variant: str) -> None:
    """Darcy (2-D) and Burgers (1-D) configurations match the authors' scripts exactly."""
    family = catalog.family("fno")
    entry = family.variant(variant)
    assert entry.reference_params == PINNED_COUNTS[variant]
    hparams = FNOHParams(**entry.hparams)
    dataset = _dataset(DATASET_OF_VARIANT[variant])
    assert _count(_build(fno, hparams, dataset)) == PINNED_COUNTS[variant]


@pytest.mark.parametrize("variant", sorted(DATASET_OF_VARIANT))
def test_catalog_estimate_equals_the_built_model(fno: ModuleType, variant: str) -> None:
    """The catalog's parameter formula is exact for every variant and its dataset."""
    hparams = FNOHParams(**catalog.family("fno").variant(variant).hparams)
    dataset = _dataset(DATASET_OF_VARIANT[variant])
    with torch.device("meta"):
        model = _build(fno, hparams, dataset)
    assert _count(model) == hparams.estimate_parameters(dataset)


@pytest.mark.parametrize(
    ("dims", "grid", "use_grid"),
    [(1, (24,), True), (2, (12, 10), True), (2, (12, 12), False), (3, (8, 9, 6), True)],
)
def test_forward_backward_on_small_configs(
    fno: ModuleType, dims: int, grid: tuple[int, ...], use_grid: bool
) -> None:
    """Every dimension maps (B, C_in, *grid) to (B, C_out, *grid) and trains every weight."""
    torch.manual_seed(0)
    config = fno.FNOConfig(
        in_channels=3,
        out_channels=2,
        dims=dims,
        modes=3,
        width=8,
        num_layers=3,
        padding=2,
        use_grid=use_grid,
        projection_dim=16,
    )
    model = fno.build_fno({"name": "fno", **vars(config)})
    output = model(torch.randn(2, 3, *grid))
    assert output.shape == (2, 2, *grid)
    output.pow(2).mean().backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_flop_estimate_matches_the_counted_matmuls(fno: ModuleType) -> None:
    """estimate_flops = counted matmul FLOPs + FFTs + the complex part of the spectral product.

    PyTorch's FLOP counter sees the lifting, pointwise and projection matmuls and counts the
    complex spectral einsum as 2 FLOPs per multiply-add; the estimate charges 8 (a complex
    multiply-add) and adds the FFTs, which the counter does not see.
    """
    hparams = FNOHParams(dims=2, modes=5, width=12, num_layers=2, padding=3, projection_dim=20)
    dataset = DatasetSpec(
        name="darcy", modality="field", source="generator", input_shape=[1, 20, 20]
    )
    model = _build(fno, hparams, dataset)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.randn(1, 1, 20, 20))
    padded = 23 * 23
    fft = 2 * 2.5 * padded * math.log2(padded) * hparams.width * hparams.num_layers
    kept = 2 * hparams.modes**2
    complex_extra = 6 * hparams.width**2 * kept * hparams.num_layers
    expected = counter.get_total_flops() + fft + complex_extra
    assert hparams.estimate_flops(dataset) == pytest.approx(expected, rel=1e-6)


def test_complexity_notes_state_n_log_n() -> None:
    """The README's complexity table names the FFT's O(N log N)."""
    notes = dict(FNOHParams().complexity_notes(_dataset("darcy")))
    assert "N log N" in notes["Fourier layer, FFT and inverse FFT"]
