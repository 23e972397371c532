"""Image-classification model templates (ViT/DeiT, ResNet, CNN): faithful to their references.

The model files are imported from the templates directly (see ``tests/models``). Parameter
counts are taken on the ``meta`` device, so even ViT-H costs no memory; forward/backward
runs use tiny configurations of the same code paths.
"""

from __future__ import annotations

import dataclasses
import importlib
from types import ModuleType
from typing import Any

import pytest
import torch
import torchvision
import yaml
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from omegaconf import OmegaConf
from torch import nn

from dlgen import catalog
from dlgen.render import TEMPLATES_ROOT, yaml_value
from dlgen.spec import Spec
from dlgen.spec.dataset import DatasetSpec
from tests.models.rendered import import_rendered_models, reference_dataset, variant_spec

FAMILIES = ("vit", "resnet", "cnn")
MODEL_CLASSES = {
    "vit": ("ViTConfig", "VisionTransformer"),
    "resnet": ("ResNetConfig", "ResNet"),
    "cnn": ("CNNConfig", "ConvNet"),
}

# The reference counts the brief names, pinned here so a catalog edit cannot move them.
PINNED_COUNTS = {
    ("vit", "b16"): 86_567_656,
    ("vit", "s16"): 22_050_664,
    ("vit", "ti16"): 5_717_416,
    ("vit", "l16"): 304_326_632,
    ("resnet", "resnet18"): 11_689_512,
    ("resnet", "resnet34"): 21_797_672,
    ("resnet", "resnet50"): 25_557_032,
    ("resnet", "resnet101"): 44_549_160,
    ("resnet", "resnet152"): 60_192_808,
    ("cnn", "lenet5"): 61_706,
}
# He et al. 2016, Table 6: ResNet-20/56/110 have 0.27M/0.85M/1.7M parameters.
PAPER_CIFAR_MILLIONS = {"resnet20": 0.27, "resnet56": 0.85, "resnet110": 1.7}


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ModuleType]:
    return import_rendered_models(tmp_path_factory.mktemp("rendered"), FAMILIES)


def _variants(family: str) -> list[Any]:
    return [
        pytest.param(variant, id=f"{family}-{variant.key}")
        for variant in catalog.family(family).variants
    ]


ALL_VARIANTS = [
    pytest.param(family, variant, id=f"{family}-{variant.key}")
    for family in FAMILIES
    for variant in catalog.family(family).variants
]


def _data_facts(dataset: DatasetSpec) -> dict[str, Any]:
    facts: dict[str, Any] = {"in_channels": dataset.input_shape[0]}
    facts["num_classes"] = dataset.num_classes
    if dataset.image_size is not None:
        facts["image_size"] = dataset.image_size
    else:
        facts["sequence_length"] = dataset.input_shape[-1]
    return facts


def _build(models: dict[str, ModuleType], family: str, **fields: Any) -> nn.Module:
    config_name, model_name = MODEL_CLASSES[family]
    module = models[family]
    return getattr(module, model_name)(getattr(module, config_name)(**fields))


def _registry(models: dict[str, ModuleType], family: str) -> ModuleType:
    return importlib.import_module(f"{models[family].__package__}.registry")


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _meta_count(models: dict[str, ModuleType], family: str, **fields: Any) -> int:
    with torch.device("meta"):
        return _count(_build(models, family, **fields))


# Parameter counts ----------------------------------------------------------------------


@pytest.mark.parametrize("family,variant", ALL_VARIANTS)
def test_count_equals_catalog_reference_and_estimate(
    models: dict[str, ModuleType], family: str, variant: catalog.Variant
) -> None:
    dataset = reference_dataset(family, variant)
    ours = _meta_count(models, family, **_data_facts(dataset), **variant.hparams)
    hparams = catalog.family(family).hparams_model(family=family, **variant.hparams)
    assert ours == hparams.estimate_parameters(dataset)
    if variant.reference_params is not None:
        assert ours == variant.reference_params
    if (family, variant.key) in PINNED_COUNTS:
        assert ours == PINNED_COUNTS[(family, variant.key)]


