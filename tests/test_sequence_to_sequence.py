"""Sequence to sequence: the analyzer's facts for translation requests, the rendered data
configs, the toy translation, and learning on real code.

The model's faithfulness to the paper and to ``torch.nn.Transformer`` is tested in
``tests/test_seq2seq_model.py``; here the task: what a request states reaches the Spec, the
data config maps the files a user has, and a generated project learns the offline toy
translation on a CPU.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

from dlgen import analyze
from dlgen.agent.offline.analyzer import analyze_choice
from dlgen.errors import SpecError
from dlgen.render import check_contract, render
from dlgen.spec import Spec
from tests.test_generated_project import assert_ok, run_in, write_project


@pytest.mark.parametrize(
    ("request_text", "facts"),
    [
        ("用Transformer做中英翻译，编码器和解码器各4层，d_model 256",
         {"dataset": "parallel_text", "language": "zh", "layers": (4, 4), "dim": 256}),
        ("English to French translation", {"dataset": "parallel_text", "language": "en"}),
        ("Transformer for translation on multi30k", {"dataset": "multi30k", "language": "en"}),
        ("德英翻译", {"dataset": "multi30k", "language": "zh"}),
        ("Transformer-base for German-English translation",
         {"dataset": "multi30k", "language": "en", "layers": (6, 6), "dim": 512}),
        ("seq2seq transformer for WMT14 en-fr", {"dataset": "parallel_text", "language": "en"}),
        ("用seq2seq模型做文本摘要", {"dataset": "parallel_text", "language": "zh"}),
        ("translation model trained on my own parallel corpus",
         {"dataset": "parallel_text", "language": "en"}),
    ],
)  # fmt: skip
def test_translation_requests_keep_their_facts(request_text: str, facts: dict) -> None:
    spec = analyze(request_text)
    assert spec.task == "sequence_to_sequence" and spec.model.family == "seq2seq"
    assert spec.dataset.name == facts["dataset"]
    assert spec.language == facts["language"]
    if "layers" in facts:
        assert (spec.model.num_encoder_layers, spec.model.num_decoder_layers) == facts["layers"]
        assert spec.model.hidden_dim == facts["dim"]


def test_the_users_corpus_is_named_in_the_assumptions_in_their_language() -> None:
    chinese = analyze("用Transformer做中英翻译")
    assert any("自定义平行语料" in line for line in chinese.assumptions)
    english = analyze("English to French translation")
    assert any("your parallel text files" in line for line in english.assumptions)


def test_a_classification_dataset_is_refused_for_translation() -> None:
    spec = analyze_choice("seq2seq", "sequence_to_sequence", "multi30k")
    data = spec.to_dict()
    data["dataset"] = {**data["dataset"], "name": "imdb", "num_classes": 2}
    with pytest.raises((SpecError, ValueError)):
        Spec.from_dict(data)


def _data_config(request_text: str) -> dict:
    spec = analyze(request_text)
    files = check_contract(spec)
    config = yaml.safe_load(files[f"configs/data/{spec.dataset.name}.yaml"])
    assert isinstance(config, dict)
    return config


def test_data_configs_map_the_users_files() -> None:
    """Multi30k: train.de/train.en ... test_2016_flickr.*; a user's pair: data/train.src ..."""
    multi30k = _data_config("Transformer for translation on multi30k")
    assert (multi30k["src_lang"], multi30k["tgt_lang"]) == ("de", "en")
    assert multi30k["test_prefix"] == "test_2016_flickr" and multi30k["source"] == "text"
    users = _data_config("用Transformer做中英翻译，编码器和解码器各4层，d_model 256")
    assert users["root"] == "data" and (users["src_lang"], users["tgt_lang"]) == ("src", "tgt")
    assert (users["train_prefix"], users["val_prefix"], users["test_prefix"]) == (
        "train",
        "val",
        "test",
    )


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The package of a rendered Multi30k project, importable."""
    root = tmp_path_factory.mktemp("rendered")
    spec = analyze_choice("seq2seq", "sequence_to_sequence", "multi30k")
    spec = spec.model_copy(update={"name": f"rendered_s2s_{uuid.uuid4().hex[:8]}"})
    for path, text in render(spec).items():
        if path.startswith(f"src/{spec.name}/"):
            target = root / path.removeprefix("src/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    sys.path.insert(0, str(root))
    return spec.name


def test_toy_translation_follows_its_rules(package: str) -> None:
    toy = importlib.import_module(f"{package}.data.toy_translation")
    pairs = toy.toy_pairs(200, seed=1)
    assert pairs == toy.toy_pairs(200, seed=1), "the same seed gives the same pairs"
    for source, target in pairs:
        src, tgt = source.removesuffix(".").split(), target.removesuffix(".").split()
        assert len(src) == len(tgt)
        verb = next(word for word in src if word in toy.VERBS)
        assert tgt.index(verb[::-1]) > src.index(verb), "the verb moves after the object"
        for article, translated in toy.ARTICLES.items():
            assert src.count(article) == tgt.count(translated)


def test_pipeline_reads_chinese_english_files(package: str, tmp_path: Path) -> None:
    """Line-aligned zh/en files: Chinese splits into characters; BLEU uses sacreBLEU's zh."""
    config = importlib.import_module(f"{package}.data.config")
    parallel = importlib.import_module(f"{package}.data.parallel")
    chinese = ["\u6211\u7231\u4f60\u3002", "\u4ed6\u5728\u8dd1\u6b65\u3002"] * 10
    english = ["I love you.", "He is running."] * 10
    for prefix, count in (("train", 16), ("val", 4)):
        lines = chinese[:count], english[:count]
        (tmp_path / f"{prefix}.src").write_text("\n".join(lines[0]) + "\n", encoding="utf-8")
        (tmp_path / f"{prefix}.tgt").write_text("\n".join(lines[1]) + "\n", encoding="utf-8")
    data = config.DataConfig(
        name="parallel_text", source="text", vocab_size=64, max_length=12, root=str(tmp_path)
    )
    prepared = parallel.prepare(data, shared_vocabulary=True)
    src, tgt_in, tgt_out, _ = prepared.splits.train[0]
    assert int((src != 0).sum()) == 5  # four characters and the full stop, plus <eos>: 5 ids
    assert prepared.splits.test is None and len(prepared.splits.val) == 4
    assert prepared.bleu_tokenize == "13a"  # the targets are English
    reverse = parallel.prepare(
        config.DataConfig(
            name="parallel_text",
            source="text",
            vocab_size=64,
            max_length=12,
            root=str(tmp_path),
            src_lang="tgt",
            tgt_lang="src",
        ),
        shared_vocabulary=False,
    )
    assert reverse.bleu_tokenize == "zh" and reverse.source is not reverse.target


