"""The Spec: field-level error messages and exact YAML/JSON round trips for every family."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from dlgen import catalog
from dlgen.agent.offline import analyze_offline
from dlgen.errors import SpecError, UsageError
from dlgen.spec import Spec
from tests.test_catalog import catalog_spec

FAMILIES = catalog.all_families()


def _vit_data() -> dict[str, Any]:
    return catalog_spec(catalog.family("vit")).to_dict()


def _invalid(data: dict[str, Any]) -> str:
    with pytest.raises(SpecError) as caught:
        Spec.from_dict(data)
    return str(caught.value)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = data
        for part in parents:
            target = target[part]
        target[last] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "fragments"),
    [
        pytest.param(
            _set("dataset.input_shape", [3, 100, 100]),
            ["image_size=100", "patch_size=16", "multiple of 16"],
            id="image-size-vs-patch",
        ),
        pytest.param(
            _set("model.num_heads", 10),
            ["num_heads=10 does not divide hidden_dim=768", "divisors of hidden_dim"],
            id="heads-divide-hidden",
        ),
        pytest.param(
            _set("model.hidden_dim", 0), ["model.vit.hidden_dim", "greater than 0"],
            id="zero-hidden",
        ),
        pytest.param(
            _set("model.num_layers", -2), ["model.vit.num_layers", "greater than 0"],
            id="negative-layers",
        ),
        pytest.param(
            _set("training.batch_size", 0), ["training.batch_size", "greater than 0"],
            id="zero-batch",
        ),
        pytest.param(
            _set("dataset.input_shape", [3, 0, 224]), ["dataset.input_shape", "greater than 0"],
            id="zero-image-side",
        ),
        pytest.param(
            _set("model.activation", "mish"), ["model.vit.activation", "'gelu'"],
            id="unknown-activation",
        ),
        pytest.param(
            _set("training.optimizer", "lion"), ["training.optimizer", "'adamw'", "'sgd'"],
            id="unknown-optimizer",
        ),
        pytest.param(
            _set("model.variant", "b8"), ["has no variant 'b8'", "b16", "null"],
            id="unknown-variant",
        ),
        pytest.param(
            _set("task", "semantic_segmentation"), ["does not serve task", "image_classification"],
            id="task-not-served",
        ),
        pytest.param(
            _set("name", "My Project"), ["name", "lowercase letter"], id="bad-name",
        ),
        pytest.param(
            _set("training.warmup_epochs", 400), ["warmup_epochs=400", "lower warmup_epochs"],
            id="warmup-over-epochs",
        ),
    ],
)  # fmt: skip
def test_validation_errors_name_the_field(
    edit: Callable[[dict[str, Any]], None], fragments: list[str]
) -> None:
    data = _vit_data()
    edit(data)
    message = _invalid(data)
    for fragment in fragments:
        assert fragment in message


def test_oversized_model_is_refused() -> None:
    data = catalog_spec(catalog.family("gpt"), catalog.family("gpt").variant("gpt2")).to_dict()
    data["model"].update(hidden_dim=16384, num_layers=1000, num_heads=32)
    message = _invalid(data)
    assert "GB in fp32" in message and "100 GB limit" in message
    assert "reduce its width or depth" in message


def test_analyzer_turns_validation_errors_into_spec_errors() -> None:
    with pytest.raises(SpecError) as caught:
        analyze_offline("ViT with patch 16 at image size 100")
    assert isinstance(caught.value, UsageError)
    assert not isinstance(caught.value, ValidationError)
    assert isinstance(caught.value.__cause__, ValidationError)
    assert "image_size=100" in str(caught.value)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.key)
def test_round_trips_are_exact(family: catalog.ArchitectureFamily) -> None:
    spec = catalog_spec(family)
    spec = spec.model_copy(update={"assumptions": ["未指定变体，默认使用标准配置。"],
                                   "request": "实现一个模型 / build a model"})  # fmt: skip
    from_yaml = Spec.from_yaml(spec.to_yaml())
    from_json = Spec.from_json(spec.to_json())
    assert from_yaml == spec and from_json == spec
    assert from_yaml.to_yaml() == spec.to_yaml()
    assert from_json.to_json() == spec.to_json()
    assert "未指定变体" in spec.to_yaml()  # unicode kept readable


@pytest.mark.parametrize(
    "request_text",
    ["实现ViT用于ImageNet", "时间序列预测：用GRU预测未来24步，输入序列长度96，特征数7",
     "GPT-2 small on WikiText-103", "DeepLabV3+ with ResNet-101 backbone on Cityscapes"],
)  # fmt: skip
def test_analyzed_specs_round_trip(request_text: str) -> None:
    spec = analyze_offline(request_text).spec
    assert Spec.from_yaml(spec.to_yaml()) == spec
    assert Spec.from_json(spec.to_json()) == spec


def test_spec_dict_is_not_mutated_by_validation() -> None:
    data = _vit_data()
    before = copy.deepcopy(data)
    Spec.from_dict(data)
    assert data == before
