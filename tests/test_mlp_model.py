"""MLP model template: the catalog's parameter formula equals the built model, every option.

The model file is imported from a rendered project, so it is the code a user gets.
"""

from __future__ import annotations

import importlib
import sys
import uuid
from pathlib import Path
from types import ModuleType

import pytest
import torch

from dlgen.agent.offline.analyzer import analyze_choice
from dlgen.catalog.families.mlp import MLPHParams, embedding_width, mlp_parameters
from dlgen.render import render


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    root = tmp_path_factory.mktemp("rendered")
    spec = analyze_choice("mlp", "tabular_classification", "iris")
    spec = spec.model_copy(update={"name": f"rendered_mlp_{uuid.uuid4().hex[:8]}"})
    prefix = f"src/{spec.name}/"
    for path, text in render(spec).items():
        if path.startswith(prefix):
            target = root / path.removeprefix("src/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    sys.path.insert(0, str(root))
    return importlib.import_module(f"{spec.name}.models.mlp")


CASES = [
    ({"hidden_dims": [256, 128, 64]}, 4, 3, []),
    ({"hidden_dims": [64, 64], "norm": "batch"}, 30, 2, [5, 12]),
    ({"hidden_dims": [32, 32, 16], "norm": "layer", "residual": True}, 10, 1, [3]),
    ({"hidden_dims": [8], "residual": True, "embedding_dim": 6}, 0, 4, [7, 200]),
    ({"hidden_dims": [512, 256], "dropout": 0.3, "activation": "gelu"}, 20, 1, [101] * 3),
]


@pytest.mark.parametrize(("hparams", "numeric", "outputs", "cardinalities"), CASES)
def test_parameter_formula_equals_the_built_model(
    module: ModuleType, hparams: dict, numeric: int, outputs: int, cardinalities: list[int]
) -> None:
    """mlp_parameters (the README's count) equals the generated model's, for every option."""
    config = MLPHParams(**hparams)
    model = module.MLP(
        module.MLPConfig(
            num_outputs=outputs,
            num_numeric=numeric,
            categorical_cardinalities=cardinalities,
            **{k: v for k, v in config.model_dump().items() if k != "family"},
        )
    )
    built = sum(p.numel() for p in model.parameters())
    assert built == mlp_parameters(config, numeric, outputs, cardinalities)


def test_images_are_flattened_and_counted(module: ModuleType) -> None:
    """An MLP on MNIST maps (B, 1, 28, 28) to 10 logits; the Spec's estimate matches."""
    spec = analyze_choice("mlp", "image_classification", "mnist")
    hparams = spec.model.model_dump()
    hparams.pop("family")
    hparams.pop("embedding_dim")
    model = module.MLP(module.MLPConfig(num_outputs=10, in_channels=1, image_size=28, **hparams))
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    assert sum(p.numel() for p in model.parameters()) == spec.estimated_parameters()


def test_embeddings_follow_the_fastai_rule_and_match_the_catalog(module: ModuleType) -> None:
    """One nn.Embedding per column, min(50, (c + 1) // 2) wide, the same rule as the catalog."""
    cardinalities = [2, 3, 10, 99, 100, 5000]
    model = module.MLP(
        module.MLPConfig(num_outputs=2, num_numeric=1, categorical_cardinalities=cardinalities)
    )
    widths = [embedding.embedding_dim for embedding in model.embeddings]
    assert widths == [1, 2, 5, 50, 50, 50] == [embedding_width(c) for c in cardinalities]
    assert [module.embedding_width(c) for c in cardinalities] == widths


def test_batch_norm_blocks_have_no_dead_bias(module: ModuleType) -> None:
    """Before batch norm the linear layer has no bias (it would get no gradient)."""
    model = module.MLP(
        module.MLPConfig(num_outputs=3, num_numeric=4, hidden_dims=[8, 8], norm="batch")
    ).train()
    loss = model(torch.randn(16, 4)).logsumexp(dim=1).mean()
    loss.backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_residual_uses_identity_or_projection(module: ModuleType) -> None:
    """Equal widths add the input itself; other widths go through a bias-free projection."""
    model = module.MLP(
        module.MLPConfig(num_outputs=1, num_numeric=8, hidden_dims=[8, 4], residual=True)
    )
    first, second = model.blocks
    assert isinstance(first.shortcut, torch.nn.Identity)
    assert isinstance(second.shortcut, torch.nn.Linear) and second.shortcut.bias is None


def test_config_errors_name_the_problem(module: ModuleType) -> None:
    """Bad configs fail with what is wrong."""
    with pytest.raises(ValueError, match="norm must be one of"):
        module.MLPConfig(num_outputs=2, num_numeric=3, norm="group")
    with pytest.raises(ValueError, match="cardinality must be >= 2"):
        module.MLPConfig(num_outputs=2, num_numeric=3, categorical_cardinalities=[1])
    with pytest.raises(ValueError, match="num_numeric"):
        module.MLPConfig(num_outputs=2)


def test_exports_with_categorical_inputs(module: ModuleType, tmp_path: Path) -> None:
    """torch.export traces the model with embeddings (range checks skipped while tracing)."""
    model = module.MLP(
        module.MLPConfig(num_outputs=2, num_numeric=3, categorical_cardinalities=[4, 6])
    ).eval()
    inputs = (torch.randn(2, 3), torch.tensor([[0, 5], [3, 1]]))
    program = torch.export.export(model, inputs)
    assert torch.allclose(program.module()(*inputs), model(*inputs), atol=1e-6)
