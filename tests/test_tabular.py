"""Tabular tasks: the analyzer's facts, the Spec's target column, the rendered data configs,
and the generated preprocessing, splits and metrics (imported from a rendered project and
checked against scikit-learn). The slow test trains a generated MLP on breast cancer."""

from __future__ import annotations

import importlib
import json
import sys
import time
import uuid
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
import yaml
from pydantic import ValidationError
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    roc_auc_score,
)

from dlgen.agent.offline.analyzer import analyze_choice, analyze_offline
from dlgen.render import check_contract, render
from dlgen.spec.common import Modality
from dlgen.spec.dataset import DatasetSpec
from tests.test_generated_project import assert_ok, run_in, write_project

LABEL_REQUEST = "MLP classifier for a CSV with a 'label' column, hidden layers 512-256"
PRICE_REQUEST = "用MLP做回归，CSV里有20个数值特征，目标列是price"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A rendered tabular classification project's package, importable."""
    root = tmp_path_factory.mktemp("tabular")
    spec = analyze_choice("mlp", "tabular_classification", "breast_cancer")
    spec = spec.model_copy(update={"name": f"rendered_tabular_{uuid.uuid4().hex[:8]}"})
    prefix = f"src/{spec.name}/"
    for path, text in render(spec).items():
        if path.startswith(prefix):
            target = root / path.removeprefix("src/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    sys.path.insert(0, str(root))
    return spec.name


def _module(package: str, name: str) -> ModuleType:
    return importlib.import_module(f"{package}.{name}")


# Analyzer and Spec ------------------------------------------------------------------------


def test_label_request_reaches_the_data_config() -> None:
    """'a CSV with a 'label' column, hidden layers 512-256' -> mlp [512, 256] on custom_csv."""
    spec = analyze_offline(LABEL_REQUEST).spec
    assert (spec.model.family, spec.task, spec.dataset.name) == (
        "mlp",
        "tabular_classification",
        "custom_csv",
    )
    assert spec.model.hidden_dims == [512, 256] and spec.dataset.target == "label"
    data = yaml.safe_load(check_contract(spec)["configs/data/custom_csv.yaml"])
    assert (data["source"], data["target"], data["num_classes"]) == ("csv", "label", 2)


def test_price_request_is_a_regression_on_twenty_numeric_features() -> None:
    """'用MLP做回归，CSV里有20个数值特征，目标列是price' -> regression, input (20,), target price."""
    spec = analyze_offline(PRICE_REQUEST).spec
    assert (spec.model.family, spec.task, spec.dataset.name) == (
        "mlp",
        "tabular_regression",
        "custom_csv",
    )
    assert spec.dataset.input_shape == [20] and spec.dataset.target == "price"
    assert spec.dataset.num_classes is None and spec.dataset.output_shape == [1]
    files = check_contract(spec)
    data = yaml.safe_load(files["configs/data/custom_csv.yaml"])
    assert (data["target"], data["num_numeric"], data["num_targets"]) == ("price", 20, 1)
    assert "python baseline.py" in files["README.md"]


def test_target_is_checked_and_only_for_tables() -> None:
    """The Spec's target column: stripped, one printable line, tabular data only."""
    fields = {"name": "custom_csv", "modality": Modality.TABULAR, "source": "csv",
              "input_shape": [3], "num_classes": 2}  # fmt: skip
    assert DatasetSpec(**fields, target=" price ").target == "price"
    with pytest.raises(ValidationError, match="column name"):
        DatasetSpec(**fields, target="a\nb")
    with pytest.raises(ValidationError, match="tabular"):
        DatasetSpec(name="mnist", modality=Modality.IMAGE, source="torchvision",
                    input_shape=[1, 28, 28], num_classes=10, target="label")  # fmt: skip


@pytest.mark.parametrize(
    ("dataset", "task"),
    [
        ("iris", "tabular_classification"),
        ("wine", "tabular_classification"),
        ("breast_cancer", "tabular_classification"),
        ("synthetic_tabular", "tabular_classification"),
        ("diabetes", "tabular_regression"),
        ("california_housing", "tabular_regression"),
        ("synthetic_regression", "tabular_regression"),
    ],
)
def test_catalog_datasets_render_their_sources(dataset: str, task: str) -> None:
    """scikit-learn datasets load through sklearn, generators through the synthetic source."""
    spec = analyze_choice("mlp", task, dataset)
    data = yaml.safe_load(check_contract(spec)[f"configs/data/{dataset}.yaml"])
    expected = "synthetic" if dataset.startswith("synthetic") else "sklearn"
    assert data["source"] == expected and data["num_numeric"] == spec.dataset.input_shape[0]


# Generated code ---------------------------------------------------------------------------


def _data(package: str, **values: object) -> object:
    config = _module(package, "data.config")
    base = {"name": "synthetic_tabular", "source": "synthetic", "target": "label",
            "num_numeric": 4, "num_classes": 3, "synthetic_rows": 300}  # fmt: skip
    return config.DataConfig.from_mapping({**base, **values})


def test_preprocessing_is_fitted_on_train_and_restored(package: str) -> None:
    """Statistics come from the training rows only and survive to_dict/from_dict."""
    datasets = _module(package, "data.datasets")
    preprocessing = _module(package, "data.preprocessing")
    table_module = _module(package, "data.table")
    data = _data(package, categorical_cardinalities=[6])
    prepared = datasets.prepare(data)
    table = table_module.synthetic_table(data)
    classes = table.class_names
    labels = np.array([classes.index(c) for c in table.columns["label"]])
    train, _, _ = datasets.split_indices(300, 0.15, 0.15, 0, labels)
    cells = np.array([np.nan if c is None else c for c in table.columns["x1"]], float)
    train_values = cells[train]
    median = np.nanmedian(train_values)
    state = prepared.preprocessor
    assert state.median[1] == pytest.approx(median)
    assert state.mean[1] == pytest.approx(np.where(np.isnan(train_values), median, train_values).mean())
    assert state.mean[1] != pytest.approx(np.nanmean(cells))
    train_categories = sorted({table.columns["c0"][i] for i in train} - {None})
    assert state.categories[0] == train_categories
    restored = preprocessing.Preprocessor.from_dict(json.loads(json.dumps(state.to_dict())))
    assert restored == state
    numeric, categorical = restored.features(table.take(train[:5]))
    assert torch.equal(numeric, prepared.splits.train.numeric[:5])
    assert torch.equal(categorical, prepared.splits.train.categorical[:5])


def test_stratified_split_keeps_class_shares(package: str) -> None:
    """Each split keeps every class's share (to one row), reproducibly for a seed."""
    datasets = _module(package, "data.datasets")
    labels = np.repeat([0, 1, 2], [500, 300, 200])
    train, val, test = datasets.split_indices(1000, 0.1, 0.2, 3, labels)
    for part, share in ((train, 0.7), (val, 0.1), (test, 0.2)):
        counts = np.bincount(labels[part], minlength=3)
        assert np.abs(counts - share * np.array([500, 300, 200])).max() <= 1
    again = datasets.split_indices(1000, 0.1, 0.2, 3, labels)
    assert all(np.array_equal(a, b) for a, b in zip((train, val, test), again, strict=True))
    assert not set(train) & set(val) and not set(val) & set(test)


def test_classification_metrics_equal_scikit_learn(package: str) -> None:
    """Accuracy and macro-F1 exactly, ROC-AUC to 1e-3, from per-batch sums."""
    metrics = _module(package, "metrics.tabular")
    generator = torch.Generator().manual_seed(1)
    labels = torch.randint(0, 4, (500,), generator=generator)
    guess = torch.where(torch.rand(500, generator=generator) < 0.6, labels, torch.randint(0, 4, (500,), generator=generator))
    confusion = sum(
        metrics.confusion_matrix(guess[i : i + 64], labels[i : i + 64], 4) for i in range(0, 500, 64)
    )
    scores = metrics.classification_scores(confusion)
    assert scores["accuracy"] == pytest.approx(accuracy_score(labels, guess), abs=1e-12)
    assert scores["macro_f1"] == pytest.approx(f1_score(labels, guess, average="macro"), abs=1e-12)
    logits = torch.randn(1000, 2, generator=generator) * 2
    odds = metrics.binary_log_odds(logits)
    truth = (torch.rand(1000, generator=generator) < torch.sigmoid(odds)).long()
    histogram = sum(
        metrics.auc_histogram(odds[i : i + 100], truth[i : i + 100]) for i in range(0, 1000, 100)
    )
    assert metrics.binned_roc_auc(histogram) == pytest.approx(roc_auc_score(truth, odds), abs=1e-3)


def test_regression_metrics_equal_scikit_learn(package: str) -> None:
    """MSE, MAE and R² (two targets, far from zero) from per-batch sums."""
    metrics = _module(package, "metrics.tabular")
    generator = torch.Generator().manual_seed(2)
    target = torch.randn(400, 2, generator=generator) * torch.tensor([3.0, 0.5]) + 1000
    prediction = target + torch.randn(400, 2, generator=generator)
    mean, std = target.mean(dim=0), target.std(dim=0)
    chunks = range(0, 400, 50)
    mse = sum(float(metrics.error_sums(prediction[i : i + 50], target[i : i + 50])["mse"]) for i in chunks)
    mae = sum(float(metrics.error_sums(prediction[i : i + 50], target[i : i + 50])["mae"]) for i in chunks)
    stats = sum(
        metrics.r2_stats((prediction[i : i + 50] - mean) / std, (target[i : i + 50] - mean) / std)
        for i in chunks
    )
    assert mse / 400 == pytest.approx(mean_squared_error(target, prediction), rel=1e-4)
    assert mae / 400 == pytest.approx(mean_absolute_error(target, prediction), rel=1e-4)
    assert metrics.r2_score(stats) == pytest.approx(r2_score(target, prediction), abs=1e-4)


def test_schema_mismatch_says_what_to_set(package: str, tmp_path: Path) -> None:
    """A CSV whose columns do not fit the config stops with the values to set."""
    datasets = _module(package, "data.datasets")
    path = tmp_path / "data.csv"
    rows = ["a,b,color,label"] + [f"{i * 0.3},{i % 7 * 1.5},{'rgb'[i % 3]},{i % 2}" for i in range(40)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    data = _data(package, source="csv", root=str(tmp_path), num_numeric=3, num_classes=2)
    with pytest.raises(ValueError, match=r"data.num_numeric=2 'data.categorical_cardinalities=\[4\]'"):
        datasets.prepare(data)
    fitted = datasets.prepare(_data(package, source="csv", root=str(tmp_path), num_numeric=2,
                                    num_classes=2, categorical_cardinalities=[4]))  # fmt: skip
    assert fitted.preprocessor.categorical == ["color"] and fitted.preprocessor.classes == ["0", "1"]


# Training ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_generated_mlp_learns_breast_cancer(tmp_path: Path) -> None:
    """A generated MLP on scikit-learn's breast cancer data: test accuracy >= 0.95 on a CPU
    in a fixed budget of 30 epochs (no early stopping)."""
    spec = analyze_choice("mlp", "tabular_classification", "breast_cancer")
    root = write_project(spec, tmp_path)
    overrides = [
        "training.epochs=30",
        "training.early_stopping_patience=null",
        "training.progress_bar=false",
        "training.tensorboard=false",
        "training.checkpoint_every=10",
        f"output_dir={tmp_path / 'outputs'}",
    ]
    started = time.perf_counter()
    result = run_in(root, [sys.executable, "train.py", *overrides], timeout=600)
    elapsed = time.perf_counter() - started
    assert_ok(result)
    (metrics_file,) = (tmp_path / "outputs").glob("*/metrics.json")
    metrics = json.loads(metrics_file.read_text())
    print(f"MLP breast cancer: test {metrics['test']} in {elapsed:.0f} s")
    assert metrics["test"]["accuracy"] >= 0.95, metrics["test"]
    assert metrics["test"]["roc_auc"] >= 0.97, metrics["test"]