@pytest.mark.parametrize("variant", _variants("vit"))
def test_vit_count_equals_timm(models: dict[str, ModuleType], variant: catalog.Variant) -> None:
    timm = pytest.importorskip("timm")
    timm_name = variant.reference.removeprefix("timm ")
    # num_classes explicitly: timm's default tag for some names (L/32, H/14) is a headless
    # ImageNet-21k checkpoint, while the catalog counts a 1000-class head.
    with torch.device("meta"):
        reference = _count(timm.create_model(timm_name, pretrained=False, num_classes=1000))
    assert _meta_count(models, "vit", **variant.hparams) == reference


@pytest.mark.parametrize("depth", [18, 34, 50, 101, 152])
def test_resnet_count_and_keys_equal_torchvision(models: dict[str, ModuleType], depth: int) -> None:
    variant = catalog.family("resnet").variant(f"resnet{depth}")
    with torch.device("meta"):
        ours = _build(models, "resnet", **variant.hparams)
        reference = getattr(torchvision.models, f"resnet{depth}")()
    assert _count(ours) == _count(reference)
    assert list(ours.state_dict()) == list(reference.state_dict())


@pytest.mark.parametrize("key,millions", sorted(PAPER_CIFAR_MILLIONS.items()))
def test_cifar_resnet_count_matches_paper(
    models: dict[str, ModuleType], key: str, millions: float
) -> None:
    variant = catalog.family("resnet").variant(key)
    count = _meta_count(models, "resnet", num_classes=10, image_size=32, **variant.hparams)
    assert variant.hparams["shortcut"] == "A"
    assert round(count / 1e6, 2 if millions < 1 else 1) == millions


# Numerical equivalence with the references ----------------------------------------------


def _pretrained_module(model: nn.Module) -> ModuleType:
    """The rendered project's ``utils/pretrained.py`` (what ``model.pretrained`` uses)."""
    package = type(model).__module__.rsplit(".", 2)[0]
    return importlib.import_module(f"{package}.utils.pretrained")


def _assert_same_outputs(ours: nn.Module, reference: nn.Module, x: torch.Tensor) -> None:
    assert set(ours.state_dict()) == set(reference.state_dict())
    # The project's fine-tuning loader: the reference's keys load as they are, nothing dropped.
    report = _pretrained_module(ours).load_state_dict_into(ours, reference.state_dict())
    assert report.loaded == report.total and not (report.dropped or report.notes)
    ours.eval()
    reference.eval()
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "timm_kwargs,ours_kwargs",
    [
        pytest.param({}, {}, id="cls-token"),
        pytest.param(
            {"class_token": False, "global_pool": "avg", "fc_norm": False},
            {"class_token": False, "pool": "mean"},
            id="mean-pool",
        ),
    ],
)
def test_vit_matches_timm_outputs(
    models: dict[str, ModuleType], timm_kwargs: dict[str, Any], ours_kwargs: dict[str, Any]
) -> None:
    vision_transformer = pytest.importorskip("timm.models.vision_transformer")
    torch.manual_seed(0)
    size = {"image_size": 32, "patch_size": 8, "hidden_dim": 48, "num_layers": 2}
    reference = vision_transformer.VisionTransformer(
        img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3, num_classes=7, **timm_kwargs
    )
    ours = _build(models, "vit", num_classes=7, num_heads=3, **size, **ours_kwargs)
    _assert_same_outputs(ours, reference, torch.randn(2, 3, 32, 32))


def test_deit_distilled_matches_timm_outputs(models: dict[str, ModuleType]) -> None:
    deit = pytest.importorskip("timm.models.deit")
    torch.manual_seed(0)
    # deit_*_distilled_patch16_224 at a small size: same class, same code path.
    reference = deit.VisionTransformerDistilled(
        img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3, num_classes=7
    )
    ours = _build(
        models,
        "vit",
        image_size=32,
        patch_size=8,
        hidden_dim=48,
        num_layers=2,
        num_heads=3,
        num_classes=7,
        distilled=True,
    )
    _assert_same_outputs(ours, reference, torch.randn(2, 3, 32, 32))


