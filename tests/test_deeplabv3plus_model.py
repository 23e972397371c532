"""DeepLabV3+ model template: faithful to segmentation_models_pytorch, counted exactly.

The model file is imported from a rendered project (``tests/models/rendered.py``), so it is
the code a user gets, with the project's ResNet as its encoder. Parameter counts are taken
on the ``meta`` device; numerical checks run ResNet-50 on 64x64 images or the debug preset.
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import pytest
import torch
import torchvision
import yaml
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from omegaconf import OmegaConf
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from dlgen import catalog
from dlgen.catalog.families.deeplabv3plus import DeepLabV3PlusHParams
from dlgen.render import TEMPLATES_ROOT, yaml_value
from dlgen.spec.dataset import DatasetSpec
from tests.models.rendered import dataset_spec, import_rendered_models, variant_spec

smp = pytest.importorskip("segmentation_models_pytorch")

# smp.DeepLabV3Plus(<encoder>, encoder_weights=None, classes=21) at output stride 16.
SMP_COUNTS = {"resnet50": 26_682_725, "resnet101": 45_674_853}
SMP_RATES = {16: (6, 12, 18), 8: (12, 24, 36)}


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return import_rendered_models(tmp_path_factory.mktemp("rendered"), ("deeplabv3plus",))[
        "deeplabv3plus"
    ]


def _sibling(module: ModuleType, name: str) -> ModuleType:
    """Another module of the rendered project, e.g. ``models.resnet``."""
    package = module.__name__.rsplit(".", 2)[0]
    return importlib.import_module(f"{package}.{name}")


def _build(module: ModuleType, **fields: Any) -> nn.Module:
    model: nn.Module = module.DeepLabV3Plus(module.DeepLabV3PlusConfig(**fields))
    return model


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _smp(backbone: str = "resnet50", output_stride: int = 16, **kwargs: Any) -> nn.Module:
    return smp.DeepLabV3Plus(
        backbone,
        encoder_weights=None,
        encoder_output_stride=output_stride,
        decoder_atrous_rates=SMP_RATES[output_stride],
        **kwargs,
    )


def _dataset(in_channels: int = 3, num_classes: int = 21, size: int = 512) -> DatasetSpec:
    return dataset_spec("pascal_voc").model_copy(
        update={
            "input_shape": [in_channels, size, size],
            "in_channels": in_channels,
            "num_classes": num_classes,
        }
    )


# Parameter counts ----------------------------------------------------------------------


@pytest.mark.parametrize("backbone", sorted(SMP_COUNTS))
def test_count_equals_smp(module: ModuleType, backbone: str) -> None:
    with torch.device("meta"):
        ours = _count(_build(module, backbone=backbone))
        reference = _count(smp.DeepLabV3Plus(backbone, encoder_weights=None, classes=21))
    assert ours == reference == SMP_COUNTS[backbone]


@pytest.mark.parametrize("variant", catalog.family("deeplabv3plus").variants, ids=lambda v: v.key)
def test_catalog_reference_equals_the_built_model(
    module: ModuleType, variant: catalog.Variant
) -> None:
    spec = variant_spec("deeplabv3plus", variant)
    with torch.device("meta"):
        ours = _count(_build(module, num_classes=spec.dataset.num_classes, **variant.hparams))
    assert ours == variant.reference_params == spec.estimated_parameters()


ESTIMATE_CASES = [
    # backbone, output_stride, aspp, decoder, low-level, in_channels, classes
    ("resnet50", 16, 256, 256, 48, 3, 21),
    ("resnet50", 8, 256, 256, 48, 3, 1),
    ("resnet101", 8, 128, 64, 32, 1, 19),
    ("resnet101", 16, 512, 256, 64, 4, 150),
    ("resnet50", 16, 96, 160, 24, 12, 2),
]


@pytest.mark.parametrize("case", ESTIMATE_CASES, ids=lambda c: "-".join(map(str, c)))
def test_estimate_equals_the_built_count(module: ModuleType, case: tuple[Any, ...]) -> None:
    backbone, stride, aspp, decoder, low, channels, classes = case
    hparams = DeepLabV3PlusHParams(
        backbone=backbone,
        output_stride=stride,
        aspp_channels=aspp,
        decoder_channels=decoder,
        low_level_channels=low,
    )
    with torch.device("meta"):
        model = _build(
            module,
            in_channels=channels,
            num_classes=classes,
            **hparams.model_dump(exclude={"family"}),
        )
    assert _count(model) == hparams.estimate_parameters(_dataset(channels, classes))


@pytest.mark.parametrize("output_stride", [16, 8])
def test_flops_estimate_equals_the_flop_counter(
    module: ModuleType, output_stride: Literal[8, 16]
) -> None:
    hparams = DeepLabV3PlusHParams(output_stride=output_stride, aspp_channels=128)
    with torch.device("meta"):
        model = _build(module, image_size=128, **hparams.model_dump(exclude={"family"})).eval()
        images = torch.empty(1, 3, 128, 128)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(images)
    assert hparams.estimate_flops(_dataset(size=128)) == counter.get_total_flops()


# Numerical equivalence with segmentation_models_pytorch ----------------------------------


def _randomise_norms(model: nn.Module) -> None:
    """Random affine parameters and statistics, so eval-mode batch norms are not identities."""
    for norm in model.modules():
        if isinstance(norm, nn.BatchNorm2d):
            assert norm.running_mean is not None and norm.running_var is not None
            norm.weight.data.uniform_(0.5, 1.5)
            norm.bias.data.uniform_(-0.1, 0.1)
            norm.running_mean.uniform_(-0.1, 0.1)
            norm.running_var.uniform_(0.5, 1.5)


@pytest.mark.parametrize("output_stride", [16, 8])
def test_outputs_equal_smp(module: ModuleType, output_stride: int) -> None:
    torch.manual_seed(0)
    reference = _smp(output_stride=output_stride, classes=21)
    _randomise_norms(reference)
    ours = _build(module, output_stride=output_stride, image_size=64)
    state = module.from_smp_state_dict(reference.state_dict())
    assert list(state) == list(ours.state_dict())  # the same modules in the same order
    ours.load_state_dict(state)
    ours.eval()
    reference.eval()
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        logits = ours(images)
        torch.testing.assert_close(logits, reference(images), rtol=1e-5, atol=1e-5)
    assert logits.shape == (2, 21, 64, 64)


def test_binary_model_equals_smp_through_the_pretrained_loader(module: ModuleType) -> None:
    """``model.pretrained`` accepts an smp state dict as it is (adapt_pretrained renames)."""
    torch.manual_seed(0)
    reference = _smp(output_stride=8, classes=1)
    _randomise_norms(reference)
    ours = _build(module, output_stride=8, num_classes=1, image_size=32)
    pretrained = _sibling(module, "utils.pretrained")
    report = pretrained.load_state_dict_into(ours, reference.state_dict())
    assert report.loaded == report.total and not report.dropped
    assert report.notes and "segmentation_models_pytorch" in report.notes[0]
    ours.eval()
    reference.eval()
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ours(images), reference(images), rtol=1e-5, atol=1e-5)


def test_imagenet_resnet_loads_into_the_encoder(module: ModuleType) -> None:
    """A torchvision ResNet-50 state dict fills the encoder; decoder and head stay fresh."""
    torch.manual_seed(0)
    backbone = torchvision.models.resnet50().state_dict()
    ours = _build(module, num_classes=5, image_size=64)
    decoder_before = {k: v.clone() for k, v in ours.state_dict().items() if "encoder" not in k}
    report = _sibling(module, "utils.pretrained").load_state_dict_into(ours, backbone)
    assert report.loaded == report.total
    assert "fc dropped" in report.notes[0]
    state = ours.state_dict()
    for key, value in backbone.items():
        if not key.startswith("fc."):
            assert torch.equal(state[f"encoder.{key}"], value), key
    for key, value in decoder_before.items():
        assert torch.equal(state[key], value), key


def test_from_smp_refuses_an_auxiliary_head(module: ModuleType) -> None:
    with torch.device("meta"):
        reference = _smp(aux_params={"classes": 3})
    with pytest.raises(KeyError, match="classification_head"):
        module.from_smp_state_dict(reference.state_dict())


@pytest.mark.parametrize("flags", [[False, False, True], [False, True, True]])
def test_dilated_resnet_equals_torchvision(module: ModuleType, flags: list[bool]) -> None:
    """The encoder's ResNet with torchvision's replace_stride_with_dilation semantics."""
    resnet = _sibling(module, "models.resnet")
    torch.manual_seed(0)
    reference = torchvision.models.resnet50(replace_stride_with_dilation=flags)
    _randomise_norms(reference)
    ours = resnet.ResNet(resnet.ResNetConfig(), replace_stride_with_dilation=flags)
    ours.load_state_dict(reference.state_dict())
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(images), reference.eval()(images))
        stages = ours.forward_stages(images)
    stride = 8 if flags[1] else 16
    assert [s.shape[-1] for s in stages] == [16, 8, 64 // stride, 64 // stride]


# Configs, inputs and the debug preset --------------------------------------------------

BAD_CONFIGS = [
    ({"output_stride": 32}, "output_stride must be 16 or 8"),
    ({"image_size": 500}, "496 \\(crop\\) or 512 \\(pad\\)"),
    ({"backbone": "resnet18"}, "backbone must be one of"),
    ({"dropout": 1.0}, "dropout must be in"),
    ({"low_level_channels": 0}, "low_level_channels must be a positive integer"),
]


@pytest.mark.parametrize("fields,message", BAD_CONFIGS)
def test_bad_configs_raise_clear_errors(
    module: ModuleType, fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        module.DeepLabV3PlusConfig(**fields)


def test_unknown_config_key_is_refused(module: ModuleType) -> None:
    with pytest.raises(TypeError, match="decoder_atrous_rates"):
        module.build_deeplabv3plus({"name": "deeplabv3plus", "decoder_atrous_rates": [6, 12]})


BAD_INPUTS = [
    ((2, 3, 72, 64), "height 64 \\(crop\\) or 80 \\(pad\\), width 64"),
    ((2, 1, 64, 64), "3 input channels"),
    ((3, 64, 64), "4-D batch"),
]


@pytest.mark.parametrize("shape,message", BAD_INPUTS)
def test_bad_inputs_raise_clear_errors(
    module: ModuleType, shape: tuple[int, ...], message: str
) -> None:
    model = _build(module, backbone="resnet_tiny", image_size=64, output_stride=16)
    with pytest.raises(ValueError, match=message):
        model(torch.randn(*shape))


def _render_model_config(file_name: str, **hparams: Any) -> dict[str, Any]:
    """Render a model config template as the renderer does, resolved with pascal_voc's facts."""
    variant = catalog.family("deeplabv3plus").variant("resnet50")
    variant = dataclasses.replace(variant, hparams={**variant.hparams, **hparams})
    spec = variant_spec("deeplabv3plus", variant)
    environment = SandboxedEnvironment(
        undefined=StrictUndefined, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True
    )
    environment.filters["yaml"] = yaml_value
    path: Path = TEMPLATES_ROOT / "models" / "deeplabv3plus" / "configs" / "model" / file_name
    text = environment.from_string(path.read_text()).render(spec=spec, package=spec.name)
    facts = {
        "in_channels": spec.dataset.input_shape[0],
        "num_classes": spec.dataset.num_classes,
        "image_size": (
            spec.model.debug_image_size(spec.dataset)
            if file_name == "debug.yaml.j2"
            else spec.dataset.image_size
        ),
    }
    config = OmegaConf.create({"data": facts, "model": yaml.safe_load(text)})
    resolved = OmegaConf.to_container(config, resolve=True)
    assert isinstance(resolved, dict)
    return {**resolved["model"], "estimate": spec.estimated_parameters()}


