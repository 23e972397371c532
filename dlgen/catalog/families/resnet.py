"""Deep residual networks (He et al., 2016): ImageNet-style and CIFAR-style ResNets."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, PositiveInt

from dlgen.catalog.base import ArchitectureFamily, Names, Recipe, Variant
from dlgen.spec.common import Activation, Modality
from dlgen.spec.dataset import DatasetSpec
from dlgen.spec.hparams import ArchitectureHParams

_EXPANSION = {"basic": 1, "bottleneck": 4}
_STAGES = {"imagenet": 4, "cifar": 3}


class ResNetHParams(ArchitectureHParams):
    """ResNet hyperparameters, named as in torchvision.

    ``style="imagenet"`` has four stages of ``base_width * (1, 2, 4, 8)`` channels;
    ``style="cifar"`` has the paper's three stages of ``base_width * (1, 2, 4)``
    (16/32/64) with a 3x3 stem. ``stem="small"`` replaces the 7x7/2 convolution and
    max-pool by a 3x3/1 convolution, the usual change for 32x32 inputs.
    ``shortcut="A"`` is the parameter-free identity with zero padding of the CIFAR
    experiments, ``"B"`` the 1x1 projection used on ImageNet.
    """

    family: Literal["resnet"] = "resnet"
    style: Literal["imagenet", "cifar"] = "imagenet"
    block: Literal["basic", "bottleneck"] = "bottleneck"
    layers: list[PositiveInt] = Field(default_factory=lambda: [3, 4, 6, 3], min_length=3)
    base_width: PositiveInt = 64
    stem: Literal["standard", "small"] = "standard"
    shortcut: Literal["A", "B"] = "B"
    zero_init_residual: bool = False
    dropout: float = Field(default=0.0, ge=0, lt=1)
    activation: Activation = "relu"

    def check_dataset(self, dataset: DatasetSpec) -> list[str]:
        problems = []
        stages = _STAGES[self.style]
        if len(self.layers) != stages:
            problems.append(
                f"layers={self.layers} has {len(self.layers)} stages but style={self.style!r} "
                f"needs {stages}; give {stages} block counts (e.g. "
                f"{[3, 4, 6, 3] if stages == 4 else [3, 3, 3]})"
            )
        if self.style == "cifar" and self.stem != "small":
            problems.append("style='cifar' uses the 3x3 stem; set stem to 'small'")
        if dataset.modality != Modality.IMAGE:
            problems.append(
                f"ResNet needs image data but dataset {dataset.name!r} is "
                f"{dataset.modality.value}; pick an image dataset or another family"
            )
        if dataset.num_classes is None:
            problems.append(f"dataset {dataset.name!r} has no num_classes; set it")
        return problems

    def widths(self) -> list[int]:
        """Output channels of the first convolution of each stage (before expansion)."""
        return [self.base_width * 2**i for i in range(len(self.layers))]

    def estimate_parameters(self, dataset: DatasetSpec) -> int:
        channels = dataset.in_channels or (dataset.input_shape[0] if dataset.input_shape else 3)
        classes = dataset.num_classes or 1000
        kernel = 49 if self.stem == "standard" and self.style == "imagenet" else 9
        total = channels * self.base_width * kernel + 2 * self.base_width
        in_planes = self.base_width
        for index, (planes, blocks) in enumerate(zip(self.widths(), self.layers, strict=False)):
            for block_index in range(blocks):
                stride = 2 if index > 0 and block_index == 0 else 1
                total += self._block_parameters(in_planes, planes, stride)
                in_planes = planes * _EXPANSION[self.block]
        return total + in_planes * classes + classes

    def _block_parameters(self, in_planes: int, planes: int, stride: int) -> int:
        out_planes = planes * _EXPANSION[self.block]
        if self.block == "basic":
            body = 9 * in_planes * planes + 2 * planes + 9 * planes * planes + 2 * planes
        else:
            body = in_planes * planes + 2 * planes + 9 * planes * planes + 2 * planes
            body += planes * out_planes + 2 * out_planes
        needs_projection = stride != 1 or in_planes != out_planes
        if needs_projection and self.shortcut == "B":
            body += in_planes * out_planes + 2 * out_planes
        return body

    def _conv_layers(self, dataset: DatasetSpec) -> list[tuple[int, int, int, int]]:
        """Every convolution as ``(c_in, c_out, kernel_area, output_positions)``."""
        size = dataset.image_size or 224
        channels = dataset.in_channels or 3
        if self.style == "imagenet" and self.stem == "standard":
            convs = [(channels, self.base_width, 49, (size // 2) ** 2)]
            size //= 4  # 7x7/2 convolution, then 3x3/2 max-pool
        else:
            convs = [(channels, self.base_width, 9, size**2)]
        in_planes = self.base_width
        for index, (planes, blocks) in enumerate(zip(self.widths(), self.layers, strict=False)):
            for block_index in range(blocks):
                stride = 2 if index > 0 and block_index == 0 else 1
                out_size = size // stride
                out_planes = planes * _EXPANSION[self.block]
                if self.block == "basic":
                    convs += [(in_planes, planes, 9, out_size**2), (planes, planes, 9, out_size**2)]
                else:
                    convs += [
                        (in_planes, planes, 1, size**2),
                        (planes, planes, 9, out_size**2),
                        (planes, out_planes, 1, out_size**2),
                    ]
                if (stride != 1 or in_planes != out_planes) and self.shortcut == "B":
                    convs.append((in_planes, out_planes, 1, out_size**2))
                in_planes, size = out_planes, out_size
        return convs

    def estimate_flops(self, dataset: DatasetSpec) -> int | None:
        macs = sum(
            c_in * c_out * area * positions
            for c_in, c_out, area, positions in self._conv_layers(dataset)
        )
        classes = dataset.num_classes or 1000
        return 2 * (macs + self.widths()[-1] * _EXPANSION[self.block] * classes)

    def estimate_activations(self, dataset: DatasetSpec) -> int | None:
        # Each convolution keeps its output, the batch-norm output and the activation.
        return sum(3 * c_out * positions for _, c_out, _, positions in self._conv_layers(dataset))

    def complexity_notes(self, dataset: DatasetSpec) -> list[tuple[str, str]]:
        return [
            (f"{self.block} residual block (3x3 convolutions)", "O(H W * 9 * C^2)"),
            ("whole network", f"O(sum over {sum(self.layers)} blocks of H_i W_i C_i^2)"),
        ]


def _imagenet(depth: int, block: str, layers: list[int], params: int) -> Variant:
    return Variant(
        key=f"resnet{depth}",
        names=Names(
            en=f"ResNet-{depth}",
            zh=f"ResNet-{depth}",
            aliases=(f"resnet{depth}", f"resnet-{depth}", f"res{depth}", f"{depth}层残差网络"),
        ),
        hparams={"style": "imagenet", "block": block, "layers": layers, "base_width": 64},
        reference_params=params,
        reference=f"torchvision resnet{depth} (1000 classes)",
    )


def _cifar(depth: int, params: int) -> Variant:
    blocks = (depth - 2) // 6
    return Variant(
        key=f"resnet{depth}",
        names=Names(
            en=f"ResNet-{depth} (CIFAR)",
            zh=f"ResNet-{depth}（CIFAR版）",
            aliases=(f"resnet{depth}", f"resnet-{depth}", f"res{depth}"),
        ),
        hparams={
            "style": "cifar",
            "block": "basic",
            "layers": [blocks] * 3,
            "base_width": 16,
            "stem": "small",
            "shortcut": "A",
        },
        reference_params=params,
        reference=f"He et al. 2016, Table 6 (option A shortcuts, 10 classes): resnet{depth}",
    )


VARIANTS = (
    _imagenet(18, "basic", [2, 2, 2, 2], 11_689_512),
    _imagenet(34, "basic", [3, 4, 6, 3], 21_797_672),
    _imagenet(50, "bottleneck", [3, 4, 6, 3], 25_557_032),
    _imagenet(101, "bottleneck", [3, 4, 23, 3], 44_549_160),
    _imagenet(152, "bottleneck", [3, 8, 36, 3], 60_192_808),
    _cifar(20, 269_722),
    _cifar(32, 464_154),
    _cifar(44, 658_586),
    _cifar(56, 853_018),
    _cifar(110, 1_727_962),
)


def _cifar_style(model: dict[str, Any], data: dict[str, Any]) -> bool:
    return model.get("style") == "cifar"


def _imagenet_style_on_small_images(model: dict[str, Any], data: dict[str, Any]) -> bool:
    shape = data.get("input_shape") or [3, 224, 224]
    return (
        model.get("style", "imagenet") == "imagenet"
        and data.get("modality") == "image"
        and (shape[-1] <= 64)
    )


FAMILY = ArchitectureFamily(
    key="resnet",
    names=Names(
        en="ResNet",
        zh="残差网络",
        aliases=(
            "resnet",
            "res net",
            "residual network",
            "residual net",
            "deep residual network",
            "残差网络",
            "残差神经网络",
            "深度残差网络",
        ),
    ),
    hparams_model=ResNetHParams,
    tasks=("image_classification",),
    variants=VARIANTS,
    default_variant="resnet50",
    default_datasets={"image_classification": "cifar10"},
    dataset_variants={"cifar10": "resnet18", "cifar100": "resnet18", "imagenet": "resnet50"},
    paper="He et al., Deep Residual Learning for Image Recognition, CVPR 2016",
    recipes=(
        Recipe(
            "CIFAR ResNet",
            "He et al., Deep Residual Learning for Image Recognition, CVPR 2016, section 4.2",
            {
                "optimizer": "sgd",
                "lr": 0.1,
                "lr_reference_batch": 128,
                "momentum": 0.9,
                "weight_decay": 1e-4,
                "batch_size": 128,
                # 64k iterations of batch 128 on 45k images; lr / 10 at 32k and 48k.
                "epochs": 164,
                "scheduler": "multistep",
                "milestones": (0.5, 0.75),
                "gamma": 0.1,
                "warmup_epochs": 0,
                "grad_clip": None,
            },
            applies=_cifar_style,
        ),
        Recipe(
            "CIFAR (ImageNet-style ResNet on small images)",
            "the common CIFAR recipe for ImageNet-style ResNets (e.g. DeVries & Taylor 2017, "
            "Zagoruyko & Komodakis 2016): SGD, weight decay 5e-4, 200 epochs, cosine",
            {
                "optimizer": "sgd",
                "lr": 0.1,
                "lr_reference_batch": 128,
                "momentum": 0.9,
                "weight_decay": 5e-4,
                "batch_size": 128,
                "epochs": 200,
                "scheduler": "cosine",
                "warmup_epochs": 0,
                "grad_clip": None,
            },
            applies=_imagenet_style_on_small_images,
        ),
    ),
    # torchvision's ImageNet recipe (Goyal et al. 2017: lr 0.1 per 256 images).
    training_defaults={
        "optimizer": "sgd",
        "lr": 0.1,
        "lr_reference_batch": 256,
        "momentum": 0.9,
        "weight_decay": 1e-4,
        "scheduler": "step",
        "step_size": 30,
        "gamma": 0.1,
        "epochs": 90,
        "batch_size": 256,
        "grad_clip": None,
    },
)