def test_resnet50_matches_torchvision_outputs(models: dict[str, ModuleType]) -> None:
    torch.manual_seed(0)
    reference = torchvision.models.resnet50()
    ours = _build(models, "resnet", **catalog.family("resnet").variant("resnet50").hparams)
    # Random statistics, so eval-mode batch norm is not the identity.
    for module in reference.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    _assert_same_outputs(ours, reference, torch.randn(2, 3, 64, 64))


# Forward and backward on tiny configurations ---------------------------------------------

SMALL_CONFIGS = {
    "vit-cls": (
        "vit",
        {
            "image_size": 32,
            "patch_size": 8,
            "hidden_dim": 32,
            "num_layers": 2,
            "num_heads": 2,
            "num_classes": 5,
            "drop_path": 0.1,
            "dropout": 0.1,
        },
    ),
    "vit-mean": (
        "vit",
        {
            "image_size": 32,
            "patch_size": 16,
            "hidden_dim": 32,
            "num_layers": 2,
            "num_heads": 4,
            "num_classes": 5,
            "class_token": False,
            "pool": "mean",
            "in_channels": 1,
        },
    ),
    "deit-distilled": (
        "vit",
        {
            "image_size": 32,
            "patch_size": 8,
            "hidden_dim": 32,
            "num_layers": 2,
            "num_heads": 2,
            "num_classes": 5,
            "distilled": True,
        },
    ),
    "resnet18": (
        "resnet",
        {
            **catalog.family("resnet").variant("resnet18").hparams,
            "num_classes": 5,
            "image_size": 32,
        },
    ),
    "resnet-bottleneck": (
        "resnet",
        {"layers": [1, 1, 1, 1], "base_width": 8, "num_classes": 5, "zero_init_residual": True},
    ),
    "resnet-cifar-A": (
        "resnet",
        {
            **catalog.family("resnet").variant("resnet20").hparams,
            "num_classes": 5,
            "image_size": 32,
        },
    ),
    "resnet-cifar-B": (
        "resnet",
        {
            "style": "cifar",
            "block": "basic",
            "layers": [1, 1, 1],
            "base_width": 4,
            "stem": "small",
            "shortcut": "B",
            "num_classes": 5,
            "dropout": 0.2,
        },
    ),
    "lenet5": ("cnn", {**catalog.family("cnn").variant("lenet5").hparams, "image_size": 28}),
    "small-cnn-digits": (
        "cnn",
        {**catalog.family("cnn").variant("small").hparams, "image_size": 8},
    ),
    "conv1d-ecg": (
        "cnn",
        {
            **catalog.family("cnn").variant("conv1d").hparams,
            "channels": [8, 8, 16, 16],
            "in_channels": 12,
            "num_classes": 5,
            "sequence_length": 250,
        },
    ),
}


def _small_input(model: nn.Module) -> torch.Tensor:
    config = model.config  # type: ignore[attr-defined]
    if getattr(config, "dims", 2) == 1:
        return torch.randn(2, config.in_channels, config.sequence_length)
    return torch.randn(2, config.in_channels, config.image_size, config.image_size)


@pytest.mark.parametrize("name", sorted(SMALL_CONFIGS))
def test_forward_backward_reaches_every_parameter(models: dict[str, ModuleType], name: str) -> None:
    family, fields = SMALL_CONFIGS[name]
    torch.manual_seed(0)
    model = _build(models, family, **fields)
    x = _small_input(model)
    logits = model(x)
    assert logits.shape == (2, model.config.num_classes)  # type: ignore[attr-defined]
    assert torch.isfinite(logits).all()
    logits.square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    if fields.get("zero_init_residual"):
        # A zeroed last norm blocks the gradient of the layers before it at step 0.
        missing = [n for n in missing if ".conv" not in n and ".bn1" not in n and ".bn2" not in n]
    assert not missing, f"parameters without gradient: {missing}"


