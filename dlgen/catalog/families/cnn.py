"""Plain convolutional networks: LeNet-5, a small configurable 2-D CNN, a 1-D CNN for signals."""

from __future__ import annotations

from math import prod
from typing import Literal

from pydantic import Field, NonNegativeInt, PositiveInt

from dlgen.catalog.base import ArchitectureFamily, Names, Variant
from dlgen.spec.common import Activation, Modality
from dlgen.spec.dataset import DatasetSpec
from dlgen.spec.hparams import ArchitectureHParams

_DATA_DIMS = {Modality.IMAGE: 2, Modality.SIGNAL: 1}


class CNNHParams(ArchitectureHParams):
    """A stack of conv stages and a fully connected head.

    Each stage is one stride-1 convolution with ``channels[i]`` filters, optional
    batch norm, the activation and a 2x pooling. ``padding`` gives each
    convolution's zero padding; ``None`` means "same" padding (``kernel_size // 2``).
    With ``global_pool`` the last feature map is averaged to one vector, otherwise
    it is flattened. ``hidden_dims`` are the fully connected layers before the
    classifier.
    """

    family: Literal["cnn"] = "cnn"
    dims: Literal[1, 2] = 2
    channels: list[PositiveInt] = Field(default_factory=lambda: [32, 64, 128], min_length=1)
    kernel_size: PositiveInt = 3
    padding: list[NonNegativeInt] | None = None
    pool: Literal["max", "avg"] = "max"
    batch_norm: bool = True
    global_pool: bool = True
    hidden_dims: list[PositiveInt] = Field(default_factory=lambda: [128])
    dropout: float = Field(default=0.25, ge=0, lt=1)
    activation: Activation = "relu"

    def paddings(self) -> list[int]:
        """The padding of every convolution."""
        if self.padding is None:
            return [self.kernel_size // 2] * len(self.channels)
        return list(self.padding)

    def check_dataset(self, dataset: DatasetSpec) -> list[str]:
        data_dims = _DATA_DIMS.get(dataset.modality)
        if data_dims is None:
            return [
                f"a CNN needs images or signals but dataset {dataset.name!r} is "
                f"{dataset.modality.value}; pick an image or signal dataset"
            ]
        if data_dims != self.dims:
            kind = "images (2-D)" if data_dims == 2 else "signals (1-D)"
            return [
                f"dims={self.dims} but dataset {dataset.name!r} holds {kind}; "
                f"set dims to {data_dims}"
            ]
        problems = []
        if self.padding is not None and len(self.padding) != len(self.channels):
            problems.append(
                f"padding has {len(self.padding)} entries for {len(self.channels)} conv "
                "layers; give one per entry of channels, or null for 'same' padding"
            )
        elif min(self.feature_size(dataset)) < 1:
            problems.append(
                f"{len(self.channels)} conv stages with 2x pooling shrink input "
                f"{dataset.input_shape[1:]} to nothing; use fewer channels entries or "
                "larger inputs"
            )
        if dataset.num_classes is None:
            problems.append(f"dataset {dataset.name!r} has no num_classes; set it")
        return problems

    def feature_size(self, dataset: DatasetSpec) -> list[int]:
        """Spatial size of the last feature map, per axis."""
        sizes = list(dataset.input_shape[1:])
        for pad in self.paddings():
            sizes = [(size + 2 * pad - self.kernel_size + 1) // 2 for size in sizes]
        return sizes

    def estimate_parameters(self, dataset: DatasetSpec) -> int:
        in_channels = dataset.input_shape[0]
        classes = dataset.num_classes or 10
        kernel = self.kernel_size**self.dims
        total = 0
        for out_channels in self.channels:
            total += in_channels * out_channels * kernel
            total += 2 * out_channels if self.batch_norm else out_channels
            in_channels = out_channels
        features = in_channels
        if not self.global_pool:
            features *= prod(max(size, 0) for size in self.feature_size(dataset))
        for hidden in [*self.hidden_dims, classes]:
            total += features * hidden + hidden
            features = hidden
        return total

    def _stage_sizes(self, dataset: DatasetSpec) -> list[tuple[int, int, int, int]]:
        """Per stage: input channels, output channels, conv output and pooled positions."""
        sizes, in_channels, stages = list(dataset.input_shape[1:]), dataset.input_shape[0], []
        for out_channels, pad in zip(self.channels, self.paddings(), strict=False):
            conv = [max(size + 2 * pad - self.kernel_size + 1, 0) for size in sizes]
            sizes = [size // 2 for size in conv]
            stages.append((in_channels, out_channels, prod(conv), prod(sizes)))
            in_channels = out_channels
        return stages

    def estimate_flops(self, dataset: DatasetSpec) -> int | None:
        kernel = self.kernel_size**self.dims
        macs = sum(
            c_in * c_out * kernel * conv for c_in, c_out, conv, _ in self._stage_sizes(dataset)
        )
        features = self.channels[-1]
        if not self.global_pool:
            features *= prod(max(size, 0) for size in self.feature_size(dataset))
        for hidden in [*self.hidden_dims, dataset.num_classes or 10]:
            macs += features * hidden
            features = hidden
        return 2 * macs

    def estimate_activations(self, dataset: DatasetSpec) -> int | None:
        # Conv output, norm output and activation output per stage, then the pooled map.
        per_conv = 3 if self.batch_norm else 2
        stages = self._stage_sizes(dataset)
        total = sum(c_out * (per_conv * conv + pooled) for _, c_out, conv, pooled in stages)
        return total + 2 * sum(self.hidden_dims)

    def complexity_notes(self, dataset: DatasetSpec) -> list[tuple[str, str]]:
        return [
            (
                f"convolution stage ({self.dims}-D, kernel k={self.kernel_size})",
                f"O(positions * k^{self.dims} * C_in * C_out)",
            ),
            ("fully connected head", "O(features * hidden)"),
        ]


VARIANTS = (
    Variant(
        key="lenet5",
        names=Names(
            en="LeNet-5",
            zh="LeNet-5",
            aliases=("lenet", "lenet5", "lenet-5", "le net", "le-net"),
        ),
        hparams={
            "dims": 2,
            "channels": [6, 16],
            "kernel_size": 5,
            "padding": [2, 0],
            "pool": "avg",
            "batch_norm": False,
            "global_pool": False,
            "hidden_dims": [120, 84],
            "dropout": 0.0,
            "activation": "tanh",
        },
        reference_params=61_706,
        reference="LeCun et al. 1998 on 28x28 MNIST with the first convolution padded by 2",
    ),
    Variant(
        key="small",
        names=Names(
            en="small CNN",
            zh="小型卷积网络",
            aliases=("small cnn", "simple cnn", "basic cnn", "简单cnn", "简单卷积网络", "小型cnn"),
        ),
        hparams={"dims": 2, "channels": [32, 64, 128], "kernel_size": 3, "hidden_dims": [128]},
    ),
    Variant(
        key="conv1d",
        names=Names(
            en="1-D CNN",
            zh="一维卷积网络",
            aliases=(
                "1d cnn",
                "1d-cnn",
                "cnn1d",
                "conv1d",
                "1d conv",
                "1d convolutional network",
                "一维cnn",
                "一维卷积",
                "一维卷积网络",
                "一维卷积神经网络",
            ),
        ),
        hparams={
            "dims": 1,
            "channels": [32, 64, 128, 128],
            "kernel_size": 7,
            "hidden_dims": [64],
            "dropout": 0.2,
        },
    ),
)

FAMILY = ArchitectureFamily(
    key="cnn",
    names=Names(
        en="Convolutional Neural Network",
        zh="卷积神经网络",
        aliases=(
            "cnn",
            "convnet",
            "conv net",
            "convolutional network",
            "convolutional neural network",
            "卷积神经网络",
            "卷积网络",
        ),
    ),
    hparams_model=CNNHParams,
    tasks=("image_classification", "sequence_classification"),
    variants=VARIANTS,
    default_variant="small",
    default_datasets={
        "image_classification": "mnist",
        "sequence_classification": "ptb_xl",
    },
    dataset_variants={"ptb_xl": "conv1d"},
    paper="LeCun et al., Gradient-Based Learning Applied to Document Recognition, 1998",
    training_defaults={
        "optimizer": "adam",
        "lr": 1e-3,
        "weight_decay": 1e-4,
        "scheduler": "cosine",
        "epochs": 20,
        "batch_size": 64,
        "grad_clip": None,
    },
    redirects={"semantic_segmentation": "unet"},
)
