"""Semantic segmentation: the data, loss, metrics and steps the trainer runs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from omegaconf import DictConfig, OmegaConf
from PIL import Image, UnidentifiedImageError
from torch import Tensor, nn

from .data.config import DataConfig
from .data.datasets import IMAGE_SUFFIXES, SyntheticShapes, build_datasets, default_class_names
from .data.transforms import image_transform
from .losses.segmentation import SegmentationLoss
from .metrics.segmentation import confusion_matrix, predicted_labels, scores
from .prediction import InputError, Prediction, Scalar, expand_paths, one_line
from .trainers.task_contract import (
    BaseTask,
    Batch,
    DataSplits,
    MetricSums,
    MonitorMode,
    StepOutput,
)

# Files inference.py writes next to each input (never read back as inputs).
MASK_SUFFIX = ".mask.png"
OVERLAY_SUFFIX = ".overlay.png"
# Per-class IoU is reported by name up to this many labels (beyond: mIoU only).
MAX_NAMED_CLASSES = 32
# Sliding-window inference: windows of image_size overlapping by a third.
WINDOW_OVERLAP = 1 / 3
OVERLAY_ALPHA = 0.5


def center_crop_mask(mask: Tensor, size: tuple[int, int]) -> Tensor:
    """Crop masks ``(B, H, W)`` to the model's output size, centred (valid-padding U-Net).

    Args:
        mask: The labels.
        size: ``(H_out, W_out)`` of the logits, at most the mask's size.

    Returns:
        ``(B, H_out, W_out)`` labels.

    Raises:
        ValueError: If the logits are larger than the mask.
    """
    height, width = mask.shape[-2:]
    out_h, out_w = size
    if (out_h, out_w) == (height, width):
        return mask
    if out_h > height or out_w > width:
        raise ValueError(f"logits {size} are larger than the mask {(height, width)}")
    top, left = (height - out_h) // 2, (width - out_w) // 2
    return mask[..., top : top + out_h, left : left + out_w]


def colour_palette(labels: int) -> np.ndarray:
    """A fixed colour per label (Pascal VOC's bit-interleaved colour map).

    Args:
        labels: Number of labels.

    Returns:
        ``(labels, 3)`` uint8 colours.
    """
    palette = np.zeros((max(labels, 1), 3), np.uint8)
    for label in range(labels):
        value, red, green, blue = label, 0, 0, 0
        for shift in range(7, -1, -1):
            red |= (value & 1) << shift
            green |= ((value >> 1) & 1) << shift
            blue |= ((value >> 2) & 1) << shift
            value >>= 3
        palette[label] = (red, green, blue)
    return palette


class SemanticSegmentationTask(BaseTask):
    """Images ``(B, C, H, W)`` to logits ``(B, K, H, W)``; mIoU selects the best model.

    ``K`` is ``num_classes``, or 1 for binary segmentation (a sigmoid on one foreground
    logit). Metrics come from a confusion matrix summed over the split and every rank.

    Args:
        cfg: The full config; reads ``data`` (and fills ``data.class_names`` when the
            source knows them).
    """

    monitor = "miou"
    monitor_mode: MonitorMode = "max"

    def __init__(self, cfg: DictConfig) -> None:
        self.cfg = cfg
        self.data = DataConfig.from_mapping(cfg.data)
        if self.data.class_names is None and default_class_names(self.data) is not None:
            names = list(default_class_names(self.data) or ())
            OmegaConf.update(cfg, "data.class_names", names, merge=False)
            self.data = DataConfig.from_mapping(cfg.data)
        data = self.data
        self.loss = SegmentationLoss(
            data.loss,
            data.ignore_index,
            data.binary,
            data.class_weights,
            data.focal_gamma,
            data.dice_weight,
        )

    def build_datasets(self) -> DataSplits:
        """Create the datasets of ``data.source``.

        Returns:
            Train, validation and (when the source has one) test splits.
        """
        return build_datasets(self.data)

    def training_step(self, model: nn.Module, batch: Batch) -> StepOutput:
        """Loss of one batch.

        Args:
            model: Maps ``(B, C, H, W)`` to ``(B, K, H', W')`` logits.
            batch: ``(images, masks (B, H, W))`` on the model's device.

        Returns:
            The loss.
        """
        images, masks = batch[0], batch[1]
        logits = model(images)
        return StepOutput(self.loss(logits, center_crop_mask(masks, logits.shape[-2:])))

    def evaluation_step(self, model: nn.Module, batch: Batch) -> MetricSums:
        """Summed loss and the confusion matrix of one batch.

        Args:
            model: The model in eval mode.
            batch: ``(images, masks)`` on the model's device.

        Returns:
            ``loss`` (times the batch size), ``confusion`` ``(L, L)`` and ``count``.
        """
        images, masks = batch[0], batch[1]
        logits = model(images).float()
        masks = center_crop_mask(masks, logits.shape[-2:])
        prediction = predicted_labels(logits, self.data.binary)
        labels = self.data.label_count
        return {
            "loss": self.loss(logits, masks) * masks.shape[0],
            "confusion": confusion_matrix(prediction, masks, labels, self.data.ignore_index),
            "count": torch.tensor(float(masks.shape[0]), device=logits.device),
        }

    def finalize_sums(self, sums: dict[str, Tensor]) -> dict[str, float]:
        """mIoU, pixel and mean accuracy, per-class IoU (and Dice/IoU of the foreground).

        Args:
            sums: ``confusion``: the split's confusion matrix ``(L, L)`` (row: true label).

        Returns:
            The metrics; per-class IoU as ``iou_<class>`` for up to 32 labels (a class
            absent from both the labels and the predictions has no IoU and is left out).
        """
        result = scores(sums["confusion"].cpu())
        metrics = {
            "miou": float(result["miou"]),
            "pixel_accuracy": float(result["pixel_accuracy"]),
            "mean_accuracy": float(result["mean_accuracy"]),
        }
        if self.data.binary:
            metrics["iou_foreground"] = float(result["iou"][1].nan_to_num(0.0))
            metrics["dice"] = float(result["dice"][1].nan_to_num(0.0))
        elif self.data.label_count <= MAX_NAMED_CLASSES:
            for label, value in enumerate(result["iou"].tolist()):
                if value == value:  # NaN: the class is in neither the labels nor predictions
                    metrics[f"iou_{self._class_name(label)}"] = value
        return metrics

    def _class_name(self, label: int) -> str:
        names = self.data.class_names
        return names[label].replace(" ", "_") if names is not None else str(label)

    def example_batch(self, batch_size: int) -> Batch:
        """A synthetic batch of the configured shapes.

        Args:
            batch_size: B.

        Returns:
            ``(images (B, C, S, S), masks (B, S, S))`` on the CPU.
        """
        dataset = SyntheticShapes(batch_size, self.data, self.data.split_seed)
        samples = [dataset[index] for index in range(batch_size)]
        return torch.stack([s[0] for s in samples]), torch.stack([s[1] for s in samples])

    def output_shape(self, batch_size: int) -> tuple[int, ...]:
        """Shape of the logits for the configured input size.

        Args:
            batch_size: B.

        Returns:
            ``(B, K, S, S)`` (a valid-padding U-Net: its smaller output size).
        """
        size = self.data.image_size
        out = valid_unet_output(size, int(self.cfg.model.depth)) if self._valid_unet() else size
        return (batch_size, 1 if self.data.binary else self.data.num_classes, out, out)

    def _valid_unet(self) -> bool:
        return str(self.cfg.model.get("padding", "same")) == "valid"

    def smoke_loss(self, output: Tensor) -> Tensor:
        """The mean logit squared: a scalar that depends on every output value.

        Args:
            output: ``(B, K, H, W)`` logits.

        Returns:
            A scalar loss.
        """
        return output.float().pow(2).mean()

    @torch.no_grad()
    def predictions(
        self, model: nn.Module, inputs: Sequence[str], top_k: int | None = None
    ) -> list[Prediction]:
        """A mask PNG and a colour overlay per image, with the classes' pixel shares.

        Images of any size: larger ones are covered by overlapping windows of
        ``image_size`` whose logits are averaged; smaller ones are padded.

        Args:
            model: The trained model in eval mode.
            inputs: Image files, folders (every image inside, sorted) or glob patterns;
                empty: one synthetic image (nothing is written).
            top_k: Classes listed per image (default 3).

        Returns:
            One prediction per image; records: input, mask, overlay and the top shares.

        Raises:
            InputError: If a path is missing, a folder holds no image, or a file is not an
                image.
        """
        k = top_k if top_k is not None else 3
        device = next(model.parameters()).device
        if not inputs:
            images = self.example_batch(1)[0].to(device)
            labels = predicted_labels(model(images), self.data.binary)[0].cpu()
            return [self._prediction("synthetic[0]", labels, k, None, None)]
        results = []
        paths = expand_paths(inputs, IMAGE_SUFFIXES, "image", (MASK_SUFFIX, OVERLAY_SUFFIX))
        for path in paths:
            image = self._load_image(path)
            tensor = image_transform(self.data)(image).to(device)  # (C, H, W)
            labels = predicted_labels(self.sliding_window(model, tensor), self.data.binary)[0]
            labels = labels.cpu()
            stem = path.with_name(path.name[: -len(path.suffix)])
            mask_path = stem.with_name(stem.name + MASK_SUFFIX)
            overlay_path = stem.with_name(stem.name + OVERLAY_SUFFIX)
            self._save(labels, image, mask_path, overlay_path)
            results.append(self._prediction(str(path), labels, k, mask_path, overlay_path))
        return results

    def sliding_window(self, model: nn.Module, image: Tensor) -> Tensor:
        """Logits for an image of any size from windows of the training size.

        Args:
            model: The model in eval mode.
            image: ``(C, H, W)`` normalised image on the model's device.

        Returns:
            ``(1, K, H, W)`` logits.
        """
        size = self.data.image_size
        _, height, width = image.shape
        pad_h, pad_w = max(0, size - height), max(0, size - width)
        padded = F.pad(image, (0, pad_w, 0, pad_h))[None]  # (1, C, H', W')
        full_h, full_w = padded.shape[-2:]
        stride = max(1, int(size * (1 - WINDOW_OVERLAP)))
        tops = _starts(full_h, size, stride)
        lefts = _starts(full_w, size, stride)
        channels = 1 if self.data.binary else self.data.num_classes
        total = padded.new_zeros(1, channels, full_h, full_w)
        hits = padded.new_zeros(1, 1, full_h, full_w)
        for top in tops:
            for left in lefts:
                window = padded[..., top : top + size, left : left + size]
                logits = model(window).float()
                if logits.shape[-2:] != window.shape[-2:]:  # valid padding: smaller output
                    logits = F.interpolate(logits, size=window.shape[-2:], mode="bilinear")
                total[..., top : top + size, left : left + size] += logits
                hits[..., top : top + size, left : left + size] += 1
        return (total / hits)[..., :height, :width]

    def _prediction(
        self,
        name: str,
        labels: Tensor,
        k: int,
        mask_path: Path | None,
        overlay_path: Path | None,
    ) -> Prediction:
        shares = torch.bincount(labels.reshape(-1), minlength=self.data.label_count).float()
        shares = shares / shares.sum()
        top = shares.topk(min(k, shares.numel()))
        listed = [
            (self._class_name(int(label)), float(share))
            for share, label in zip(top.values, top.indices, strict=True)
        ]
        summary = ", ".join(f"{label} {100 * share:.1f}%" for label, share in listed)
        written = f" -> {mask_path}, {overlay_path}" if mask_path is not None else ""
        record: dict[str, Scalar] = {
            "input": name,
            "mask": str(mask_path) if mask_path is not None else None,
            "overlay": str(overlay_path) if overlay_path is not None else None,
        }
        for rank, (label, share) in enumerate(listed, start=1):
            record[f"class_{rank}"] = label
            record[f"share_{rank}"] = round(share, 6)
        return Prediction(name, f"{name}{written}: {summary}", [record])

    def _save(
        self, labels: Tensor, image: Image.Image, mask_path: Path, overlay_path: Path
    ) -> None:
        palette = colour_palette(self.data.label_count)
        mask = Image.fromarray(labels.numpy().astype(np.uint8))  # "L"; a palette makes it "P"
        mask.putpalette(palette.reshape(-1).tolist())
        mask.save(mask_path)
        colours = palette[labels.numpy()].astype(np.float32)
        pixels = np.asarray(image.convert("RGB"), np.float32)
        blended = (1 - OVERLAY_ALPHA) * pixels + OVERLAY_ALPHA * colours
        Image.fromarray(blended.clip(0, 255).astype(np.uint8)).save(overlay_path)

    def _load_image(self, path: Path) -> Image.Image:

        mode = "L" if self.data.in_channels == 1 else "RGB"
        try:
            with Image.open(path) as image:
                return image.convert(mode)
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise InputError(f"{path}: not a readable image ({one_line(exc)})") from exc


def _starts(length: int, window: int, stride: int) -> list[int]:
    """Window offsets covering ``[0, length)``, the last one flush with the end."""
    starts = list(range(0, max(length - window, 0) + 1, stride))
    if starts[-1] + window < length:
        starts.append(length - window)
    return starts


def valid_unet_output(size: int, depth: int) -> int:
    """Output side of a valid-padding U-Net (two unpadded 3x3 convs per level).

    Args:
        size: Input side.
        depth: Down-sampling steps.

    Returns:
        The output side (e.g. 572 -> 388 at depth 4).
    """
    for _ in range(depth):
        size = (size - 4) // 2
    size -= 4
    for _ in range(depth):
        size = size * 2 - 4
    return size


def build_task(cfg: DictConfig) -> SemanticSegmentationTask:
    """Create the task from the full config.

    Args:
        cfg: The composed config.

    Returns:
        The task.
    """
    return SemanticSegmentationTask(cfg)
