"""U-Net model template: both paddings, counted exactly, sizes checked with clear guidance.

The model file is imported from a rendered project (``tests/models/rendered.py``), so it is
the code a user gets. Parameter counts are taken on the ``meta`` device; forward/backward
runs use a few channels (the 572x572 tile of the paper at base width 2).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from dlgen import catalog
from dlgen.catalog.families import unet as catalog_unet
from dlgen.catalog.families.unet import UNetHParams
from dlgen.spec.common import Modality
from dlgen.spec.dataset import DatasetSpec
from tests.models.rendered import import_rendered_models

# milesial/Pytorch-UNet UNet(n_channels=3, n_classes=3, bilinear=False).
PADDED_BN_COUNT = 31_037_763
# Ronneberger et al. 2015, Fig. 1: 1 input channel, 2 classes, valid convolutions.
PAPER_COUNT = 31_030_658
ORIGINAL = {"padding": "valid", "batch_norm": False}

# (hyperparameters, in_channels, num_classes): every branch of the channel schedule.
COUNT_CASES = [
    pytest.param({}, 3, 3, id="default"),
    pytest.param({"bilinear": True}, 3, 3, id="bilinear"),
    pytest.param(ORIGINAL, 1, 2, id="original"),
    pytest.param({**ORIGINAL, "bilinear": True}, 1, 2, id="valid-bilinear"),
    pytest.param({"padding": "valid", "batch_norm": True}, 3, 5, id="valid-bn"),
    pytest.param({"batch_norm": False, "depth": 2, "base_channels": 8}, 4, 1, id="no-bn-binary"),
    pytest.param({"depth": 1, "base_channels": 3, "bilinear": True}, 1, 7, id="depth1-odd"),
    pytest.param({"depth": 6, "base_channels": 16}, 3, 21, id="depth6"),
    pytest.param({"depth": 5, "base_channels": 5, "bilinear": True}, 2, 1, id="depth5-odd"),
]


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return import_rendered_models(tmp_path_factory.mktemp("rendered"), ("unet",))["unet"]


def _build(module: ModuleType, **fields: Any) -> Any:
    """The rendered module's ``UNet`` (typed Any: its class is only known at run time)."""
    return module.UNet(module.UNetConfig(**fields))


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _meta_count(module: ModuleType, **fields: Any) -> int:
    with torch.device("meta"):
        return _count(_build(module, **fields))


def _dataset(channels: int, classes: int, size: int = 64) -> DatasetSpec:
    return DatasetSpec(
        name="custom",
        modality=Modality.IMAGE,
        source="synthetic",
        input_shape=[channels, size, size],
        num_classes=classes,
    )


# Parameter counts ----------------------------------------------------------------------


def test_padded_batch_norm_unet_has_milesials_count(module: ModuleType) -> None:
    assert _meta_count(module, in_channels=3, num_classes=3) == PADDED_BN_COUNT


def test_original_unet_has_the_papers_count(module: ModuleType) -> None:
    assert _meta_count(module, in_channels=1, num_classes=2, **ORIGINAL) == PAPER_COUNT
    hparams = UNetHParams(padding="valid")
    assert hparams.estimate_parameters(_dataset(1, 2, 572)) == PAPER_COUNT


@pytest.mark.parametrize(("hparams", "channels", "classes"), COUNT_CASES)
def test_estimate_equals_the_built_count(
    module: ModuleType, hparams: dict[str, Any], channels: int, classes: int
) -> None:
    built = _meta_count(module, in_channels=channels, num_classes=classes, **hparams)
    estimate = UNetHParams(**hparams).estimate_parameters(_dataset(channels, classes))
    assert estimate == built


@pytest.mark.parametrize("variant", catalog.family("unet").variants, ids=lambda v: v.key)
def test_catalog_variants_build_their_reference_count(
    module: ModuleType, variant: catalog.Variant
) -> None:
    entry = catalog.dataset("oxford_pet")
    shape = variant.dataset_overrides.get("input_shape", entry.input_shape)
    dataset = _dataset(shape[0], entry.num_classes or 2, shape[-1])
    hparams = UNetHParams(**variant.hparams)
    assert not hparams.check_dataset(dataset)
    fields = hparams.model_dump(exclude={"family"})
    built = _meta_count(module, in_channels=shape[0], num_classes=dataset.num_classes, **fields)
    assert built == hparams.estimate_parameters(dataset)
    if variant.reference_params is not None:
        assert built == variant.reference_params


