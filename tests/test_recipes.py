"""Published training recipes: chosen by model and data, named, and honoured by the project."""

from __future__ import annotations

import importlib
import sys
import uuid
from types import ModuleType

import pytest

from dlgen import analyze
from dlgen.agent.offline.analyzer import analyze_choice
from dlgen.render import check_contract


@pytest.mark.parametrize(
    ("request_text", "drop_path"),
    [("ViT-B/16 on ImageNet", 0.1), ("DeiT-S on ImageNet", 0.1), ("DeiT-Ti on ImageNet", 0.0)],
)
def test_vit_on_imagenet_follows_deit(request_text: str, drop_path: float) -> None:
    spec = analyze(request_text)
    training = spec.training
    assert (training.optimizer, training.lr, training.lr_reference_batch) == ("adamw", 5e-4, 512)
    assert (training.warmup_epochs, training.weight_decay, training.label_smoothing) == (
        5,
        0.05,
        0.1,
    )
    assert (training.mixup_alpha, training.cutmix_alpha, training.precision) == (0.8, 1.0, "bf16")
    assert (spec.dataset.randaugment_magnitude, spec.dataset.random_erasing) == (9, 0.25)
    assert spec.model.drop_path == drop_path
    assert any("DeiT ImageNet recipe (Touvron et al." in a for a in spec.assumptions)


def test_stated_values_beat_the_recipe() -> None:
    spec = analyze("ViT-B/16 on ImageNet, lr 1e-4, 100 epochs, batch size 64")
    assert (spec.training.lr, spec.training.epochs, spec.training.batch_size) == (1e-4, 100, 64)
    assert spec.training.mixup_alpha == 0.8  # the rest of the recipe still applies


def test_cifar_resnets_follow_he_et_al() -> None:
    training = analyze("ResNet-56 on CIFAR-10").training
    assert (training.optimizer, training.lr, training.momentum, training.weight_decay) == (
        "sgd", 0.1, 0.9, 1e-4,
    )  # fmt: skip
    assert (training.batch_size, training.epochs, training.scheduler) == (128, 164, "multistep")
    assert (training.milestones, training.gamma) == ((0.5, 0.75), 0.1)


def test_imagenet_style_resnet_on_small_images_follows_the_cifar_recipe() -> None:
    training = analyze("ResNet-50 on CIFAR-10").training
    assert (training.weight_decay, training.epochs, training.scheduler) == (5e-4, 200, "cosine")
    imagenet = analyze("ResNet-50 on ImageNet").training
    assert (imagenet.weight_decay, imagenet.epochs, imagenet.lr_reference_batch) == (1e-4, 90, 256)


def test_recipe_is_named_in_the_configs_and_readme() -> None:
    files = check_contract(analyze("ResNet-56 on CIFAR-10"))
    assert "# Recipe: CIFAR ResNet" in files["configs/training/default.yaml"]
    assert "He et al., Deep Residual Learning" in files["configs/training/default.yaml"]
    assert "Training recipe: CIFAR ResNet" in files["README.md"]
    deit = check_contract(analyze("实现ViT用于ImageNet"))
    assert "训练方案：DeiT ImageNet" in deit["README.md"]
    assert "randaugment_magnitude: 9" in deit["configs/data/imagenet.yaml"]
    assert "random_erasing: 0.25" in deit["configs/data/imagenet.yaml"]


# The generated code that carries the recipes ----------------------------------------------


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ModuleType]:
    """The optimizer and transform modules of a rendered image project, imported."""
    root = tmp_path_factory.mktemp("recipes")
    spec = analyze_choice("resnet", "image_classification", "cifar10").model_copy(
        update={"name": f"recipes_{uuid.uuid4().hex[:8]}"}
    )
    from dlgen.render import render

    for path, text in render(spec).items():
        if path.startswith("src/"):
            target = root / path.removeprefix("src/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    sys.path.insert(0, str(root))
    try:
        return {
            name: importlib.import_module(f"{spec.name}.{module}")
            for name, module in (
                ("optim", "trainers.optim"),
                ("config", "trainers.config"),
                ("transforms", "data.transforms"),
                ("data_config", "data.config"),
            )
        }
    finally:
        sys.path.remove(str(root))


def test_multistep_divides_the_lr_at_the_milestones(rendered: dict[str, ModuleType]) -> None:
    import torch

    config = rendered["config"].TrainingConfig.from_mapping(
        {"scheduler": "multistep", "milestones": [0.5, 0.75], "gamma": 0.1, "epochs": 4,
         "lr": 0.1, "lr_reference_batch": None}
    )  # fmt: skip
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    schedule = rendered["optim"].build_schedule(optimizer, config, steps_per_epoch=10)
    rates = []
    for _ in range(40):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step_after_optimizer()
    assert rates[19] == pytest.approx(0.1) and rates[20] == pytest.approx(0.01)
    assert rates[29] == pytest.approx(0.01) and rates[30] == pytest.approx(0.001)
    with pytest.raises(ValueError, match="milestones"):
        rendered["config"].TrainingConfig.from_mapping({"milestones": [0.75, 0.5]})


def test_randaugment_and_random_erasing_are_applied(rendered: dict[str, ModuleType]) -> None:
    import torch

    data_config = rendered["data_config"].DataConfig
    base = {"name": "cifar10", "source": "synthetic", "in_channels": 3, "image_size": 32,
            "num_classes": 10, "augment": "cifar"}  # fmt: skip
    plain = rendered["transforms"].train_transform(data_config.from_mapping(base))
    strong = rendered["transforms"].train_transform(
        data_config.from_mapping({**base, "randaugment_magnitude": 9, "random_erasing": 1.0})
    )
    names = [type(step).__name__ for step in strong.transforms]
    assert "RandAugment" in names and names[-1] == "RandomErasing"
    assert "RandAugment" not in [type(step).__name__ for step in plain.transforms]
    image = torch.rand(3, 32, 32)
    out = strong(image)
    assert out.shape == (3, 32, 32) and (out == 0).any()  # erased with p=1
    with pytest.raises(ValueError, match="random_erasing"):
        data_config.from_mapping({**base, "random_erasing": 1.5})


def test_combinations_without_a_recipe_keep_the_family_defaults() -> None:
    spec = analyze("ViT-S/16 on CIFAR-100")
    assert spec.training.lr_reference_batch is None
    assert not any("recipe (" in a for a in spec.assumptions)