@pytest.mark.parametrize("name", ["vit-cls", "resnet-bottleneck"])
def test_grad_checkpointing_gives_the_same_gradients(
    models: dict[str, ModuleType], name: str
) -> None:
    family, fields = SMALL_CONFIGS[name]
    fields = {**fields, "dropout": 0.0, "drop_path": 0.0} if family == "vit" else fields
    torch.manual_seed(0)
    model = _build(models, family, **fields)
    x = _small_input(model)
    grads = []
    for enable in (False, True):
        model.zero_grad()
        model.set_grad_checkpointing(enable)  # type: ignore[operator]
        model(x).sum().backward()
        grads.append([p.grad.clone() for p in model.parameters() if p.grad is not None])
    assert len(grads[0]) == len(grads[1]) == len(list(model.parameters()))
    for plain, checkpointed in zip(grads[0], grads[1], strict=True):
        torch.testing.assert_close(plain, checkpointed)


def test_deit_heads_average_and_drop_path_is_stochastic(models: dict[str, ModuleType]) -> None:
    _, fields = SMALL_CONFIGS["deit-distilled"]
    model = _build(models, "vit", **fields).eval()
    x = torch.randn(2, 3, 32, 32)
    logits, dist_logits = model.forward_heads(x)  # type: ignore[operator]
    torch.testing.assert_close(model(x), (logits + dist_logits) / 2)
    drop_path = models["vit"].TransformerBlock(8, 2, drop_path=0.5).drop_path1.train()
    kept = drop_path(torch.ones(64, 3, 8)).sum(dim=(1, 2))
    assert set(kept.tolist()) == {0.0, 48.0}


def test_zero_init_residual_starts_blocks_as_identity(models: dict[str, ModuleType]) -> None:
    model = _build(models, "resnet", **SMALL_CONFIGS["resnet-bottleneck"][1])
    norms = [block.residual_norm() for stage in model.stages() for block in stage]
    assert norms and all(torch.equal(n.weight, torch.zeros_like(n.weight)) for n in norms)


# Input and config validation ------------------------------------------------------------

BAD_INPUTS = [
    ("vit-cls", (3, 32, 32), "4-D batch"),
    ("vit-cls", (2, 1, 32, 32), "3 input channels"),
    ("vit-cls", (2, 3, 64, 64), "spatial size"),
    ("vit-cls", (0, 3, 32, 32), "non-empty"),
    ("resnet18", (2, 3, 32), "4-D batch"),
    ("resnet18", (2, 1, 32, 32), "3 input channels"),
    ("lenet5", (2, 1, 32, 32), "spatial size"),
    ("small-cnn-digits", (2, 1, 4, 4), "too small"),
    ("conv1d-ecg", (2, 12, 250, 1), "3-D batch"),
    ("conv1d-ecg", (2, 3, 250), "12 input channels"),
]


@pytest.mark.parametrize("name,shape,message", BAD_INPUTS)
def test_bad_inputs_raise_clear_errors(
    models: dict[str, ModuleType], name: str, shape: tuple[int, ...], message: str
) -> None:
    family, fields = SMALL_CONFIGS[name]
    model = _build(models, family, **fields)
    with pytest.raises(ValueError, match=message):
        model(torch.randn(*shape))


BAD_CONFIGS = [
    ("vit", {"hidden_dim": 100, "num_heads": 3}, "must divide hidden_dim"),
    ("vit", {"image_size": 100}, "must divide image_size"),
    ("vit", {"class_token": False}, "need class_token"),
    ("vit", {"distilled": True, "pool": "mean"}, "pool='cls'"),
    ("resnet", {"style": "cifar", "layers": [3, 3, 3]}, "stem='small'"),
    ("resnet", {"layers": [2, 2, 2]}, "needs 4 entries"),
    ("resnet", {"block": "wide"}, "block must be one of"),
    ("cnn", {"global_pool": False}, "set image_size"),
    ("cnn", {"channels": [8, 8, 8, 8], "image_size": 8}, "too small"),
    ("cnn", {"padding": [1]}, "one entry per stage"),
    ("cnn", {"activation": "swish"}, "unknown activation"),
]


