"""Fine-tuning (``model.pretrained``) and ``export.py`` of generated projects, on local files.

Projects are rendered with :func:`dlgen.render.render` into a temporary folder (each under a
unique package name) and driven through their own API in this process: the config loader,
``build_model`` (which loads ``model.pretrained``), the task and ``export.py``'s ``main``.
Nothing is downloaded: the timm state dict is a randomly initialised ``vit_tiny_patch16_224``
saved to a temporary file.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from omegaconf import DictConfig, OmegaConf

from dlgen.agent.offline.analyzer import analyze_choice
from dlgen.render import render

# timm's ViT-Ti/16 (vit_tiny_patch16_224): the sizes the debug preset is overridden to.
VIT_TINY = ["model.hidden_dim=192", "model.num_layers=12", "model.num_heads=3"]
VIT_TINY += ["model.mlp_ratio=4.0", "model.patch_size=16"]
TOLERANCE = 1e-4


@dataclass
class Project:
    """A rendered project, importable in this process."""

    root: Path
    package: str

    def module(self, name: str) -> ModuleType:
        return importlib.import_module(f"{self.package}.{name}")

    def config(self, *overrides: str) -> DictConfig:
        load_config = self.module("config").load_config
        output = f"output_dir={self.root / 'outputs'}"
        return load_config("debug", [output, *overrides], self.root / "configs")

    def build_model(self, cfg: DictConfig, **kwargs: Any) -> torch.nn.Module:
        return self.module("models").build_model(cfg.model, **kwargs)

    def export_main(self) -> Any:
        spec = importlib.util.spec_from_file_location(
            f"{self.package}_export", self.root / "export.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.main


def _render(root: Path, family: str, task: str, dataset: str) -> Project:
    spec = analyze_choice(family, task, dataset)
    spec = spec.model_copy(update={"name": f"ft_{family}_{uuid.uuid4().hex[:8]}"})
    for path, text in render(spec).items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    sys.path.insert(0, str(root / "src"))
    return Project(root=root, package=spec.package_name)


@pytest.fixture(scope="module")
def vit(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A ViT project for ImageNet classification."""
    return _render(tmp_path_factory.mktemp("vit"), "vit", "image_classification", "imagenet")


@pytest.fixture(scope="module")
def timm_vit_tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A timm ``vit_tiny_patch16_224`` state dict (random weights) saved with torch.save."""
    timm = pytest.importorskip("timm")
    torch.manual_seed(0)
    state = timm.create_model("vit_tiny_patch16_224", pretrained=False).state_dict()
    path = tmp_path_factory.mktemp("timm") / "vit_tiny_patch16_224.pth"
    torch.save(state, path)
    return path, state


def _save_checkpoint(project: Project, cfg: DictConfig, model: torch.nn.Module, path: Path) -> Path:
    """A checkpoint as train.py writes it, reduced to what fine-tuning and export read."""
    config = OmegaConf.to_container(cfg, resolve=True)
    project.module("utils.checkpoint").save_checkpoint(
        {"model": model.state_dict(), "config": config}, path
    )
    return path


# Fine-tuning -------------------------------------------------------------------------------


def test_vit_finetunes_from_timm_at_a_new_size_and_class_count(
    vit: Project, timm_vit_tiny: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, reference = timm_vit_tiny
    overrides = [*VIT_TINY, "data.image_size=384", "data.num_classes=10"]
    cfg = vit.config(f"model.pretrained={path}", *overrides)
    torch.manual_seed(0)
    model = vit.build_model(cfg)
    report = capsys.readouterr().out.strip().splitlines()
    assert len(report) == 1, report
    assert "head reset" in report[0] and "dropped head.weight, head.bias" in report[0]
    assert "14x14 to a 24x24 patch grid" in report[0]

    state = model.state_dict()
    # The position embedding: class token kept exactly, patch grid resampled like timm does.
    assert state["pos_embed"].shape == (1, 1 + 24 * 24, 192)
    assert torch.equal(state["pos_embed"][:, :1], reference["pos_embed"][:, :1])
    resample = pytest.importorskip("timm.layers").resample_abs_pos_embed
    expected = resample(reference["pos_embed"], (24, 24), num_prefix_tokens=1)
    torch.testing.assert_close(state["pos_embed"], expected)
    # Everything else loaded as it is; the head is new and sized for 10 classes.
    for key in ("cls_token", "patch_embed.proj.weight", "blocks.11.mlp.fc2.weight", "norm.bias"):
        assert torch.equal(state[key], reference[key]), key
    assert state["head.weight"].shape == (10, 192)

    # One training step through the task, as the trainer takes it.
    task = vit.module("task").build_task(cfg)
    batch = task.example_batch(2)
    assert batch[0].shape == (2, 3, 384, 384)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = model.head.weight.detach().clone()
    loss = task.training_step(model.train(), batch).loss
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss)
    assert not torch.equal(model.head.weight, before)


def test_a_project_checkpoint_loads_back_exactly(
    vit: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = vit.config()
    torch.manual_seed(1)
    model = vit.build_model(cfg)
    path = _save_checkpoint(vit, cfg, model, tmp_path / "step_00000001.pt")
    torch.manual_seed(2)
    finetuned = vit.build_model(vit.config(f"model.pretrained={path}"))
    assert "(checkpoint)" in capsys.readouterr().out
    for key, value in model.state_dict().items():
        assert torch.equal(finetuned.state_dict()[key], value), key
    # Entry points that load a checkpoint right after skip the pretrained weights.
    unloaded = vit.build_model(
        vit.config(f"model.pretrained={tmp_path / 'gone.pt'}"), load_pretrained=False
    )
    assert not torch.equal(unloaded.head.weight, model.head.weight)


def test_weights_of_another_architecture_are_a_clear_error(
    vit: Project, timm_vit_tiny: tuple[Path, dict[str, Any]]
) -> None:
    path, _ = timm_vit_tiny
    pretrained = vit.module("utils.pretrained")
    cfg = vit.config(f"model.pretrained={path}", *VIT_TINY, "model.num_layers=2")
    with pytest.raises(pretrained.PretrainedError, match=r"not in the model: blocks\.2\.") as info:
        vit.build_model(cfg)
    assert "beyond its classifier ['head', 'head_dist']" in str(info.value)
    width = vit.config(f"model.pretrained={path}", *VIT_TINY, "model.hidden_dim=96")
    with pytest.raises(pretrained.PretrainedError, match=r"of another shape: .*1x197x192"):
        vit.build_model(width)
    with pytest.raises(FileNotFoundError, match="no such file"):
        vit.build_model(vit.config(f"model.pretrained={path}.missing"))


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_resnet_finetunes_from_a_torchvision_state_dict(
    suffix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    torchvision = pytest.importorskip("torchvision")
    project = _render(tmp_path / "resnet", "resnet", "image_classification", "cifar10")
    torch.manual_seed(0)
    reference = torchvision.models.resnet18().state_dict()
    path = tmp_path / f"resnet18{suffix}"
    if suffix == ".safetensors":
        pytest.importorskip("safetensors.torch").save_file(reference, str(path))
    else:
        torch.save(reference, path)
    resnet18 = ["model.style=imagenet", "model.block=basic", "model.layers=[2,2,2,2]"]
    resnet18 += ["model.base_width=64", "model.stem=standard", "model.shortcut=B"]
    cfg = project.config(f"model.pretrained={path}", *resnet18, "data.num_classes=10")
    model = project.build_model(cfg)
    assert "dropped fc.weight, fc.bias" in capsys.readouterr().out
    state = model.state_dict()
    assert state["fc.weight"].shape == (10, 512)
    for key, value in reference.items():
        if not key.startswith("fc."):
            assert torch.equal(state[key], value), key


# Export --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vit_checkpoint(vit: Project, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint of the debug ViT (random weights)."""
    cfg = vit.config()
    torch.manual_seed(0)
    model = vit.build_model(cfg)
    return _save_checkpoint(vit, cfg, model, tmp_path_factory.mktemp("ckpt") / "best.pt")


