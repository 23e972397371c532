"""U-Net (Ronneberger et al., 2015) for semantic segmentation."""

from __future__ import annotations

from typing import Literal, NamedTuple

from pydantic import Field, PositiveInt, model_validator

from dlgen.catalog.base import ArchitectureFamily, Names, Variant
from dlgen.spec.common import Activation, Modality
from dlgen.spec.dataset import DatasetSpec
from dlgen.spec.hparams import DEBUG_MAX_IMAGE_SIZE, ArchitectureHParams

Padding = Literal["same", "valid"]
# Depth of the debug preset (configs/model/debug.yaml), at most the model's own.
DEBUG_DEPTH = 2
# Pixels two unpadded 3x3 convolutions take off a side.
_VALID_LOSS = 4


# Input sizes (the same rules as the generated models/unet.py) ---------------------------


def valid_output_size(size: int, depth: int) -> int | None:
    """Output side of a ``padding="valid"`` U-Net, or None when the input side does not fit.

    Each encoder level takes 4 pixels (two unpadded 3x3 convolutions) and its max pool
    halves an even side; the bottom takes 4; each decoder level doubles and takes 4.
    """
    for _ in range(depth):
        size -= _VALID_LOSS
        if size < 2 or size % 2:
            return None
        size //= 2
    size -= _VALID_LOSS
    for _ in range(depth):
        if size < 1:
            return None
        size = 2 * size - _VALID_LOSS
    return size if size >= 1 else None


def fits(size: int, depth: int, padding: str) -> bool:
    """Whether a U-Net of this depth and padding takes an input side."""
    if padding == "valid":
        return valid_output_size(size, depth) is not None
    return size >= 2**depth and size % 2**depth == 0


def nearest_valid_input(size: int, depth: int, padding: str = "valid") -> int:
    """The input side closest to ``size`` that fits, the larger one on a tie."""
    step = 2**depth
    offset = _VALID_LOSS if padding == "valid" else 0
    below = size - (size + offset) % step
    above = below if below == size else below + step
    while not fits(above, depth, padding):
        above += step
    if below != above and fits(below, depth, padding) and size - below < above - size:
        return below
    return above


class _Layer(NamedTuple):
    """One step of the network for the estimates."""

    parameters: int
    macs: int  # multiply-accumulates per image
    kept: int  # activation elements kept for the backward pass, per image


