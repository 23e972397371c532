"""SegFormer model template: faithful to Hugging Face's Segformer, counted exactly.

The model file is imported from a rendered project (``tests/models/rendered.py``), so it is
the code a user gets. Parameter counts are taken on the ``meta`` device; numerical checks
run B0 on 64x64 images or tiny configurations of the same code paths. Hugging Face models
are built from ``SegformerConfig`` only (nothing is downloaded); ``save_pretrained`` writes
the key layout of the checkpoints on the Hub (transformers 4 names).
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
import torch.nn.functional as F
import yaml
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from omegaconf import OmegaConf
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from dlgen import catalog
from dlgen.catalog.families.segformer import SegFormerHParams
from dlgen.render import TEMPLATES_ROOT, yaml_value
from dlgen.spec.dataset import DatasetSpec
from tests.models.rendered import dataset_spec, import_rendered_models, variant_spec

transformers = pytest.importorskip("transformers")

# Hugging Face SegformerForSemanticSegmentation with 150 classes (ADE20K).
HF_COUNTS = {
    "b0": 3_752_694,
    "b1": 13_715_798,
    "b2": 27_461_974,
    "b3": 47_337_814,
    "b4": 64_108_374,
    "b5": 84_708_694,
}
# A tiny configuration with every code path: reduction at three stages, several heads.
TINY: dict[str, Any] = {
    "embed_dims": [8, 16, 24, 32],
    "depths": [1, 2, 1, 1],
    "num_heads": [1, 2, 3, 4],
    "sr_ratios": [8, 4, 2, 1],
    "mlp_ratio": 2,
    "decoder_dim": 16,
}


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return import_rendered_models(tmp_path_factory.mktemp("rendered"), ("segformer",))["segformer"]


def _sibling(module: ModuleType, name: str) -> ModuleType:
    """Another module of the rendered project, e.g. ``utils.pretrained``."""
    package = module.__name__.rsplit(".", 2)[0]
    return importlib.import_module(f"{package}.{name}")


def _build(module: ModuleType, **fields: Any) -> Any:
    """The rendered ``SegFormer`` (typed ``Any``: its class lives in the rendered package)."""
    return module.SegFormer(module.SegFormerConfig(**fields))


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _hf_config(
    embed_dims: list[int],
    depths: list[int],
    num_heads: list[int] | None = None,
    sr_ratios: list[int] | None = None,
    mlp_ratio: int = 4,
    decoder_dim: int = 256,
    in_channels: int = 3,
    num_classes: int = 150,
) -> Any:
    return transformers.SegformerConfig(
        num_channels=in_channels,
        hidden_sizes=embed_dims,
        depths=depths,
        num_attention_heads=num_heads or [1, 2, 5, 8],
        sr_ratios=sr_ratios or [8, 4, 2, 1],
        mlp_ratios=[mlp_ratio] * 4,
        decoder_hidden_size=decoder_dim,
        num_labels=num_classes,
    )


def _dataset(in_channels: int = 3, num_classes: int = 150, size: int = 512) -> DatasetSpec:
    return dataset_spec("ade20k").model_copy(
        update={
            "input_shape": [in_channels, size, size],
            "in_channels": in_channels,
            "num_classes": num_classes,
        }
    )


# Parameter counts ----------------------------------------------------------------------


@pytest.mark.parametrize("variant", catalog.family("segformer").variants, ids=lambda v: v.key)
def test_count_equals_hf_catalog_and_estimate(module: ModuleType, variant: catalog.Variant) -> None:
    hparams = variant.hparams
    spec = variant_spec("segformer", variant)
    assert spec.dataset.num_classes == 150
    with torch.device("meta"):
        ours = _count(_build(module, num_classes=150, **hparams))
        reference = transformers.SegformerForSemanticSegmentation(
            _hf_config(hparams["embed_dims"], hparams["depths"], decoder_dim=hparams["decoder_dim"])
        )
    assert ours == _count(reference) == HF_COUNTS[variant.key]
    assert ours == variant.reference_params == spec.estimated_parameters()


ESTIMATE_CASES = [
    # in_channels, classes, extra fields
    (3, 150, {}),
    (3, 1, TINY),
    (1, 19, {**TINY, "sr_ratios": [1, 1, 1, 1]}),
    (4, 2, {**TINY, "sr_ratios": [4, 2, 2, 1], "mlp_ratio": 3, "decoder_dim": 24}),
    (12, 7, {"embed_dims": [64, 128, 320, 512], "depths": [3, 4, 6, 3], "decoder_dim": 768}),
]


@pytest.mark.parametrize("case", ESTIMATE_CASES, ids=lambda c: f"{c[0]}ch-{c[1]}cls-{len(c[2])}")
def test_estimate_equals_the_built_count(module: ModuleType, case: tuple[Any, ...]) -> None:
    channels, classes, extra = case
    hparams = SegFormerHParams(**extra)
    fields = hparams.model_dump(exclude={"family"})
    with torch.device("meta"):
        model = _build(module, in_channels=channels, num_classes=classes, **fields)
    assert _count(model) == hparams.estimate_parameters(_dataset(channels, classes))


@pytest.mark.parametrize(
    "fields,size",
    [({}, 512), (TINY, 96), ({**TINY, "sr_ratios": [4, 2, 1, 1]}, 100)],
    ids=["b2-512", "tiny-96", "tiny-100"],
)
def test_flops_estimate_equals_the_flop_counter(
    module: ModuleType, fields: dict[str, Any], size: int
) -> None:
    hparams = SegFormerHParams(**fields)
    with torch.device("meta"):
        model = _build(module, **hparams.model_dump(exclude={"family"})).eval()
        images = torch.empty(1, 3, size, size)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(images)
    assert hparams.estimate_flops(_dataset(size=size)) == counter.get_total_flops()


@pytest.mark.parametrize("fields,size", [({}, 128), (TINY, 96)], ids=["b2-128", "tiny-96"])
def test_activation_estimate_is_close_to_what_autograd_saves(
    module: ModuleType, fields: dict[str, Any], size: int
) -> None:
    hparams = SegFormerHParams(**fields)
    model = _build(module, image_size=size, **hparams.model_dump(exclude={"family"})).train()
    parameters = {p.data_ptr() for p in model.parameters()}
    saved: dict[tuple[int, tuple[int, ...]], int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        if tensor.data_ptr() not in parameters:
            saved[(tensor.data_ptr(), tuple(tensor.shape))] = tensor.numel()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        model(torch.randn(1, 3, size, size))
    estimate = hparams.estimate_activations(_dataset(size=size))
    assert estimate is not None
    assert 0.9 < estimate / sum(saved.values()) < 1.1


# Numerical equivalence with Hugging Face -------------------------------------------------


def _randomise_norms(model: nn.Module) -> None:
    """Random affine parameters and statistics, so eval-mode norms are not identities."""
    for norm in model.modules():
        if isinstance(norm, nn.BatchNorm2d):
            assert norm.running_mean is not None and norm.running_var is not None
            norm.running_mean.uniform_(-0.1, 0.1)
            norm.running_var.uniform_(0.5, 1.5)
        if isinstance(norm, nn.BatchNorm2d | nn.LayerNorm):
            norm.weight.data.uniform_(0.5, 1.5)
            norm.bias.data.uniform_(-0.1, 0.1)


def _hf_model(**fields: Any) -> nn.Module:
    torch.manual_seed(0)
    reference: nn.Module = transformers.SegformerForSemanticSegmentation(_hf_config(**fields))
    _randomise_norms(reference)
    return reference.eval()


def _assert_same_logits(ours: Any, reference: nn.Module, images: torch.Tensor) -> None:
    ours.eval()
    with torch.no_grad():
        quarter = reference(pixel_values=images).logits  # (B, K, H/4, W/4)
        torch.testing.assert_close(
            ours.forward_logits_quarter(images), quarter, rtol=1e-5, atol=1e-5
        )
        upsampled = F.interpolate(
            quarter, size=images.shape[-2:], mode="bilinear", align_corners=False
        )
        torch.testing.assert_close(ours(images), upsampled, rtol=1e-5, atol=1e-5)


def test_b0_outputs_equal_hf(module: ModuleType) -> None:
    reference = _hf_model(embed_dims=[32, 64, 160, 256], depths=[2, 2, 2, 2])
    ours = _build(module, image_size=64)
    state = module.from_hf_state_dict(reference.state_dict())
    assert list(state) == list(ours.state_dict())  # the same modules in the same order
    ours.load_state_dict(state)
    _assert_same_logits(ours, reference, torch.randn(2, 3, 64, 64))


@pytest.mark.parametrize("height,width", [(64, 96), (70, 90), (33, 47)])
def test_any_input_size_equals_hf(module: ModuleType, height: int, width: int) -> None:
    """Sides that are not multiples of 32 round up at each stride, as Hugging Face's."""
    reference = _hf_model(num_heads=TINY["num_heads"], **_hf_fields(TINY), num_classes=5)
    ours = _build(module, num_classes=5, image_size=64, **TINY)
    ours.load_state_dict(module.from_hf_state_dict(reference.state_dict()))
    images = torch.randn(1, 3, height, width)
    _assert_same_logits(ours, reference, images)
    assert ours(images).shape == (1, 5, height, width)