def test_own_bleu_and_chrf_equal_sacrebleu(package: str) -> None:
    """The fallback BLEU formula and the chrF implementation match sacreBLEU exactly."""
    sacrebleu = pytest.importorskip("sacrebleu")
    metrics = importlib.import_module(f"{package}.metrics.translation")
    hypotheses = ["the cat sat on a mat .", "a dog barks at night .", "hello there", "x"]
    references = ["the cat sat on the mat .", "a dog barked at the night .", "hello world", "y z"]
    stats = metrics._own_bleu_statistics(hypotheses, references)
    expected = sacrebleu.metrics.BLEU(tokenize="none").corpus_score(hypotheses, [references])
    assert stats[:2] == [expected.sys_len, expected.ref_len]
    assert stats[2:6] == expected.counts and stats[6:] == expected.totals
    assert metrics.bleu_from_statistics(stats) == pytest.approx(expected.score)
    chrf = sacrebleu.metrics.CHRF().corpus_score(hypotheses, [references]).score
    own = metrics.chrf_from_statistics(metrics.chrf_statistics(hypotheses, references))
    assert own == pytest.approx(chrf)


@pytest.mark.slow
def test_generated_transformer_learns_the_toy_translation(tmp_path: Path) -> None:
    """A small encoder-decoder reaches test BLEU >= 80 on the toy translation on a CPU."""
    spec = analyze_choice("seq2seq", "sequence_to_sequence", "multi30k")
    root = write_project(spec, tmp_path)
    overrides = [
        "data.source=synthetic",
        "data.synthetic_train_size=2000",
        "data.synthetic_eval_size=100",
        "data.max_length=16",
        "data.vocab_size=256",
        "model.hidden_dim=64",
        "model.num_heads=4",
        "model.num_encoder_layers=2",
        "model.num_decoder_layers=2",
        "model.max_len=16",
        "training.epochs=5",
        "training.batch_size=32",
        "training.lr=0.002",
        "training.warmup_epochs=0",
        "training.num_workers=0",
        "training.progress_bar=false",
        "training.tensorboard=false",
        f"output_dir={tmp_path / 'outputs'}",
    ]
    started = time.perf_counter()
    result = run_in(root, [sys.executable, "train.py", *overrides], timeout=1200)
    elapsed = time.perf_counter() - started
    assert_ok(result)
    (metrics_file,) = (tmp_path / "outputs").glob("*/metrics.json")
    metrics = json.loads(metrics_file.read_text())
    print(f"seq2seq toy translation: test BLEU {metrics['test']['bleu']:.1f} in {elapsed:.0f} s")
    assert metrics["test"]["bleu"] >= 80.0, metrics["test"]
    checkpoint = next((tmp_path / "outputs").glob("*/checkpoints/best.pt"))
    sentence = "the old king finds 3 silver letters by the river."
    for extra in ([], ["--top-k", "4"]):
        translated = run_in(
            root, [sys.executable, "inference.py", str(checkpoint), sentence, *extra]
        )
        assert_ok(translated)
        assert "el gnik dlo eerht srettel revlis sdnif" in translated.stdout, translated.stdout
