"""The renderer: deterministic, complete, configs that load, escaped free text."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from omegaconf import OmegaConf

from dlgen.errors import FamilyNotAvailable
from dlgen.render import TEMPLATES_ROOT, markdown_escape, render, yaml_value
from dlgen.spec import Spec, TrainingSpec
from dlgen.version import __version__
from tests.factories import make_spec

PACKAGE_DIRS = ("models", "layers", "losses", "metrics", "data", "trainers", "utils")


def digits_cnn_spec(**overrides: Any) -> Spec:
    """A small CNN on scikit-learn's digits (real data, no download)."""
    data: dict[str, Any] = {
        "name": "digits_cnn",
        "dataset": {
            "name": "digits",
            "modality": "image",
            "source": "sklearn",
            "input_shape": [1, 8, 8],
            "in_channels": 1,
            "num_classes": 10,
        },
        "model": {
            "family": "cnn",
            "channels": [32, 64],
            "padding": [1, 1],
            "hidden_dims": [64],
            "dropout": 0.1,
        },
        "training": {"epochs": 8, "batch_size": 64, "lr": 3e-3, "num_workers": 0},
    }
    data.update(overrides)
    return make_spec(**data)


@pytest.fixture(scope="module")
def vit_files() -> dict[str, str]:
    return render(make_spec(request="ViT on CIFAR-10 <script>alert(1)</script> **bold**"))


def test_render_is_deterministic(vit_files: dict[str, str]) -> None:
    again = render(make_spec(request="ViT on CIFAR-10 <script>alert(1)</script> **bold**"))
    assert list(again) == list(vit_files)
    for path, text in vit_files.items():
        assert again[path].encode() == text.encode(), path


def test_file_tree_follows_the_contract(vit_files: dict[str, str]) -> None:
    package = "tiny_vit"
    expected = {
        "README.md",
        "pyproject.toml",
        "requirements.txt",
        ".gitignore",
        "train.py",
        "inference.py",
        "configs/config.yaml",
        "configs/debug.yaml",
        "configs/model/vit.yaml",
        "configs/model/debug.yaml",
        "configs/data/cifar10.yaml",
        "configs/data/debug.yaml",
        "configs/training/default.yaml",
        "configs/training/debug.yaml",
        f"src/{package}/__init__.py",
        f"src/{package}/config.py",
        f"src/{package}/smoke.py",
        f"src/{package}/task.py",
        f"src/{package}/models/registry.py",
        f"src/{package}/models/vit.py",
        f"src/{package}/trainers/trainer.py",
        f"src/{package}/trainers/task_contract.py",
        "tests/conftest.py",
        ".dlgen/spec.yaml",
    }
    expected |= {f"src/{package}/{name}/__init__.py" for name in PACKAGE_DIRS}
    assert expected <= set(vit_files), sorted(expected - set(vit_files))
    assert not [p for p in vit_files if p.endswith(".j2") or "src/pkg/" in p]
    assert any(p.startswith("tests/test_") for p in vit_files)


def test_imported_layers_are_included_transitively(vit_files: dict[str, str]) -> None:
    layers = {p.rsplit("/", 1)[1] for p in vit_files if "/layers/" in p}
    # vit.py imports transformer_block, which imports attention and mlp.
    assert {"transformer_block.py", "attention.py", "mlp.py", "patch_embed.py"} <= layers
    for path, text in vit_files.items():
        for line in text.splitlines():
            in_layers = "/layers/" in path and line.startswith("from .")
            if line.startswith("from ..layers.") or in_layers:
                module = line.split()[1].rsplit(".", 1)[-1]
                assert f"src/tiny_vit/layers/{module}.py" in vit_files, (path, line)


def _compose(files: dict[str, str], tmp_path: Path, name: str) -> Any:
    for path, text in files.items():
        if path.startswith("configs/"):
            (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / path).write_text(text)
    root = OmegaConf.load(tmp_path / f"configs/{name}.yaml")
    merged = OmegaConf.create()
    for entry in root.defaults:
        if entry == "_self_":
            continue
        ((group, option),) = entry.items()
        section = OmegaConf.load(tmp_path / f"configs/{group}/{option}.yaml")
        for parent in section.pop("defaults", []):
            if parent != "_self_":
                section = OmegaConf.merge(
                    OmegaConf.load(tmp_path / f"configs/{group}/{parent}.yaml"), section
                )
        merged = OmegaConf.merge(merged, {group: section})
    merged = OmegaConf.merge(merged, {k: v for k, v in root.items() if k != "defaults"})
    return OmegaConf.to_container(merged, resolve=True)