def _hf_fields(fields: dict[str, Any]) -> dict[str, Any]:
    names = ("embed_dims", "depths", "sr_ratios", "mlp_ratio", "decoder_dim")
    return {name: fields[name] for name in names}


def _saved_state_dict(model: Any, folder: Path) -> dict[str, torch.Tensor]:
    """What a user downloads: ``save_pretrained`` writes the Hub's (transformers 4) keys."""
    from safetensors.torch import load_file

    model.save_pretrained(folder)
    state: dict[str, torch.Tensor] = load_file(str(folder / "model.safetensors"))
    return state


def test_hub_file_loads_through_the_pretrained_loader(module: ModuleType, tmp_path: Path) -> None:
    """``model.pretrained: model.safetensors`` (transformers 4 names) loads as it is."""
    reference = _hf_model(**_hf_fields(TINY), num_heads=TINY["num_heads"], num_classes=3)
    state = _saved_state_dict(reference, tmp_path)
    assert any(".attention.self.query." in key for key in state)  # the legacy layout
    assert (
        module.from_hf_state_dict(state).keys()
        == module.from_hf_state_dict(reference.state_dict()).keys()
    )
    ours = _build(module, num_classes=3, image_size=64, **TINY)
    report = _sibling(module, "utils.pretrained").load_pretrained(
        ours, str(tmp_path / "model.safetensors")
    )
    assert report.loaded == report.total and not report.dropped
    assert "Hugging Face" in report.notes[0]
    _assert_same_logits(ours, reference, torch.randn(2, 3, 64, 64))


