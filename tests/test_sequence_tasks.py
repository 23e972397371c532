"""The three sequence tasks (classification, forecasting, language modeling) as rendered.

Each task folder is rendered into a real project whose package is imported, so the data
pipelines, metrics and task steps under test are exactly the generated code.
"""

from __future__ import annotations

import importlib
import math
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score

from dlgen.render import render
from dlgen.spec import Spec

TASK_SPECS: dict[str, dict[str, Any]] = {
    "text": {
        "task": "sequence_classification",
        "modality": "text",
        "dataset": {
            "name": "imdb",
            "modality": "text",
            "source": "text",
            "input_shape": [512],
            "num_classes": 2,
            "vocab_size": 30000,
        },
        "model": {
            "family": "rnn",
            "cell": "lstm",
            "hidden_dim": 256,
            "num_layers": 2,
            "bidirectional": True,
            "dropout": 0.3,
        },
    },
    "signal": {
        "task": "sequence_classification",
        "modality": "signal",
        "dataset": {
            "name": "ptb_xl",
            "modality": "signal",
            "source": "npy",
            "input_shape": [12, 1000],
            "in_channels": 12,
            "num_classes": 5,
        },
        "model": {"family": "rnn", "cell": "gru", "hidden_dim": 64, "head": "mean"},
    },
    "signal_cnn": {
        "task": "sequence_classification",
        "modality": "signal",
        "dataset": {
            "name": "ptb_xl",
            "modality": "signal",
            "source": "npy",
            "input_shape": [12, 1000],
            "in_channels": 12,
            "num_classes": 5,
        },
        "model": {"family": "cnn", "dims": 1, "channels": [32, 64, 128, 128], "kernel_size": 7},
    },
    "forecast": {
        "task": "time_series_forecasting",
        "modality": "time_series",
        "dataset": {
            "name": "synthetic_series",
            "modality": "time_series",
            "source": "generator",
            "input_shape": [96, 7],
            "output_shape": [24, 7],
        },
        "model": {"family": "rnn", "cell": "gru", "hidden_dim": 256, "horizon": 24},
    },
    "lm": {
        "task": "language_modeling",
        "modality": "text",
        "dataset": {
            "name": "tiny_shakespeare",
            "modality": "text",
            "source": "text",
            "input_shape": [256],
            "vocab_size": 65,
        },
        "model": {
            "family": "rnn",
            "cell": "lstm",
            "hidden_dim": 512,
            "num_layers": 3,
            "dropout": 0.2,
            "embedding_dim": 64,
        },
    },
}


class Project:
    """A rendered project on disk with its package importable."""

    def __init__(self, root: Path, spec: Spec, files: dict[str, str]) -> None:
        self.root = root
        self.spec = spec
        self.package = spec.name
        self.files = files

    def module(self, name: str) -> ModuleType:
        """Import ``<package>.<name>``."""
        return importlib.import_module(f"{self.package}.{name}")

    def config(self, name: str = "debug", *overrides: str) -> Any:
        """The composed config of the project."""
        load = self.module("config").load_config
        return load(
            name, [f"output_dir={self.root / 'outputs'}", *overrides], self.root / "configs"
        )


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Project]:
    """One rendered project per entry of TASK_SPECS."""
    base = tmp_path_factory.mktemp("sequence_tasks")
    rendered = {}
    for key, data in TASK_SPECS.items():
        spec = Spec.model_validate({"name": f"seq_{key}_{uuid.uuid4().hex[:6]}", **data})
        files = render(spec)
        root = base / spec.name
        for path, text in files.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        sys.path.insert(0, str(root / "src"))
        rendered[key] = Project(root, spec, files)
    return rendered


# Rendering --------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _single_thread() -> None:
    torch.set_num_threads(1)