@pytest.mark.parametrize(
    ("hparams", "size"),
    [
        ({}, 64),
        (ORIGINAL, 92),
        ({"bilinear": True, "depth": 3}, 48),
        ({**ORIGINAL, "depth": 3}, 100),
    ],
    ids=["same", "valid", "same-bilinear", "valid-depth3"],
)
def test_flop_estimate_equals_torchs_count(
    module: ModuleType, hparams: dict[str, Any], size: int
) -> None:
    fields = {"base_channels": 4, "depth": 2, **hparams}
    model = _build(module, in_channels=3, num_classes=3, **fields).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.randn(1, 3, size, size))
    estimate = UNetHParams(**fields).estimate_flops(_dataset(3, 3, size))
    assert estimate == counter.get_total_flops()


# Sizes ---------------------------------------------------------------------------------


def test_valid_padding_maps_the_papers_tile_572_to_388(module: ModuleType) -> None:
    assert module.valid_output_size(572, 4) == 388
    model = _build(module, in_channels=1, num_classes=2, base_channels=2, **ORIGINAL).eval()
    assert model.output_size(572, 572) == (388, 388)
    with torch.no_grad():
        assert model(torch.randn(1, 1, 572, 572)).shape == (1, 2, 388, 388)
        # Sides are independent: 572 x 508 -> 388 x 324.
        assert model(torch.randn(1, 1, 572, 508)).shape == (1, 2, 388, 324)


def test_padded_output_has_the_input_size(module: ModuleType) -> None:
    model = _build(module, in_channels=3, num_classes=1, base_channels=2).eval()
    assert model.output_size(64, 48) == (64, 48)
    with torch.no_grad():
        assert model(torch.randn(2, 3, 64, 48)).shape == (2, 1, 64, 48)


@pytest.mark.parametrize(
    ("hparams", "size", "message"),
    [
        (ORIGINAL, 570, "nearest valid size is 572x572 (output 388x388)"),
        (ORIGINAL, 256, "nearest valid size is 252x252 (output 68x68)"),
        ({}, 250, "nearest valid size is 256x256"),
        ({}, 8, "nearest valid size is 16x16"),
    ],
    ids=["valid-570", "valid-256", "same-250", "same-too-small"],
)
def test_a_size_that_does_not_fit_names_the_nearest_valid_one(
    module: ModuleType, hparams: dict[str, Any], size: int, message: str
) -> None:
    model = _build(module, in_channels=3, num_classes=2, base_channels=2, **hparams)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        model(torch.randn(1, 3, size, size))
    # The catalog's check of the Spec gives the same guidance.
    problems = UNetHParams(**hparams).check_dataset(_dataset(3, 2, size))
    assert len(problems) == 1 and message in problems[0]


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5])
def test_size_rules_agree_with_the_catalog(module: ModuleType, padding: str, depth: int) -> None:
    for size in range(1, 400):
        ours = module.valid_output_size(size, depth)
        assert ours == catalog_unet.valid_output_size(size, depth), size
        assert module.fits(size, depth, padding) == catalog_unet.fits(size, depth, padding)
        nearest = module.nearest_valid_input(size, depth, padding)
        assert nearest == catalog_unet.nearest_valid_input(size, depth, padding), size
        assert module.fits(nearest, depth, padding)
        assert abs(nearest - size) <= 2**depth or size < 12 * 2**depth  # only below the minimum


def test_valid_sizes_follow_the_closed_form(module: ModuleType) -> None:
    # 2**depth * k - 4 with k large enough gives 2**depth * (k - 12) + 4.
    for depth in (2, 3, 4):
        for k in range(12, 40):
            assert module.valid_output_size(2**depth * k - 4, depth) == 2**depth * (k - 12) + 4


