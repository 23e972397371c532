"""Image classification: the data, loss, metrics and steps the trainer runs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from omegaconf import DictConfig, OmegaConf
from torch import nn

from .data.config import DataConfig
from .data.datasets import SyntheticImages, build_datasets, dataset_class_names
from .data.mixing import MixupCutmix
from .data.transforms import eval_transform
from .losses.classification import ClassificationLoss
from .metrics.classification import topk_correct
from .prediction import InputError, Prediction, expand_paths, one_line, top_class_predictions
from .trainers.task_contract import (
    BaseTask,
    Batch,
    DataSplits,
    MetricSums,
    MonitorMode,
    StepOutput,
    class_zero_cross_entropy,
)

TOP_K = 5
# File name endings ``inference.py`` reads as images (folders and globs keep only these).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
# Images decoded and predicted together.
PREDICT_BATCH = 64


class ImageClassificationTask(BaseTask):
    """Images ``(B, C, H, W)`` to logits ``(B, num_classes)``; top-1 selects the best model.

    When ``data.class_names`` is null, the class names the data source knows (ImageFolder's
    folder names, torchvision's class list) are written into ``cfg.data.class_names`` when
    the datasets are built, so every checkpoint carries them and ``inference.py`` prints
    names without the dataset on disk.

    Args:
        cfg: The full config; reads ``data`` (and updates ``data.class_names``) and
            ``training.label_smoothing``, ``mixup_alpha``, ``cutmix_alpha``.
    """

    monitor = "top1"
    monitor_mode: MonitorMode = "max"

    def __init__(self, cfg: DictConfig) -> None:
        self.cfg = cfg
        self.data = DataConfig.from_mapping(cfg.data)
        smoothing = float(cfg.training.label_smoothing)
        self.loss = ClassificationLoss(smoothing)
        self.mixer = MixupCutmix(
            float(cfg.training.mixup_alpha),
            float(cfg.training.cutmix_alpha),
            self.data.num_classes,
            smoothing,
        )

    def build_datasets(self) -> DataSplits:
        """Create the datasets of ``data.source``.

        Returns:
            Train, validation and test splits.
        """
        splits = build_datasets(self.data)
        class_names = dataset_class_names(splits.train)
        if self.data.class_names is None and class_names is not None:
            OmegaConf.update(self.cfg, "data.class_names", list(class_names), merge=False)
            self.data = DataConfig.from_mapping(self.cfg.data)
        return splits

    def training_step(self, model: nn.Module, batch: Batch) -> StepOutput:
        """Loss of one batch, with Mixup/CutMix and label smoothing when configured.

        Args:
            model: Maps ``(B, C, H, W)`` to ``(B, num_classes)``.
            batch: ``(images, labels)`` on the model's device.

        Returns:
            The loss.
        """
        images, labels = batch[0], batch[1]
        if self.mixer.enabled:
            images, targets = self.mixer(images, labels)
            return StepOutput(self.loss(model(images), targets))
        return StepOutput(self.loss(model(images), labels))

    def evaluation_step(self, model: nn.Module, batch: Batch) -> MetricSums:
        """Summed loss and top-1/top-5 hits of one batch.

        Args:
            model: The model in eval mode.
            batch: ``(images, labels)`` on the model's device.

        Returns:
            ``loss``, ``top1``, ``top5`` sums and the sample ``count``.
        """
        images, labels = batch[0], batch[1]
        logits = model(images).float()
        hits = topk_correct(logits, labels, (1, TOP_K))
        return {
            "loss": F.cross_entropy(logits, labels, reduction="sum"),
            "top1": hits[1],
            "top5": hits[TOP_K],
            "count": torch.tensor(float(labels.shape[0]), device=logits.device),
        }

    def example_batch(self, batch_size: int) -> Batch:
        """A synthetic batch of the configured shapes.

        Args:
            batch_size: B.

        Returns:
            ``(images (B, C, H, W), labels (B,))`` on the CPU.
        """
        data = self.data
        dataset = SyntheticImages(
            batch_size, data.in_channels, data.image_size, data.num_classes, data.split_seed
        )
        samples = [dataset[index] for index in range(batch_size)]
        return torch.stack([s[0] for s in samples]), torch.stack([s[1] for s in samples])

    def output_shape(self, batch_size: int) -> tuple[int, ...]:
        """Shape of the logits.

        Args:
            batch_size: B.

        Returns:
            ``(B, num_classes)``.
        """
        return (batch_size, self.data.num_classes)

    def smoke_loss(self, output: torch.Tensor) -> torch.Tensor:
        """Cross-entropy against class 0: a scalar that depends on every logit.

        Args:
            output: ``(B, num_classes)`` logits.

        Returns:
            A scalar loss.
        """
        return class_zero_cross_entropy(output)

    @torch.no_grad()
    def predictions(
        self, model: nn.Module, inputs: Sequence[str], top_k: int | None = None
    ) -> list[Prediction]:
        """Top-k classes, with class names when the config has them, for each image.

        Args:
            model: The trained model in eval mode.
            inputs: Image files, folders (every image inside, sorted) or glob patterns;
                empty: two synthetic images.
            top_k: Classes per image (default 5, at most ``num_classes``).

        Returns:
            One prediction per image.

        Raises:
            InputError: If a path is missing, a folder holds no image, or a file cannot be
                decoded as an image.
        """
        k = top_k if top_k is not None else TOP_K
        device = next(model.parameters()).device
        if not inputs:
            images = self.example_batch(2)[0]
            logits = model(images.to(device))  # (2, num_classes)
            return top_class_predictions(
                ["synthetic[0]", "synthetic[1]"], logits, k, self.data.class_names
            )
        paths = expand_paths(inputs, IMAGE_SUFFIXES, "image")
        results: list[Prediction] = []
        for start in range(0, len(paths), PREDICT_BATCH):
            chunk = paths[start : start + PREDICT_BATCH]
            images = torch.stack([self._load_image(path) for path in chunk])  # (N, C, H, W)
            logits = model(images.to(device))  # (N, num_classes)
            names = [str(path) for path in chunk]
            results.extend(top_class_predictions(names, logits, k, self.data.class_names))
        return results

    def _load_image(self, path: Path) -> torch.Tensor:
        """Decode one image file and apply the evaluation transform.

        Args:
            path: An image file.

        Returns:
            The normalised image ``(C, H, W)``.

        Raises:
            InputError: If the file cannot be decoded as an image.
        """
        from PIL import Image, UnidentifiedImageError

        mode = "L" if self.data.in_channels == 1 else "RGB"
        try:
            with Image.open(path) as image:
                decoded = image.convert(mode)
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise InputError(f"{path}: not a readable image ({one_line(exc)})") from exc
        return eval_transform(self.data)(decoded)


def build_task(cfg: DictConfig) -> ImageClassificationTask:
    """Create the task from the full config.

    Args:
        cfg: The composed config.

    Returns:
        The task.
    """
    return ImageClassificationTask(cfg)