@pytest.mark.parametrize("key", sorted(TASK_SPECS))
def test_configs_build_the_model_the_catalog_describes(
    projects: dict[str, Project], key: str
) -> None:
    """The real preset builds the catalog's parameter count; the debug one runs a batch."""
    project = projects[key]
    build_model = project.module("models").build_model
    real = build_model(project.config("config").model)
    assert sum(p.numel() for p in real.parameters()) == project.spec.estimated_parameters()
    cfg = project.config("debug")
    task = project.module("task").build_task(cfg)
    model = build_model(cfg.model).train()
    batch = task.example_batch(3)
    assert tuple(model(*task.model_inputs(batch)).shape) == task.output_shape(3)
    task.training_step(model, batch).loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_rendered_files_of_each_task(projects: dict[str, Project]) -> None:
    for key, project in projects.items():
        prefix = f"src/{project.package}/"
        family = project.spec.model.family
        assert f"{prefix}models/{family}.py" in project.files
        assert (f"{prefix}layers/recurrent.py" in project.files) == (family == "rnn")
        assert "docs/data.md" in project.files
        assert "docs/data.md" in project.files["README.md"], key
    text = projects["text"].files
    assert "class_names: [negative, positive]" in text["configs/data/imdb.yaml"]
    assert "input_layout: channels_first" in projects["signal"].files["configs/model/rnn.yaml"]
    lm = projects["lm"].files["configs/model/rnn.yaml"]
    assert "kind: language_model" in lm and "vocab_size: ${data.vocab_size}" in lm


def test_smoke_case_uses_real_sizes(projects: dict[str, Project]) -> None:
    """The validators' entry point builds the real model and a batch of two."""
    project = projects["forecast"]
    case = project.module("smoke").smoke_case(torch.device("cpu"))
    output = case["model"](*case["inputs"])
    assert tuple(output.shape) == case["expected_output_shape"] == (2, 24, 7)
    case["loss_fn"](output).backward()


# Sequence classification -------------------------------------------------------------------


def test_vocabulary_is_built_from_training_text_with_capacity(projects: dict[str, Project]) -> None:
    tokenizer = projects["text"].module("data.tokenizer")
    vocab = tokenizer.Vocabulary.build(["b a a c", "a b d"], capacity=5)
    assert vocab.symbols == ["<pad>", "<unk>", "a", "b", "c"]  # by count, then by symbol
    assert vocab.encode("A d b") == [2, 1, 3]
    chars = tokenizer.Vocabulary.build(["abca"], capacity=10, level="char")
    assert chars.decode(chars.encode("cab")) == "cab"


def test_synthetic_texts_follow_the_negation_rule(projects: dict[str, Project]) -> None:
    text = projects["text"].module("data.text")
    splits = text.synthetic_splits({"train": 400}, num_classes=2, seed=0, max_words=40)
    assert splits == text.synthetic_splits({"train": 400}, num_classes=2, seed=0, max_words=40)
    labels = [label for _, label in splits["train"]]
    assert 0.3 < sum(labels) / len(labels) < 0.7
    for sentence, label in splits["train"]:
        words = sentence.split()
        assert len(words) <= 40
        votes = [0, 0]
        for index, word in enumerate(words):
            for cls, cues in enumerate((text.NEGATIVE, text.POSITIVE)):
                if word in cues:
                    negated = index > 0 and words[index - 1] in text.NEGATIONS
                    votes[1 - cls if negated else cls] += 1
        assert votes[label] > votes[1 - label], sentence


def test_text_batches_are_padded_with_lengths(projects: dict[str, Project]) -> None:
    project = projects["text"]
    task = project.module("task").build_task(project.config())
    splits = task.build_datasets()
    tokens, length, label = splits.train[0]
    assert tokens.shape == (24,) and tokens.dtype == torch.long
    assert 1 <= int(length) <= 24 and torch.all(tokens[int(length) :] == 0)
    assert int(label) in (0, 1)
    batch = task.example_batch(4)
    trimmed, lengths = task.model_inputs(batch)
    assert trimmed.shape[1] == int(lengths.max()) and len(set(lengths.tolist())) > 1


def test_missing_local_files_name_the_layout(projects: dict[str, Project]) -> None:
    project = projects["text"]
    cfg = project.config("config", f"data.root={project.root / 'nowhere'}")
    task = project.module("task").build_task(cfg)
    with pytest.raises(FileNotFoundError, match="data.source=synthetic"):
        task.build_datasets()


def test_imdb_folder_layout_is_read(projects: dict[str, Project], tmp_path: Path) -> None:
    for split in ("train", "test"):
        for folder in ("neg", "pos"):
            target = tmp_path / "aclImdb" / split / folder
            target.mkdir(parents=True)
            for index in range(3):
                (target / f"{index}_1.txt").write_text(f"{folder} review<br />number {index}")
    splits = projects["text"].module("data.text").read_local("imdb", tmp_path)
    assert len(splits["train"]) == len(splits["test"]) == 6
    assert ("neg review number 0", 0) in splits["train"]
    assert ("pos review number 2", 1) in splits["test"]