def test_debug_image_size_fits_the_debug_depth() -> None:
    for padding in ("same", "valid"):
        for depth in range(1, 7):
            hparams = UNetHParams(padding=padding, depth=depth)
            for size in (32, 64, 256, 572, 1024):
                dataset = _dataset(3, 2, size)
                if hparams.check_dataset(dataset):
                    continue
                debug = hparams.debug_image_size(dataset)
                assert debug is not None and debug <= 128
                assert catalog_unet.fits(debug, hparams.debug_depth(), padding), (padding, depth)


def test_valid_padding_turns_batch_norm_off_unless_set() -> None:
    assert UNetHParams().batch_norm
    assert not UNetHParams(padding="valid").batch_norm
    assert UNetHParams(padding="valid", batch_norm=True).batch_norm
    again = UNetHParams.model_validate(UNetHParams(padding="valid").model_dump())
    assert not again.batch_norm


# Training ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hparams", "size"),
    [({}, 32), ({"bilinear": True}, 32), (ORIGINAL, 60), ({**ORIGINAL, "bilinear": True}, 60)],
    ids=["same", "same-bilinear", "valid", "valid-bilinear"],
)
def test_forward_backward_reaches_every_parameter(
    module: ModuleType, hparams: dict[str, Any], size: int
) -> None:
    torch.manual_seed(0)
    fields = {"base_channels": 4, "depth": 2, "dropout": 0.1, **hparams}
    model = _build(module, in_channels=3, num_classes=2, **fields).train()
    logits = model(torch.randn(2, 3, size, size))
    assert logits.shape == (2, 2, *model.output_size(size, size))
    targets = torch.randint(0, 2, (2, *logits.shape[-2:]))
    nn.functional.cross_entropy(logits, targets).backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all() and parameter.grad.abs().sum() > 0, name


# milesial/Pytorch-UNet checkpoints -------------------------------------------------------


def _milesial_keys(depth: int = 4) -> list[str]:
    """State-dict keys of milesial's UNet(bilinear=False) (unet/unet_parts.py's layout)."""
    norm = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    double_conv = [f"double_conv.{i}.weight" for i in (0, 3)]
    double_conv += [f"double_conv.{i}.{name}" for i in (1, 4) for name in norm]
    blocks = ["inc", *(f"down{i}.maxpool_conv.1" for i in range(1, depth + 1))]
    blocks += [f"up{i}.conv" for i in range(1, depth + 1)]
    keys = [f"{block}.{key}" for block in blocks for key in double_conv]
    keys += [f"up{i}.up.{name}" for i in range(1, depth + 1) for name in ("weight", "bias")]
    return keys + ["outc.conv.weight", "outc.conv.bias"]


def test_milesial_state_dicts_load_with_a_new_head(module: ModuleType) -> None:
    """A Carvana checkpoint (2 classes) fine-tunes a 3-class model: renamed, head reset."""
    assert module.milesial_key("down2.maxpool_conv.1.double_conv.4.running_var") == (
        "encoder.levels.2.norm2.running_var"
    )
    assert module.milesial_key("up1.up.weight") == "decoder.levels.0.up.weight"
    assert module.milesial_key("outc.conv.bias") == "head.bias"
    model = _build(module, in_channels=3, num_classes=3, base_channels=2)
    shapes = {module.milesial_key(key): key for key in _milesial_keys()}
    assert set(shapes) == set(model.state_dict())
    source = _build(module, in_channels=3, num_classes=2, base_channels=2).state_dict()
    milesial = {shapes[key]: value for key, value in source.items()}
    package = module.__name__.rsplit(".", 2)[0]
    pretrained = importlib.import_module(f"{package}.utils.pretrained")
    report = pretrained.load_state_dict_into(model, milesial, "unet_carvana.pth")
    assert report.dropped == ["head.weight", "head.bias"]
    assert "renamed 118 milesial/Pytorch-UNet keys" in report.notes
    weight = model.state_dict()["encoder.levels.3.conv2.weight"]
    torch.testing.assert_close(weight, source["encoder.levels.3.conv2.weight"])