def test_binary_model_keeps_the_encoder_and_decoder_of_a_150_class_file(
    module: ModuleType,
) -> None:
    """Another class count drops the classifier only (binary segmentation: one logit)."""
    reference = _hf_model(**_hf_fields(TINY), num_heads=TINY["num_heads"], num_classes=150)
    ours = _build(module, num_classes=1, image_size=64, **TINY)
    report = _sibling(module, "utils.pretrained").load_state_dict_into(ours, reference.state_dict())
    assert report.dropped == ["head.weight", "head.bias"]
    state = module.from_hf_state_dict(reference.state_dict())
    for key, value in ours.state_dict().items():
        if not key.startswith("head."):
            assert torch.equal(value, state[key]), key
    assert ours(torch.randn(2, 3, 64, 64)).shape == (2, 1, 64, 64)


def test_imagenet_encoder_loads_into_the_encoder(module: ModuleType, tmp_path: Path) -> None:
    """A SegformerForImageClassification file (nvidia/mit-b*): encoder only, fc dropped."""
    torch.manual_seed(0)
    config = _hf_config(**_hf_fields(TINY), num_heads=TINY["num_heads"], num_classes=1000)
    classifier = transformers.SegformerForImageClassification(config)
    state = _saved_state_dict(classifier, tmp_path)
    assert "classifier.weight" in state
    ours = _build(module, num_classes=4, image_size=64, **TINY)
    fresh = {k: v.clone() for k, v in ours.state_dict().items() if not k.startswith("encoder.")}
    report = _sibling(module, "utils.pretrained").load_state_dict_into(ours, state)
    assert report.loaded == report.total and "classifier dropped" in report.notes[0]
    encoder = module.from_hf_state_dict({k: v for k, v in state.items() if "classifier" not in k})
    assert set(encoder) == {k for k in ours.state_dict() if k.startswith("encoder.")}
    own = ours.state_dict()
    for key, value in encoder.items():
        assert torch.equal(own[key], value), key
    for key, value in fresh.items():
        assert torch.equal(own[key], value), key


def test_from_hf_refuses_unknown_keys(module: ModuleType) -> None:
    with pytest.raises(KeyError, match="segformer.pooler"):
        module.from_hf_state_dict({"segformer.pooler.weight": torch.zeros(1)})
    with pytest.raises(KeyError, match="without"):
        key = "segformer.stages.0.blocks.0.attention.k_proj.weight"
        module.from_hf_state_dict({key: torch.zeros(1)})


# Configs, inputs and the debug preset --------------------------------------------------

BAD_CONFIGS = [
    ({"num_heads": [1, 2, 7, 8]}, "num_heads=7 must divide embed_dims=160"),
    ({"depths": [2, 2, 2]}, "depths needs 4 positive integers"),
    ({"sr_ratios": [8, 4, 0, 1]}, "sr_ratios needs 4 positive integers"),
    ({"image_size": 24}, "image_size=24 is below the 29 pixels"),
    ({"dropout": 1.0}, "dropout must be in"),
    ({"decoder_dim": 0}, "decoder_dim must be a positive integer"),
]