class UNetHParams(ArchitectureHParams):
    """U-Net hyperparameters (names as in the generated ``UNetConfig``).

    ``depth`` 2x2 max pools, each doubling ``base_channels``; every level is a double 3x3
    convolution (with batch norm when ``batch_norm``, else with biases). The decoder
    up-samples with 2x2 transposed convolutions, or bilinear interpolation (halving the
    bottom width, as milesial/Pytorch-UNet) when ``bilinear``. ``padding="same"`` keeps the
    size (sides multiples of ``2**depth``); ``padding="valid"`` is the paper's network with
    unpadded convolutions and cropped skips, whose output is smaller (572 -> 388 at depth
    4). ``batch_norm`` defaults to off with ``padding="valid"`` (the paper has none) and to
    on otherwise, unless it is given. ``dropout`` acts at the end of the contracting path.
    """

    family: Literal["unet"] = "unet"
    base_channels: PositiveInt = 64
    depth: PositiveInt = Field(default=4, le=6)
    bilinear: bool = False
    padding: Padding = "same"
    batch_norm: bool = True
    dropout: float = Field(default=0.0, ge=0, lt=1)
    activation: Activation = "relu"

    @model_validator(mode="after")
    def _no_norm_in_the_valid_network_by_default(self) -> UNetHParams:
        if self.padding == "valid" and "batch_norm" not in self.model_fields_set:
            self.batch_norm = False
        return self

    # Sizes ----------------------------------------------------------------------------

    def input_multiple(self) -> int:
        # Padded: sides are multiples of 2**depth. Valid: they are 2**depth * k - 4, so the
        # same step separates them; debug_image_size picks one that fits.
        return 2**self.depth

    def debug_depth(self) -> int:
        """Depth of the debug preset: the model's, at most :data:`DEBUG_DEPTH`."""
        return min(self.depth, DEBUG_DEPTH)

    def debug_image_size(self, dataset: DatasetSpec) -> int | None:
        size = super().debug_image_size(dataset)
        if size is None or self.padding == "same":
            return size  # a multiple of 2**depth, so also of 2**debug_depth
        side = min(dataset.image_size or size, DEBUG_MAX_IMAGE_SIZE)
        return nearest_valid_input(side, self.debug_depth(), "valid")

    def output_side(self, size: int) -> int | None:
        """Output side for an input side: the same padded; smaller (or None) valid."""
        if self.padding == "same":
            return size if fits(size, self.depth, "same") else None
        return valid_output_size(size, self.depth)

    def output_shape(self, task_shape: tuple[int, ...]) -> tuple[int, ...]:
        if self.padding == "same" or len(task_shape) != 3:
            return task_shape
        channels, height, width = task_shape
        return (channels, self.output_side(height) or 0, self.output_side(width) or 0)

    def _size_problem(self, height: int, width: int) -> str | None:
        if fits(height, self.depth, self.padding) and fits(width, self.depth, self.padding):
            return None
        depth, step = self.depth, 2**self.depth
        near_h = nearest_valid_input(height, depth, self.padding)
        near_w = nearest_valid_input(width, depth, self.padding)
        if self.padding == "same":
            problem = f"is not divisible by 2**depth={step} (padding='same', depth={depth})"
            output, remedy = "", "change depth"
        else:
            problem = (
                f"does not pool evenly at every level with padding='valid' (depth={depth}: "
                f"sides of the form {step}k - 4, e.g. 572 -> 388 at depth 4)"
            )
            out_h, out_w = valid_output_size(near_h, depth), valid_output_size(near_w, depth)
            output, remedy = f" (output {out_h}x{out_w})", "change depth or padding"
        return (
            f"image size {height}x{width} {problem}; the nearest valid size is "
            f"{near_h}x{near_w}{output}; set the dataset's input_shape to it or {remedy}"
        )

    def check_dataset(self, dataset: DatasetSpec) -> list[str]:
        if dataset.modality != Modality.IMAGE:
            return [f"U-Net needs images; dataset {dataset.name!r} is {dataset.modality.value}"]
        problems = []
        height, width = dataset.input_shape[1:]
        size_problem = self._size_problem(height, width)
        if size_problem is not None:
            problems.append(size_problem)
        if dataset.num_classes is None:
            problems.append(f"dataset {dataset.name!r} has no num_classes; set it")
        return problems

    # Counts ---------------------------------------------------------------------------

    def widths(self) -> list[int]:
        """Channels of each level's double convolution, top to bottom."""
        return [self.base_channels * 2**level for level in range(self.depth + 1)]

    def _conv3x3(self, c_in: int, c_out: int, side: int) -> _Layer:
        per_channel = 2 if self.batch_norm else 1  # batch norm (weight, bias) or a bias
        kept = (3 if self.batch_norm else 2) * c_out * side**2  # conv, [norm,] activation
        return _Layer(9 * c_in * c_out + per_channel * c_out, 9 * c_in * c_out * side**2, kept)

    def _layers(self, in_channels: int, classes: int, size: int) -> list[_Layer]:
        """Every step of the network on ``size x size`` images, in forward order."""
        shrink = 2 if self.padding == "valid" else 0
        widths = self.widths()
        outputs = [*widths[:-1], widths[-1] // 2 if self.bilinear else widths[-1]]
        layers: list[_Layer] = []
        skips: list[int] = []
        channels, side = in_channels, size
        for level, out in enumerate(outputs):
            if level > 0:
                side = max(side // 2, 1)
                layers.append(_Layer(0, 0, channels * side**2))  # max-pool output
            layers.append(self._conv3x3(channels, out, max(side - shrink, 1)))
            side = max(side - 2 * shrink, 1)
            layers.append(self._conv3x3(out, out, side))
            skips.append(out)
            channels = out
        for level in range(self.depth - 1, -1, -1):
            side *= 2
            if self.bilinear:
                up = channels
                layers.append(_Layer(0, 0, up * side**2))  # interpolated map
            else:  # 2x2 stride-2 transposed convolution: one tap per output pixel
                up = channels // 2
                layers.append(_Layer(4 * channels * up + up, channels * up * side**2, up * side**2))
            concat = skips[level] + up
            layers.append(_Layer(0, 0, concat * side**2))  # the concatenation
            out = widths[level] // 2 if self.bilinear and level > 0 else widths[level]
            mid = concat // 2 if self.bilinear else out
            layers.append(self._conv3x3(concat, mid, max(side - shrink, 1)))
            side = max(side - 2 * shrink, 1)
            layers.append(self._conv3x3(mid, out, side))
            channels = out
        layers.append(_Layer(channels * classes + classes, channels * classes * side**2, 0))
        return layers

    def _dataset_layers(self, dataset: DatasetSpec) -> list[_Layer]:
        size = dataset.image_size or 256
        return self._layers(dataset.input_shape[0], dataset.num_classes or 2, size)

    def estimate_parameters(self, dataset: DatasetSpec) -> int:
        # Exact for every configuration (tests/test_unet_model.py builds them).
        return sum(layer.parameters for layer in self._dataset_layers(dataset))

    def estimate_flops(self, dataset: DatasetSpec) -> int | None:
        return 2 * sum(layer.macs for layer in self._dataset_layers(dataset))

    def estimate_activations(self, dataset: DatasetSpec) -> int | None:
        return sum(layer.kept for layer in self._dataset_layers(dataset))

    def complexity_notes(self, dataset: DatasetSpec) -> list[tuple[str, str]]:
        return [
            ("double 3x3 convolution at level l", "O(H_l W_l * 9 * C_l^2)"),
            (
                f"whole network ({self.depth + 1} levels, each about the same cost)",
                "O(depth * H W * 9 * C_0^2)",
            ),
        ]


VARIANTS = (
    Variant(
        key="unet",
        names=Names(
            en="U-Net (padded, batch norm)",
            zh="U-Net（填充卷积，批归一化）",
            aliases=("padded unet", "unet with batch norm", "unet bn", "填充unet"),
        ),
        hparams={"base_channels": 64, "depth": 4, "bilinear": False, "padding": "same"},
        reference_params=31_037_763,
        reference="milesial/Pytorch-UNet UNet(n_channels=3, n_classes=3, bilinear=False): "
        "padded convolutions with batch norm, transposed-convolution up-sampling",
    ),
    Variant(
        key="original",
        names=Names(
            en="U-Net (original, valid convolutions)",
            zh="原始U-Net（无填充卷积）",
            aliases=(
                "original unet",
                "unet original",
                "paper unet",
                "valid unet",
                "unpadded unet",
                "原始unet",
                "原版unet",
            ),
        ),
        hparams={
            "base_channels": 64,
            "depth": 4,
            "bilinear": False,
            "padding": "valid",
            "batch_norm": False,
        },
        # The paper's input tile (Fig. 1): 572x572 in, 388x388 out.
        dataset_overrides={"input_shape": [3, 572, 572]},
        reference_params=31_031_875,
        reference="Ronneberger et al. 2015, Fig. 1: unpadded convolutions with biases, no "
        "normalisation, up-convolutions, cropped skips; 31,030,658 parameters for the paper's "
        "1 channel and 2 classes, 31,031,875 for 3 channels and 3 classes",
    ),
    Variant(
        key="small",
        names=Names(
            en="small U-Net", zh="小型U-Net", aliases=("small unet", "mini unet", "小型unet")
        ),
        hparams={"base_channels": 32, "depth": 4, "bilinear": True},
    ),
)

FAMILY = ArchitectureFamily(
    key="unet",
    names=Names(
        en="U-Net",
        zh="U型网络",
        aliases=("unet", "u-net", "u net", "u型网络", "u形网络"),
    ),
    hparams_model=UNetHParams,
    tasks=("semantic_segmentation",),
    variants=VARIANTS,
    default_variant="unet",
    default_datasets={"semantic_segmentation": "oxford_pet"},
    paper="Ronneberger et al., U-Net: Convolutional Networks for Biomedical Image "
    "Segmentation, MICCAI 2015",
    training_defaults={
        "optimizer": "adamw",
        "lr": 1e-3,
        "weight_decay": 1e-4,
        "scheduler": "cosine",
        "epochs": 50,
        "batch_size": 16,
    },
    redirects={"image_generation": "ddpm"},
)
