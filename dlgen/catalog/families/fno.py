"""Fourier Neural Operator (Li et al., 2021) in one, two or three dimensions."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import NonNegativeInt, PositiveInt

from dlgen.catalog.base import ArchitectureFamily, Names, Variant
from dlgen.spec.common import Activation, Modality
from dlgen.spec.dataset import DatasetSpec
from dlgen.spec.hparams import ArchitectureHParams


class FNOHParams(ArchitectureHParams):
    """FNO hyperparameters, following Li et al.'s reference scripts.

    The input field ``(C, *grid)`` is lifted to ``width`` channels (with the grid
    coordinates appended when ``use_grid``), passed through ``num_layers`` Fourier
    layers that keep ``modes`` frequencies per dimension, and projected back through
    a ``projection_dim`` hidden layer. ``padding`` zero-pads every spatial side for
    non-periodic problems (Li et al. use 9 for Darcy flow, 0 for periodic Burgers).
    """

    family: Literal["fno"] = "fno"
    dims: Literal[1, 2, 3] = 2
    modes: PositiveInt = 12
    width: PositiveInt = 32
    num_layers: PositiveInt = 4
    activation: Activation = "gelu"
    padding: NonNegativeInt = 9
    use_grid: bool = True
    projection_dim: PositiveInt = 128

    def check_dataset(self, dataset: DatasetSpec) -> list[str]:
        if dataset.modality != Modality.FIELD:
            return [
                f"FNO maps fields on a grid but dataset {dataset.name!r} is "
                f"{dataset.modality.value}; pick a PDE dataset (darcy, burgers, navier_stokes)"
            ]
        grid = dataset.input_shape[1:]
        if len(grid) != self.dims:
            return [
                f"dims={self.dims} but dataset {dataset.name!r} has a {len(grid)}-D grid "
                f"(input_shape {dataset.input_shape}); set dims to {len(grid)} or pick a "
                f"{self.dims}-D dataset"
            ]
        return self._check_modes(grid)

    def _check_modes(self, grid: list[int]) -> list[str]:
        problems = []
        for axis, size in enumerate(grid):
            padded = size + self.padding
            last = axis == len(grid) - 1
            limit = padded // 2 + 1 if last else padded // 2
            if self.modes > limit:
                problems.append(
                    f"modes={self.modes} exceeds what a grid of {size} points (padded to "
                    f"{padded}) resolves along axis {axis} (at most {limit}); lower modes to "
                    f"{limit} or raise the resolution"
                )
        return problems

    def spectral_parameters(self) -> int:
        """Real parameters of one Fourier layer's weights (complex counted as two reals).

        A real FFT keeps ``modes`` frequencies on the last axis and both the lowest
        and highest ``modes`` on the others, hence ``2 ** (dims - 1)`` weight blocks.
        """
        return 2 ** (self.dims - 1) * self.width**2 * self.modes**self.dims * 2

    def estimate_parameters(self, dataset: DatasetSpec) -> int:
        in_channels = dataset.input_shape[0] + (self.dims if self.use_grid else 0)
        out_channels = (dataset.output_shape or [1])[0]
        lift = in_channels * self.width + self.width
        layer = self.spectral_parameters() + self.width**2 + self.width
        projection = self.width * self.projection_dim + self.projection_dim
        projection += self.projection_dim * out_channels + out_channels
        return lift + self.num_layers * layer + projection

    def _grids(self, dataset: DatasetSpec) -> tuple[int, int]:
        """Grid points of one sample, unpadded and padded."""
        grid = dataset.input_shape[1:] or [1]
        return math.prod(grid), math.prod(size + self.padding for size in grid)

    def estimate_flops(self, dataset: DatasetSpec) -> int:
        """Forward FLOPs per sample (a multiply-add counts 2, a complex one 8).

        Each Fourier layer: forward and inverse real FFTs of ``width`` channels over the
        padded grid (``2.5 N log2 N`` each), the spectral product on the kept modes and
        the pointwise ``width x width`` map; plus lifting and projection on the grid.
        """
        points, padded = self._grids(dataset)
        in_channels = dataset.input_shape[0] + (self.dims if self.use_grid else 0)
        out_channels = (dataset.output_shape or [1])[0]
        kept_modes = 2 ** (self.dims - 1) * self.modes**self.dims
        fft = 2 * 2.5 * padded * math.log2(max(padded, 2)) * self.width
        layer = fft + 8 * self.width**2 * kept_modes + 2 * self.width**2 * padded
        lift = 2 * in_channels * self.width * points
        project = 2 * (self.width + out_channels) * self.projection_dim * points
        return int(lift + self.num_layers * layer + project)

    def estimate_activations(self, dataset: DatasetSpec) -> int:
        """Activation elements kept for the backward pass, per sample (an estimate).

        About four ``width``-channel fields per Fourier layer (input, spectral and pointwise
        outputs, pre-activation) on the padded grid, plus lifting and projection tensors.
        """
        points, padded = self._grids(dataset)
        in_channels = dataset.input_shape[0] + (self.dims if self.use_grid else 0)
        layers = self.num_layers * 4 * self.width * padded
        return layers + (in_channels + self.width + 2 * self.projection_dim + 1) * points

    def complexity_notes(self, dataset: DatasetSpec) -> list[tuple[str, str]]:
        """Big-O time of the blocks, for N grid points and batch size B."""
        modes = f"modes^{self.dims}" if self.dims > 1 else "modes"
        return [
            ("Fourier layer, FFT and inverse FFT", "O(B * width * N log N)"),
            ("Fourier layer, spectral product", f"O(B * width^2 * {modes})"),
            ("Fourier layer, pointwise path", "O(B * width^2 * N)"),
            ("whole model", "O(num_layers * B * width * N (log N + width))"),
        ]


VARIANTS = (
    Variant(
        key="darcy",
        names=Names(
            en="FNO-2D (Darcy flow)",
            zh="二维FNO（达西流）",
            aliases=("fno2d", "fno-2d", "fno 2d", "2d fno", "2d-fno", "二维fno"),
        ),
        hparams={"dims": 2, "modes": 12, "width": 32, "num_layers": 4, "padding": 9},
        reference_params=2_368_001,
        reference="Li et al. fourier_2d.py (Darcy, s=85): modes 12, width 32",
    ),
    Variant(
        key="burgers",
        names=Names(
            en="FNO-1D (Burgers)",
            zh="一维FNO（Burgers方程）",
            aliases=("fno1d", "fno-1d", "fno 1d", "1d fno", "1d-fno", "一维fno"),
        ),
        hparams={"dims": 1, "modes": 16, "width": 64, "num_layers": 4, "padding": 0},
        reference_params=549_569,
        reference="Li et al. fourier_1d.py (Burgers, s=1024): modes 16, width 64",
    ),
    Variant(
        key="ns2d",
        names=Names(
            en="FNO-2D (Navier-Stokes, time as channels)",
            zh="二维FNO（纳维-斯托克斯，时间步作通道）",
            aliases=("fno-2d-time", "fno2d time", "fno 2d time"),
        ),
        hparams={"dims": 2, "modes": 12, "width": 20, "num_layers": 4, "padding": 0},
        reference="Li et al. fourier_2d_time.py: modes 12, width 20 (one-shot 10 -> 10 steps)",
    ),
    Variant(
        key="fno3d",
        names=Names(
            en="FNO-3D",
            zh="三维FNO",
            aliases=("fno3d", "fno-3d", "fno 3d", "3d fno", "三维fno"),
        ),
        hparams={"dims": 3, "modes": 8, "width": 20, "num_layers": 4, "padding": 6},
        reference="Li et al. fourier_3d.py: modes 8, width 20",
    ),
)

FAMILY = ArchitectureFamily(
    key="fno",
    names=Names(
        en="Fourier Neural Operator",
        zh="傅里叶神经算子",
        aliases=(
            "fno",
            "fourier neural operator",
            "fourier neural operators",
            "fourier operator",
            "neural operator",
            "傅里叶神经算子",
            "傅立叶神经算子",
            "傅里叶神经网络算子",
            "傅里叶算子",
            "神经算子",
        ),
    ),
    hparams_model=FNOHParams,
    tasks=("operator_learning",),
    variants=VARIANTS,
    default_variant="darcy",
    default_datasets={"operator_learning": "darcy"},
    dataset_variants={
        "darcy": "darcy",
        "burgers": "burgers",
        "navier_stokes": "ns2d",
        "navier_stokes_3d": "fno3d",
    },
    paper="Li et al., Fourier Neural Operator for Parametric Partial Differential Equations, "
    "ICLR 2021",
    training_defaults={
        "optimizer": "adam",
        "lr": 1e-3,
        "weight_decay": 1e-4,
        "scheduler": "step",
        "step_size": 100,
        "gamma": 0.5,
        "epochs": 500,
        "batch_size": 20,
        "grad_clip": None,
    },
)