def test_macro_f1_matches_scikit_learn(projects: dict[str, Project]) -> None:
    metrics = projects["text"].module("metrics.classification")
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(50, 4, generator=generator)
    labels = torch.randint(0, 4, (50,), generator=generator)
    counts = metrics.class_counts(logits, labels, 4)
    expected = f1_score(labels.numpy(), logits.argmax(1).numpy(), average="macro")
    assert metrics.macro_f1(counts["tp"], counts["fp"], counts["fn"]) == pytest.approx(expected)
    assert float(counts["correct"]) == float((logits.argmax(1) == labels).sum())


def test_classification_evaluation_reports_accuracy_and_macro_f1(
    projects: dict[str, Project],
) -> None:
    project = projects["text"]
    task = project.module("task").build_task(project.config())
    model = project.module("models").build_model(project.config().model).eval()
    with torch.no_grad():
        sums = task.evaluation_step(model, task.example_batch(6))
    count = float(sums.pop("count"))
    metrics = task.finalize_metrics({k: float(v) / count for k, v in sums.items()})
    assert set(metrics) == {"loss", "accuracy", "macro_f1"}
    assert 0.0 <= metrics["macro_f1"] <= 1.0


def test_signals_are_standardised_with_training_statistics(projects: dict[str, Project]) -> None:
    project = projects["signal"]
    task = project.module("task").build_task(project.config())
    prepared = task.prepared()
    train = prepared.splits.train.signals  # (N, C, L)
    assert train.shape[1:] == (12, 64)
    assert torch.allclose(train.mean(dim=(0, 2)), torch.zeros(12), atol=1e-4)
    assert torch.allclose(train.std(dim=(0, 2), unbiased=False), torch.ones(12), atol=1e-3)
    signals = project.module("data.signals")
    with pytest.raises(FileNotFoundError, match="x_train.npy"):
        signals.read_npy_signals(project.root / "nowhere")


# Forecasting ------------------------------------------------------------------------------


def test_windows_are_chronological_and_normalised_on_train(projects: dict[str, Project]) -> None:
    series = projects["forecast"].module("data.series")
    values = np.arange(200, dtype=np.float32)[:, None] * np.array([[1.0, -2.0]], np.float32)
    windows, normalizer = series.make_windows(values, 10, 5, (0.6, 0.2, 0.2))
    assert np.allclose(normalizer.mean, values[:120].mean(axis=0))
    assert np.allclose(normalizer.std, values[:120].std(axis=0))
    raw = {
        name: normalizer.inverse(torch.stack([d[i][1] for i in range(len(d))]))
        for name, d in windows.items()
    }
    first_targets = {name: float(t[:, 0, 0].min()) for name, t in raw.items()}
    last_targets = {name: float(t[:, -1, 0].max()) for name, t in raw.items()}
    assert last_targets["train"] < 120 and first_targets["val"] == pytest.approx(120, abs=1e-3)
    assert last_targets["val"] < 160 and first_targets["test"] == pytest.approx(160, abs=1e-3)
    inputs, targets = windows["test"][0]
    assert inputs.shape == (10, 2) and targets.shape == (5, 2)


def test_naive_baseline_repeats_the_last_value(projects: dict[str, Project]) -> None:
    series = projects["forecast"].module("data.series")
    window = torch.arange(12.0).view(1, 6, 2)
    forecast = series.naive_forecast(window, 3)
    assert forecast.shape == (1, 3, 2) and torch.all(forecast == torch.tensor([10.0, 11.0]))


def test_csv_series_reader_drops_dates(projects: dict[str, Project], tmp_path: Path) -> None:
    path = tmp_path / "ETTh1.csv"
    rows = ["date,HUFL,OT"] + [f"2016-07-01 {h:02d}:00:00,{h},{2 * h}" for h in range(24)]
    path.write_text("\n".join(rows))
    values, names = projects["forecast"].module("data.series").read_csv_series(path)
    assert names == ["HUFL", "OT"] and values.shape == (24, 2) and values[3, 1] == 6


