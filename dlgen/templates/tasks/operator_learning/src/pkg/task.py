"""Operator learning: the data, loss, metrics and steps the trainer runs.

The model maps normalised input fields to normalised output fields; every loss and metric
is computed after decoding the prediction back to physical units (Li et al., 2021).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from torch import Tensor, nn

from .data.config import DataConfig
from .data.datasets import build_datasets, synthetic_fields
from .data.generators import GENERATORS, generate
from .data.normalizer import GaussianNormalizer
from .losses.relative_l2 import RelativeL2Loss, relative_l2
from .metrics.fields import field_metric_sums
from .prediction import InputError, Prediction, Scalar, expand_paths, one_line
from .trainers.task_contract import BaseTask, Batch, DataSplits, MetricSums, MonitorMode, StepOutput

EXAMPLE_SEED = 1_000_003
PREDICTION_SUFFIX = ".pred.npy"
# File name endings ``inference.py`` reads as fields (predictions it wrote are skipped).
FIELD_SUFFIXES = (".npy", ".npz")


class OperatorLearningTask(BaseTask):
    """Fields ``(B, C_in, *grid)`` to fields ``(B, C_out, *grid)``; relative L2 selects the best.

    Normalisation statistics are fitted on the training split when the datasets are built
    and written into ``cfg.data.normalization``, so every checkpoint carries them and
    ``inference.py`` decodes predictions without the training data. Until then (or when
    the config holds none) the normalisers are the identity.

    Args:
        cfg: The full config; reads and updates ``data``.
    """

    monitor = "rel_l2"
    monitor_mode: MonitorMode = "min"

    def __init__(self, cfg: DictConfig) -> None:
        self.cfg = cfg
        self.data = DataConfig.from_mapping(cfg.data)
        self.loss = RelativeL2Loss()
        stats = self.data.normalization
        channels = {"x": self.data.in_channels, "y": self.data.out_channels}
        normalizers = {
            key: (
                GaussianNormalizer(stats[f"{key}_mean"], stats[f"{key}_std"])
                if stats is not None
                else GaussianNormalizer([0.0] * size, [1.0] * size)
            )
            for key, size in channels.items()
        }
        self.x_normalizer = normalizers["x"]
        self.y_normalizer = normalizers["y"]

    def build_datasets(self) -> DataSplits:
        """Create the splits of ``data.source`` and fit (or load) the normalisers.

        Returns:
            Train, validation and test splits; inputs normalised, targets in physical units.
        """
        data = build_datasets(self.data)
        self.x_normalizer, self.y_normalizer = data.x_normalizer, data.y_normalizer
        x_mean, x_std = data.x_normalizer.to_lists()
        y_mean, y_std = data.y_normalizer.to_lists()
        stats = {"x_mean": x_mean, "x_std": x_std, "y_mean": y_mean, "y_std": y_std}
        OmegaConf.update(self.cfg, "data.normalization", stats, merge=False, force_add=True)
        return data.splits

    def decode(self, output: Tensor) -> Tensor:
        """Bring a model output back to physical units.

        Args:
            output: Normalised predictions ``(B, C_out, *grid)``.

        Returns:
            Predictions of the same shape in physical units.
        """
        return self.y_normalizer.decode(output.float())

    def training_step(self, model: nn.Module, batch: Batch) -> StepOutput:
        """Relative L2 loss of one batch, on decoded predictions.

        Args:
            model: Maps ``(B, C_in, *grid)`` to ``(B, C_out, *grid)``.
            batch: ``(inputs, targets)`` on the model's device.

        Returns:
            The loss.
        """
        inputs, targets = batch[0], batch[1]
        return StepOutput(self.loss(self.decode(model(inputs)), targets))

    def evaluation_step(self, model: nn.Module, batch: Batch) -> MetricSums:
        """Summed errors of one batch, on decoded predictions.

        Args:
            model: The model in eval mode.
            batch: ``(inputs, targets)`` on the model's device.

        Returns:
            ``rel_l2``, ``mse`` and ``max_abs`` sums and the sample ``count``.
        """
        inputs, targets = batch[0], batch[1]
        return field_metric_sums(self.decode(model(inputs)), targets)

    def example_batch(self, batch_size: int) -> Batch:
        """A synthetic batch of the configured shapes.

        Args:
            batch_size: B.

        Returns:
            ``(inputs (B, C_in, *grid), targets (B, C_out, *grid))`` on the CPU.
        """
        fields = synthetic_fields(self.data, batch_size, self.data.seed)
        return torch.from_numpy(fields["x"]), torch.from_numpy(fields["y"])

    def output_shape(self, batch_size: int) -> tuple[int, ...]:
        """Shape of the predicted fields.

        Args:
            batch_size: B.

        Returns:
            ``(B, C_out, *grid)``.
        """
        return (batch_size, *self.data.output_shape)

    @torch.no_grad()
    def predictions(
        self, model: nn.Module, inputs: Sequence[str], top_k: int | None = None
    ) -> list[Prediction]:
        """Predict fields for ``.npy``/``.npz`` inputs, or check the model on fresh PDE samples.

        Each input file holds one field ``(C_in, *grid)`` or a stack ``(N, C_in, *grid)``
        (``.npz``: under the key ``x``) in physical units; with one input channel a plain
        ``(*grid)`` array, e.g. ``(H, W)``, is one field too. The predictions are written
        next to it as ``<name>.pred.npy``. Without inputs, two new samples are generated
        (with the PDE solver when the dataset has one) and the relative error is reported.

        Args:
            model: The trained model in eval mode.
            inputs: Paths of input files, folders (every ``.npy``/``.npz`` inside, sorted,
                earlier predictions skipped) or glob patterns.
            top_k: Unused (fields have no classes).

        Returns:
            One prediction per input file or example.

        Raises:
            InputError: If a path is missing, a folder holds no field file, or a file is
                unreadable or holds an array of the wrong shape.
        """
        del top_k
        if not inputs:
            return self._predict_examples(model)
        results = []
        for path in expand_paths(inputs, FIELD_SUFFIXES, "field", (PREDICTION_SUFFIX,)):
            fields = self._read_fields(path)
            prediction = self._predict_physical(model, torch.from_numpy(fields))
            output = path.with_name(path.name[: -len(path.suffix)] + PREDICTION_SUFFIX)
            np.save(output, prediction.cpu().numpy())
            shape = tuple(prediction.shape)
            low, high = float(prediction.min()), float(prediction.max())
            text = (
                f"{path}: {fields.shape[0]} field(s) -> {output} "
                f"(shape {shape}, range [{low:.4g}, {high:.4g}])"
            )
            record: dict[str, Scalar] = {
                "input": str(path),
                "fields": int(fields.shape[0]),
                "output": str(output),
                "shape": "x".join(str(size) for size in shape),
                "min": low,
                "max": high,
            }
            results.append(Prediction(str(path), text, [record]))
        return results

    def _predict_physical(self, model: nn.Module, fields: Tensor) -> Tensor:
        device = next(model.parameters()).device
        inputs = self.x_normalizer.encode(fields.float()).to(device)
        return self.decode(model(inputs))

    def _read_fields(self, path: Path) -> np.ndarray:
        """Load an input file as a stack of fields ``(N, C_in, *grid)``.

        Args:
            path: A ``.npy`` file, or a ``.npz`` file with the key ``x``.

        Returns:
            A float32 array ``(N, C_in, *grid)``.

        Raises:
            InputError: If the file is unreadable or its array has the wrong shape.
        """
        try:
            if path.suffix.lower() == ".npz":
                with np.load(path) as stored:
                    if "x" not in stored:
                        raise InputError(
                            f"{path}: no array 'x' in the .npz (it holds {sorted(stored.files)})"
                        )
                    array = np.asarray(stored["x"], dtype=np.float32)
            else:
                array = np.asarray(np.load(path), dtype=np.float32)
        except InputError:
            raise
        except (OSError, ValueError, EOFError, TypeError) as exc:
            raise InputError(f"{path}: not a readable numeric array ({one_line(exc)})") from exc
        dims, channels = self.data.dims, self.data.in_channels
        stored_shape = tuple(array.shape)
        if array.ndim == dims and channels == 1:
            array = array[None]  # (*grid) -> (1, *grid): one channel
        if array.ndim == dims + 1:
            array = array[None]  # (C_in, *grid) -> (1, C_in, *grid)
        if array.ndim != dims + 2 or array.shape[1] != channels:
            grid = ", ".join(["X"] if dims == 1 else ["H", "W"] if dims == 2 else ["X", "Y", "T"])
            plain = f"({grid}), " if channels == 1 else ""
            raise InputError(
                f"{path} holds an array of shape {stored_shape}; expected {plain}"
                f"({channels}, {grid}) or (N, {channels}, {grid}) in physical units "
                f"(trained on {tuple(self.data.input_shape)})"
            )
        if not np.isfinite(array).all():
            raise InputError(f"{path}: the array holds NaN or infinite values")
        return array

    def _predict_examples(self, model: nn.Module) -> list[Prediction]:
        if self.data.name in GENERATORS and self.data.source != "synthetic":
            example = DataConfig.from_mapping({**_plain(self.cfg.data), "cache": False})
            fields = generate(example, 2, EXAMPLE_SEED)
            source = "PDE solver"
        else:
            fields = synthetic_fields(self.data, 2, EXAMPLE_SEED)
            source = "synthetic"
        prediction = self._predict_physical(model, torch.from_numpy(fields["x"]))
        errors = relative_l2(prediction.cpu(), torch.from_numpy(fields["y"]))
        results = []
        for index, error in enumerate(errors):
            name = f"{source} example {index}"
            record: dict[str, Scalar] = {
                "input": name,
                "relative_l2": float(error),
            }
            results.append(
                Prediction(name, f"{name}: relative L2 error {float(error):.4f}", [record])
            )
        return results


def _plain(section: DictConfig) -> dict[str, object]:
    container = OmegaConf.to_container(section, resolve=True)
    if not isinstance(container, dict):
        raise ValueError("the data config must be a mapping")
    return {str(key): value for key, value in container.items()}


def build_task(cfg: DictConfig) -> OperatorLearningTask:
    """Create the task from the full config.

    Args:
        cfg: The composed config.

    Returns:
        The task.
    """
    return OperatorLearningTask(cfg)