def _eager_and_inputs(
    project: Project, checkpoint: Path
) -> tuple[torch.nn.Module, tuple[Any, ...]]:
    state = torch.load(checkpoint, weights_only=True)
    cfg = OmegaConf.create(state["config"])
    model = project.build_model(cfg, load_pretrained=False)
    model.load_state_dict(state["model"])
    task = project.module("task").build_task(cfg)
    return model.eval(), tuple(task.model_inputs(task.example_batch(2)))


def test_export_exported_program_matches_eager(
    vit: Project, vit_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "vit.pt2"
    code = vit.export_main()(
        [str(vit_checkpoint), "--format", "exported-program", "--output", str(output)]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "max abs difference from eager" in printed and ": ok" in printed
    model, inputs = _eager_and_inputs(vit, vit_checkpoint)
    with torch.no_grad():
        actual = torch.export.load(output).module()(*inputs)
        torch.testing.assert_close(actual, model(*inputs), rtol=0, atol=TOLERANCE)
    # Above the tolerance, the exit status says so.
    assert (
        vit.export_main()(
            [
                str(vit_checkpoint),
                "--format",
                "exported-program",
                "--output",
                str(output),
                "--tolerance",
                "-1",
            ]
        )
        == 1
    )
    assert "FAILED" in capsys.readouterr().out


def test_export_onnx_matches_eager_in_onnxruntime(
    vit: Project, vit_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    output = tmp_path / "vit.onnx"
    code = vit.export_main()([str(vit_checkpoint), "--format", "onnx", "--output", str(output)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "max abs difference from eager" in printed
    model, inputs = _eager_and_inputs(vit, vit_checkpoint)
    session = onnxruntime.InferenceSession(str(output), providers=["CPUExecutionProvider"])
    feeds = {node.name: x.numpy() for node, x in zip(session.get_inputs(), inputs, strict=True)}
    with torch.no_grad():
        expected = model(*inputs)
    actual = torch.from_numpy(session.run(None, feeds)[0])
    torch.testing.assert_close(actual, expected, rtol=0, atol=TOLERANCE)


def test_export_without_the_onnx_extra_names_it(
    vit: Project,
    vit_checkpoint: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "onnxscript" else find_spec(name, *args),
    )
    assert vit.export_main()([str(vit_checkpoint), "--format", "onnx"]) == 2
    error = capsys.readouterr().err.strip()
    assert error == "error: --format onnx needs onnxscript: pip install -e '.[onnx]'"


@pytest.mark.parametrize(
    ("family", "task", "dataset"),
    [
        ("resnet", "image_classification", "cifar10"),
        # Padded batches: eager packs them, the export runs the masked recurrence.
        ("rnn", "sequence_classification", "imdb"),
        ("rnn", "language_modeling", "tiny_shakespeare"),
        ("rnn", "time_series_forecasting", "ett"),
        ("fno", "operator_learning", "darcy"),
    ],
)
def test_every_task_exports_an_exported_program(
    family: str, task: str, dataset: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _render(tmp_path / "project", family, task, dataset)
    cfg = project.config()
    torch.manual_seed(0)
    checkpoint = _save_checkpoint(project, cfg, project.build_model(cfg), tmp_path / "best.pt")
    code = project.export_main()([str(checkpoint), "--format", "exported-program"])
    printed = capsys.readouterr()
    assert code == 0, printed
    assert (tmp_path / "best.pt2").is_file()