@pytest.mark.parametrize("output_stride", [16, 8])
def test_model_config_builds_the_estimated_model(module: ModuleType, output_stride: int) -> None:
    cfg = _render_model_config("deeplabv3plus.yaml.j2", output_stride=output_stride)
    estimate = cfg.pop("estimate")
    assert cfg.pop("pretrained") is None
    with torch.device("meta"):
        model = _sibling(module, "models.registry").build_model(cfg)
    assert _count(model) == estimate
    assert model.config.output_stride == output_stride


@pytest.mark.parametrize("output_stride", [16, 8])
def test_debug_preset_runs_and_trains_every_parameter(
    module: ModuleType, output_stride: int
) -> None:
    cfg = _render_model_config("debug.yaml.j2", output_stride=output_stride)
    cfg.pop("estimate")
    full = _render_model_config("deeplabv3plus.yaml.j2", output_stride=output_stride)
    assert set(cfg) == set(full) - {"estimate"}
    torch.manual_seed(0)
    model = _sibling(module, "models.registry").build_model(cfg)
    assert _count(model) < 200_000
    size = cfg["image_size"]
    assert size % output_stride == 0
    logits = model(torch.randn(2, 3, size, size))
    assert logits.shape == (2, 21, size, size)
    logits.square().mean().backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None]
    assert not missing, f"parameters without gradient: {missing}"


@pytest.mark.parametrize("output_stride", [16, 8])
def test_debug_image_size_fits_the_output_stride(output_stride: Literal[8, 16]) -> None:
    hparams = DeepLabV3PlusHParams(output_stride=output_stride)
    assert hparams.input_multiple() == output_stride
    for side in (512, 1024, 96):
        size = hparams.debug_image_size(_dataset(size=side))
        assert size is not None and size % output_stride == 0 and size <= 64


def test_check_dataset_names_the_nearest_valid_sizes() -> None:
    problems = DeepLabV3PlusHParams(output_stride=16).check_dataset(_dataset(size=500))
    assert problems == [
        "image size 500 is not a multiple of output_stride=16; crop to 496 or pad to 512"
    ]
    assert DeepLabV3PlusHParams(output_stride=8).check_dataset(_dataset(size=504)) == []