@pytest.mark.parametrize("family,fields,message", BAD_CONFIGS)
def test_bad_configs_raise_clear_errors(
    models: dict[str, ModuleType], family: str, fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _build(models, family, **fields)


def test_unknown_config_key_is_refused(models: dict[str, ModuleType]) -> None:
    with pytest.raises(TypeError, match="hidden_size"):
        models["vit"].build_vit({"name": "vit", "hidden_size": 768})


# Config templates -------------------------------------------------------------------------


def _render_model_config(spec: Spec, file_name: str) -> dict[str, Any]:
    """Render one model config template as the renderer does, and resolve it with data facts.

    (Rendering whole projects for every variant would take a minute; the Jinja settings and
    the ``yaml`` filter are the renderer's.)
    """
    environment = SandboxedEnvironment(
        undefined=StrictUndefined, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True
    )
    environment.filters["yaml"] = yaml_value
    path = TEMPLATES_ROOT / "models" / spec.model.family / "configs" / "model" / file_name
    text = environment.from_string(path.read_text()).render(spec=spec, package=spec.name)
    config = OmegaConf.create({"data": _data_facts(spec.dataset), "model": yaml.safe_load(text)})
    resolved = OmegaConf.to_container(config, resolve=True)
    assert isinstance(resolved, dict)
    return resolved["model"]


@pytest.mark.parametrize("family,variant", ALL_VARIANTS)
def test_model_config_template_builds_the_variant(
    models: dict[str, ModuleType], family: str, variant: catalog.Variant
) -> None:
    spec = variant_spec(family, variant)
    cfg = _render_model_config(spec, f"{family}.yaml.j2")
    hparam_names = set(type(spec.model).model_fields) - {"family"}
    assert hparam_names <= set(cfg), f"config misses {hparam_names - set(cfg)}"
    assert cfg["name"] == family and cfg["variant"] == variant.key
    with torch.device("meta"):
        model = _registry(models, family).build_model(cfg)
    assert _count(model) == spec.estimated_parameters()
    config_fields = {f.name for f in dataclasses.fields(model.config)}
    assert cfg["pretrained"] is None  # read by build_model, not by the builder
    assert set(cfg) - {"name", "pretrained"} <= config_fields


@pytest.mark.parametrize("family,variant", ALL_VARIANTS)
def test_debug_config_template_runs(
    models: dict[str, ModuleType], family: str, variant: catalog.Variant
) -> None:
    spec = variant_spec(family, variant)
    cfg = _render_model_config(spec, "debug.yaml.j2")
    full = _render_model_config(spec, f"{family}.yaml.j2")
    assert set(cfg) == set(full)
    if family == "vit":
        cfg["image_size"] = 2 * cfg["patch_size"]  # the debug data config shrinks images
    model = _registry(models, family).build_model(cfg)
    assert _count(model) < min(1_000_000, spec.estimated_parameters())
    logits = model(_small_input(model))
    assert logits.shape == (2, cfg["num_classes"])


# Same kernels as the references ------------------------------------------------------------


def _aten_op_counts(model: nn.Module, x: torch.Tensor) -> dict[str, int]:
    from torch.profiler import ProfilerActivity, profile

    model.train()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        model(x).sum().backward()
    return {e.key: e.count for e in prof.key_averages() if e.key.startswith("aten::")}


def test_training_step_runs_the_same_aten_ops_as_the_references(
    models: dict[str, ModuleType],
) -> None:
    """Speed parity by construction: forward and backward call the same ATen operators."""
    timm = pytest.importorskip("timm")
    torch.manual_seed(0)
    resnet = _build(models, "resnet", layers=[1, 1, 1, 1], num_classes=10)
    reference = torchvision.models.resnet.ResNet(
        torchvision.models.resnet.Bottleneck, [1, 1, 1, 1], num_classes=10
    )
    x = torch.randn(2, 3, 32, 32)
    assert _aten_op_counts(resnet, x) == _aten_op_counts(reference, x)
    vit = _build(
        models,
        "vit",
        image_size=32,
        patch_size=8,
        hidden_dim=48,
        num_layers=2,
        num_heads=3,
        num_classes=10,
    )
    reference = timm.models.vision_transformer.VisionTransformer(
        img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3, num_classes=10
    )
    ours, theirs = _aten_op_counts(vit, x), _aten_op_counts(reference, x)
    theirs["aten::dropout"] -= 1  # timm's head dropout (p=0), which ours leaves out
    assert ours == theirs