def test_configs_load_and_hold_every_spec_value(vit_files: dict[str, str], tmp_path: Path) -> None:
    spec = make_spec()
    cfg = _compose(vit_files, tmp_path, "config")
    training = spec.training.model_dump(mode="json")
    for key, value in training.items():
        assert key in cfg["training"], f"training.{key} missing from the config"
        assert cfg["training"][key] == value, key
    assert set(TrainingSpec.model_fields) <= set(cfg["training"])
    model = spec.model.model_dump(mode="json")
    for key, value in model.items():
        if key != "family":
            assert cfg["model"][key] == value, key
    data = cfg["data"]
    assert data["num_classes"] == spec.dataset.num_classes
    assert data["in_channels"] == spec.dataset.input_shape[0]
    assert data["image_size"] == spec.dataset.input_shape[-1]
    assert cfg["model"]["num_classes"] == data["num_classes"]
    debug = _compose(vit_files, tmp_path, "debug")
    assert debug["data"]["source"] == "synthetic"
    assert debug["training"]["epochs"] <= 2
    assert set(debug["training"]) == set(cfg["training"])


def test_manifest_holds_spec_and_version(vit_files: dict[str, str]) -> None:
    manifest = yaml.safe_load(vit_files[".dlgen/spec.yaml"])
    assert manifest["dlgen_version"] == __version__
    spec = Spec.from_dict(manifest["spec"])
    assert spec == make_spec(request="ViT on CIFAR-10 <script>alert(1)</script> **bold**")
    assert 'smoke = "tiny_vit.smoke:smoke_case"' in vit_files["pyproject.toml"]


def test_free_text_is_escaped_and_kept_out_of_code(vit_files: dict[str, str]) -> None:
    readme = vit_files["README.md"]
    assert "<script>" not in readme and "&lt;script&gt;" in readme
    assert "\\*\\*bold\\*\\*" in readme
    for path, text in vit_files.items():
        if path.endswith(".py"):
            assert "alert(1)" not in text, path


def test_readme_follows_the_language() -> None:
    english = render(make_spec(language="en"))["README.md"]
    chinese = render(make_spec(language="zh"))["README.md"]
    assert "## Usage" in english and "使用方法" not in english
    assert "## 使用方法" in chinese and "## Usage" not in chinese
    assert "torchrun" in chinese and "--fast-dev-run" in chinese
    parameters = f"{make_spec().estimated_parameters():,}"
    assert parameters in english and parameters in chinese


def test_generated_python_is_english_only(vit_files: dict[str, str]) -> None:
    chinese = render(make_spec(language="zh", assumptions=["假设：使用默认学习率"]))
    for path, text in chinese.items():
        if path.endswith(".py"):
            assert text.isascii(), f"{path} has non-ASCII text"


def test_family_without_templates_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "templates"
    shutil.copytree(TEMPLATES_ROOT, root, ignore=shutil.ignore_patterns("vit"))
    with pytest.raises(FamilyNotAvailable, match="no templates"):
        render(make_spec(), templates=root)


def test_task_without_templates_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "templates"
    shutil.copytree(TEMPLATES_ROOT, root, ignore=shutil.ignore_patterns("image_classification"))
    with pytest.raises(FamilyNotAvailable, match="image_classification"):
        render(make_spec(), templates=root)


def test_filters_escape_untrusted_text() -> None:
    assert yaml.safe_load(yaml_value("it's: a {trap}\n- x")) == "it's: a {trap}\n- x"
    assert yaml_value([0.5, 0.25]) == "[0.5, 0.25]"
    assert markdown_escape("[link](http://x) `code` <b>") == (
        "\\[link\\](http://x) \\`code\\` &lt;b&gt;"
    )


@pytest.mark.parametrize(
    ("family", "variant", "reference_gflops"),
    [("vit", "b16", 35.1), ("resnet", "resnet50", 8.2), ("resnet", "resnet18", 3.6)],
)
def test_flop_estimates_match_published_figures(
    family: str, variant: str, reference_gflops: float
) -> None:
    from dlgen import catalog

    entry = catalog.family(family).variant(variant)
    spec = make_spec(
        name="perf",
        dataset={
            "name": "imagenet",
            "modality": "image",
            "source": "imagefolder",
            "input_shape": [3, 224, 224],
            "in_channels": 3,
            "num_classes": 1000,
        },
        model={"family": family, "variant": variant, **entry.hparams},
    )
    flops = spec.model.estimate_flops(spec.dataset)
    assert flops is not None
    assert flops / 1e9 == pytest.approx(reference_gflops, rel=0.03)
    assert (spec.model.estimate_activations(spec.dataset) or 0) > 0
    readme = render(spec)["README.md"]
    assert f"{flops / 1e9:.2f} G" in readme