@pytest.mark.parametrize("fields,message", BAD_CONFIGS)
def test_bad_configs_raise_clear_errors(
    module: ModuleType, fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        module.SegFormerConfig(**fields)


def test_unknown_config_key_is_refused(module: ModuleType) -> None:
    with pytest.raises(TypeError, match="hidden_sizes"):
        module.build_segformer({"name": "segformer", "hidden_sizes": [32, 64, 160, 256]})


BAD_INPUTS = [
    ((2, 3, 28, 64), "at least 29 pixels"),
    ((2, 1, 64, 64), "3 input channels"),
    ((3, 64, 64), "4-D batch"),
]


@pytest.mark.parametrize("shape,message", BAD_INPUTS)
def test_bad_inputs_raise_clear_errors(
    module: ModuleType, shape: tuple[int, ...], message: str
) -> None:
    model = _build(module, image_size=64, **TINY)
    with pytest.raises(ValueError, match=message):
        model(torch.randn(*shape))


def test_smallest_side_follows_the_reduction_ratios(module: ModuleType) -> None:
    assert module.min_input_side([8, 4, 2, 1]) == 29
    assert module.min_input_side([1, 1, 1, 1]) == 1
    assert module.min_input_side([16, 8, 4, 2]) == 61
    model = _build(module, image_size=64, **TINY).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 29, 29)).shape == (1, 150, 29, 29)
    assert SegFormerHParams(sr_ratios=[16, 8, 4, 2]).min_input_side() == 61


def test_grad_checkpointing_gives_the_same_gradients(module: ModuleType) -> None:
    torch.manual_seed(0)
    model = _build(module, image_size=64, num_classes=3, drop_path=0.2, **TINY).train()
    images = torch.randn(2, 3, 64, 64)
    gradients = []
    for enable in (False, True):
        model.zero_grad()
        model.set_grad_checkpointing(enable)
        torch.manual_seed(1)  # the same dropout and drop-path masks in both runs
        model(images).sum().backward()
        gradients.append([p.grad.clone() for p in model.parameters() if p.grad is not None])
    assert len(gradients[0]) == len(list(model.parameters()))
    for plain, checkpointed in zip(*gradients, strict=True):
        torch.testing.assert_close(plain, checkpointed)


def _render_model_config(file_name: str, **hparams: Any) -> dict[str, Any]:
    """Render a model config template as the renderer does, resolved with ade20k's facts."""
    variant = catalog.family("segformer").variant("b0")
    variant = dataclasses.replace(variant, hparams={**variant.hparams, **hparams})
    spec = variant_spec("segformer", variant)
    environment = SandboxedEnvironment(
        undefined=StrictUndefined, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True
    )
    environment.filters["yaml"] = yaml_value
    path: Path = TEMPLATES_ROOT / "models" / "segformer" / "configs" / "model" / file_name
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


@pytest.mark.parametrize("hparams", [{}, {"sr_ratios": [4, 2, 1, 1], "decoder_dim": 128}])
def test_model_config_builds_the_estimated_model(
    module: ModuleType, hparams: dict[str, Any]
) -> None:
    cfg = _render_model_config("segformer.yaml.j2", **hparams)
    estimate = cfg.pop("estimate")
    assert cfg.pop("pretrained") is None
    with torch.device("meta"):
        model = _sibling(module, "models.registry").build_model(cfg)
    assert _count(model) == estimate
    if not hparams:
        assert estimate == HF_COUNTS["b0"]
    assert model.config.sr_ratios == hparams.get("sr_ratios", [8, 4, 2, 1])


@pytest.mark.parametrize("sr_ratios", [[8, 4, 2, 1], [16, 8, 4, 2]])
def test_debug_preset_runs_and_trains_every_parameter(
    module: ModuleType, sr_ratios: list[int]
) -> None:
    cfg = _render_model_config("debug.yaml.j2", sr_ratios=sr_ratios)
    cfg.pop("estimate")
    full = _render_model_config("segformer.yaml.j2", sr_ratios=sr_ratios)
    assert set(cfg) == set(full) - {"estimate"}
    torch.manual_seed(0)
    model = _sibling(module, "models.registry").build_model(cfg)
    assert _count(model) < 100_000
    size = cfg["image_size"]
    assert size >= module.min_input_side(sr_ratios) and size <= 64
    logits = model(torch.randn(2, 3, size, size))
    assert logits.shape == (2, 150, size, size)
    logits.square().mean().backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None]
    assert not missing, f"parameters without gradient: {missing}"


def test_check_dataset_names_the_smallest_side() -> None:
    problems = SegFormerHParams(sr_ratios=[16, 8, 4, 2]).check_dataset(_dataset(size=48))
    assert problems == [
        "images of [48, 48] are too small for sr_ratios=[16, 8, 4, 2]; use at least 61 pixels "
        "a side or lower sr_ratios"
    ]
    assert SegFormerHParams().check_dataset(_dataset(size=500)) == []  # no multiple needed