# Language modeling ------------------------------------------------------------------------


def test_chunks_shift_targets_by_one(projects: dict[str, Project]) -> None:
    datasets = projects["lm"].module("data.datasets")
    chunks = datasets.TokenChunks(np.arange(20, dtype=np.uint16), block_size=4, stride=4)
    assert len(chunks) == 4
    inputs, targets = chunks[2]
    assert inputs.tolist() == [8, 9, 10, 11] and targets.tolist() == [9, 10, 11, 12]


def test_synthetic_corpus_is_deterministic_and_fits_the_vocabulary(
    projects: dict[str, Project],
) -> None:
    project = projects["lm"]
    corpus = project.module("data.corpus")
    assert corpus.synthetic_corpus(3000, 1) == corpus.synthetic_corpus(3000, 1)
    data = project.module("data.config").DataConfig.from_mapping(
        project.config("config", "data.source=synthetic").data
    )
    texts = project.module("data.datasets").load_texts(data)
    assert texts["train"][-50:] + texts["val"][:50] in corpus.synthetic_corpus(400_000, 0)
    task = project.module("task").build_task(project.config("config", "data.source=synthetic"))
    assert task.prepared().tokenizer.size <= 65


def test_language_model_metrics_are_consistent(projects: dict[str, Project]) -> None:
    project = projects["lm"]
    task = project.module("task").build_task(project.config())
    metrics = task.finalize_metrics({"loss": math.log(4.0)})
    assert metrics["perplexity"] == pytest.approx(4.0)
    assert metrics["bits_per_char"] == pytest.approx(2.0)


def test_sampling_continues_a_prompt(projects: dict[str, Project]) -> None:
    project = projects["lm"]
    cfg = project.config()
    task = project.module("task").build_task(cfg)
    model = project.module("models").build_model(cfg.model).eval()
    lines = task.predict(model, ["The king"])
    assert lines[0].startswith("--- 'The king'\nThe king") and len(lines[0]) > 200


# Learning ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_forecaster_beats_the_naive_baseline(projects: dict[str, Project]) -> None:
    """A small GRU learns the synthetic seasonal series: test MSE well below last-value's."""
    project = projects["forecast"]
    cfg = project.config(
        "config",
        "data.input_length=48",
        "data.horizon=12",
        "data.num_features=3",
        "data.synthetic_length=3000",
        "data.stride=2",
        "model.hidden_dim=32",
        "model.num_layers=1",
        "training.epochs=4",
        "training.batch_size=32",
        "training.lr=3e-3",
        "training.num_workers=0",
        "training.progress_bar=false",
        "training.tensorboard=false",
        "training.log_every_steps=1000",
    )
    trainer_module = project.module("trainers.trainer")
    context = project.module("utils.distributed").init_distributed("cpu")
    torch.manual_seed(0)
    model = project.module("models").build_model(cfg.model)
    task = project.module("task").build_task(cfg)
    trainer = trainer_module.Trainer(cfg, task, model, context, project.root / "outputs")
    result = trainer.fit()
    test = result.test_metrics
    print(f"forecast test metrics: {test}")
    assert test["mse"] < 0.3 * test["naive_mse"], test
    assert test["mse_vs_naive"] < 0.3


def test_wordpiece_tokenizer_is_trained_on_train_texts_and_pads_with_zero(
    projects: dict[str, Project],
) -> None:
    pytest.importorskip("tokenizers")
    tokenizer_module = projects["text"].module("data.tokenizer")
    texts = ["the film was not bad at all", "a dull, boring film", "not good"] * 20
    first = tokenizer_module.build_tokenizer("wordpiece", iter(texts), 120, max_length=8)
    again = tokenizer_module.build_tokenizer("wordpiece", iter(texts), 120, max_length=8)
    ids = first.encode("The film was NOT bad at all, really")
    assert ids == again.encode("The film was NOT bad at all, really")  # deterministic
    assert first.pad_id == 0 and len(first) <= 120
    assert ids[0] == first.tokenizer.cls_token_id and ids[-1] == first.tokenizer.sep_token_id
    assert len(ids) == 8  # truncated, [SEP] kept
    with pytest.raises(ValueError, match="wordpiece"):
        tokenizer_module.build_tokenizer("sentencepiece", iter(texts), 120)
