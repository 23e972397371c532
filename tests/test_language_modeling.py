"""The language-modeling task: real tokenizers, token files, top-p sampling, analyzer facts.

The task's modules come from a rendered project (a GPT with a BPE tokenizer on the user's
own corpus), imported from a temporary folder: exactly what a user gets. Nothing touches
the network: GPT-2's tokenizer is exercised through local files.
"""

from __future__ import annotations

import base64
import importlib
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
import yaml

from dlgen import catalog
from dlgen.agent.offline import analyze_offline
from dlgen.render import check_contract, render
from dlgen.spec import Spec

OWN_CORPUS_REQUEST = (
    "a 12-layer GPT on my own corpus in data/corpus.txt with a BPE tokenizer trained on it"
)
CORPUS = (
    "ROMEO:\nBut soft, what light through yonder window breaks?\n"
    "It is the east, and Juliet is the sun.\n\n"
    "JULIET:\nO Romeo, Romeo, wherefore art thou Romeo? Héllo, 世界!\n\n"
) * 40


def _spec(request: str, name: str | None = None) -> Spec:
    spec = analyze_offline(request).spec
    return spec if name is None else Spec.model_validate({**spec.model_dump(), "name": name})


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ModuleType]:
    """The rendered project's data, layer and task modules."""
    root = tmp_path_factory.mktemp("lm")
    name = f"lm_{uuid.uuid4().hex[:8]}"
    spec = _spec("a 2-layer GPT on my own corpus in data/corpus.txt with a BPE tokenizer", name)
    prefix = f"src/{name}/"
    for path, text in render(spec).items():
        if path.startswith(prefix):
            target = root / path.removeprefix("src/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    sys.path.insert(0, str(root))
    modules = ("data.tokenizers", "data.prepare", "data.datasets", "data.config")
    found = {key: importlib.import_module(f"{name}.{key}") for key in modules}
    found["sampling"] = importlib.import_module(f"{name}.layers.sampling")
    found["gpt"] = importlib.import_module(f"{name}.models.gpt")
    return found


def _data(project: dict[str, ModuleType], **values: Any) -> Any:
    fields = {"name": "custom_text", "source": "text", "vocab_size": 300, "block_size": 8}
    return project["data.config"].DataConfig(**{**fields, **values})


# Tokenizers -----------------------------------------------------------------------------


def test_char_and_word_tokenizers_round_trip(project: dict[str, ModuleType]) -> None:
    tokenizers = project["data.tokenizers"]
    char = tokenizers.fit_tokenizer("char", 256, CORPUS[:500], CORPUS)
    ids = char.encode(CORPUS)
    assert char.decode(ids) == CORPUS and char.size == len(set(CORPUS))
    assert tokenizers.decode_state(tokenizers.encode_state(char)).encode(CORPUS) == ids
    with pytest.raises(ValueError, match="not in the vocabulary"):
        char.encode("~")
    word = tokenizers.fit_tokenizer("word", 12, CORPUS, CORPUS)
    assert word.size == 12 and word.words[0] == "<unk>"
    word_ids = word.encode("Romeo, the zebra.\n")
    assert 0 in word_ids  # "zebra" is unknown
    assert word.encode(word.decode(word_ids)) == word_ids


def test_bpe_trains_deterministically_and_round_trips(project: dict[str, ModuleType]) -> None:
    tokenizers = project["data.tokenizers"]
    first = tokenizers.fit_tokenizer("bpe", 300, CORPUS, CORPUS)
    second = tokenizers.fit_tokenizer("bpe", 300, CORPUS, CORPUS)
    assert first.to_json() == second.to_json()
    assert first.size == 300  # 256 bytes + 44 merges: the corpus has enough pairs
    ids = first.encode(CORPUS)
    assert len(ids) < 0.6 * len(CORPUS.encode("utf-8"))  # 44 merges compress the text
    assert first.decode(ids) == CORPUS
    unseen = "Zebras ⊕ ünïcödé 🎉"
    assert first.decode(first.encode(unseen)) == unseen  # byte level: nothing is unknown
    packed = tokenizers.encode_state(first)
    assert "${" not in packed and packed.isascii()
    assert tokenizers.decode_state(packed).encode(CORPUS) == ids


def test_gpt2_from_a_local_tokenizer_json(
    project: dict[str, ModuleType], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tokenizer_file: a Hugging Face tokenizer.json, read locally (no download)."""
    tokenizers = project["data.tokenizers"]
    monkeypatch.setattr(tokenizers.TiktokenTokenizer, "named", _no_network)
    trained = tokenizers.fit_tokenizer("bpe", 280, CORPUS, CORPUS)
    path = tmp_path / "tokenizer.json"
    path.write_text(trained.to_json(), encoding="utf-8")
    loaded = tokenizers.fit_tokenizer("gpt2", 50257, CORPUS, CORPUS, str(path))
    assert loaded.kind == "gpt2" and loaded.encode(CORPUS) == trained.encode(CORPUS)
    data = _data(project, tokenizer="gpt2", tokenizer_file=str(path), vocab_size=280)
    assert data.tokenizer_file == str(path)  # a file lifts the 50,257-row minimum
    with pytest.raises(FileNotFoundError, match="tokenizer_file"):
        tokenizers.load_tokenizer_file(tmp_path / "absent.json", "gpt2")


def test_gpt2_from_a_local_tiktoken_file(
    project: dict[str, ModuleType], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tokenizer_file: a tiktoken BPE file (GPT-2's pattern, <|endoftext|> after the ranks)."""
    pytest.importorskip("tiktoken", reason="the gpt2 extra (tiktoken) is not installed")
    tokenizers = project["data.tokenizers"]
    monkeypatch.setattr(tokenizers.TiktokenTokenizer, "named", _no_network)
    merges = [b" R", b"om", b" Rom", b"eo", b" Romeo", b"th", b"the"]
    ranks = [bytes([value]) for value in range(256)] + merges
    lines = [f"{base64.b64encode(token).decode()} {rank}" for rank, token in enumerate(ranks)]
    path = tmp_path / "gpt2.tiktoken"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tokenizer = tokenizers.load_tokenizer_file(path, "gpt2")
    assert tokenizer.size == len(ranks) + 1  # <|endoftext|>
    ids = tokenizer.encode("O Romeo, the sun")
    assert 256 + merges.index(b" Romeo") in ids and 256 + merges.index(b"the") in ids
    assert tokenizer.decode(ids) == "O Romeo, the sun"
    restored = tokenizers.decode_state(tokenizers.encode_state(tokenizer))
    assert restored.encode(CORPUS) == tokenizer.encode(CORPUS)


def _no_network(*args: object) -> None:
    raise AssertionError("tiktoken.get_encoding (a download) must not be called")


def test_config_refuses_tokenizer_mismatches(project: dict[str, ModuleType]) -> None:
    with pytest.raises(ValueError, match="256 byte symbols"):
        _data(project, tokenizer="bpe", vocab_size=256)
    with pytest.raises(ValueError, match="50,257"):
        _data(project, tokenizer="gpt2", vocab_size=8192)
    with pytest.raises(ValueError, match="not one of"):
        _data(project, tokenizer="sentencepiece")
    with pytest.raises(ValueError, match="tokenizer_file is for"):
        _data(project, tokenizer="char", tokenizer_file="x.json")


# Token files ----------------------------------------------------------------------------


def test_prepared_token_files_match_the_in_memory_tokens(
    project: dict[str, ModuleType], tmp_path: Path
) -> None:
    prepare, datasets = project["data.prepare"], project["data.datasets"]
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(CORPUS, encoding="utf-8")
    data = _data(project, root=str(tmp_path), file="corpus.txt", tokenizer="bpe",
                 prepared_dir=str(tmp_path / "prepared"))  # fmt: skip
    assert prepare.prepare(data).origin == "memory"  # nothing prepared yet
    folder = prepare.write_prepared(data, progress=False)
    meta = prepare.read_meta(folder)
    assert meta is not None and meta["dtype"] == "uint16" and meta["tokenizer"] == "bpe"
    assert (folder / "tokenizer.json").is_file()
    in_memory = datasets.prepare_in_memory(data)
    from_files = prepare.prepare(data)
    assert from_files.origin.startswith("token files")
    for split in ("train", "val", "test"):
        count = meta["tokens"][split]
        assert (folder / f"{split}.bin").stat().st_size == 2 * count
        ours, theirs = getattr(from_files.splits, split), getattr(in_memory.splits, split)
        assert len(ours) == len(theirs) == (count - 1 - data.block_size) // data.block_size + 1
        for index in range(len(ours)):
            assert all(torch.equal(a, b) for a, b in zip(ours[index], theirs[index], strict=True))
    corpus.write_text(CORPUS + "more text\n", encoding="utf-8")
    assert prepare.prepared_folder(data) != folder  # an edited corpus is prepared anew
    assert datasets.token_dtype(65_536).name == "uint16"
    assert datasets.token_dtype(65_537).name == "uint32"


def test_a_folder_of_text_files_is_one_corpus(
    project: dict[str, ModuleType], tmp_path: Path
) -> None:
    datasets = project["data.datasets"]
    (tmp_path / "b").mkdir()
    (tmp_path / "a.txt").write_text("first file\n", encoding="utf-8")
    (tmp_path / "b" / "c.txt").write_text("second file\n", encoding="utf-8")
    (tmp_path / "notes.md").write_text("not text\n", encoding="utf-8")
    data = _data(project, root=str(tmp_path), file=None, split_fractions=(0.5, 0.25, 0.25))
    texts = datasets.load_texts(data)
    assert "".join(texts[split] for split in ("train", "val", "test")) == (
        "first file\n\n\nsecond file\n"
    )
    with pytest.raises(FileNotFoundError, match="no .txt file"):
        datasets.load_texts(_data(project, root=str(tmp_path / "b" / "none"), file=None))


# Sampling -------------------------------------------------------------------------------


def test_top_p_keeps_the_smallest_nucleus(project: dict[str, ModuleType]) -> None:
    sampling = project["sampling"]
    probs = torch.tensor([[0.1, 0.5, 0.05, 0.35], [0.25, 0.25, 0.25, 0.25]])
    kept = torch.isfinite(sampling.top_p_filter(probs.log(), 0.8))
    assert kept.tolist() == [[False, True, False, True], [True, True, True, True]]
    assert torch.isfinite(sampling.top_p_filter(probs.log(), 0.5)).sum(-1).tolist() == [1, 2]
    assert torch.equal(sampling.top_p_filter(probs.log(), 1.0), probs.log())
    generator = torch.Generator().manual_seed(0)
    draws = [sampling.sample_next_token(probs.log(), 1.0, None, generator, top_p=0.3)
             for _ in range(20)]  # fmt: skip
    assert all(int(draw[0, 0]) == 1 for draw in draws)  # the nucleus is the top token
    with pytest.raises(ValueError, match="top_p"):
        sampling.top_p_filter(probs, 1.5)


# Performance: nanoGPT's FLOPs per token, checked with torch's FLOP counter ---------------


def test_gpt_flop_estimate_matches_the_flop_counter(project: dict[str, ModuleType]) -> None:
    from torch.utils.flop_counter import FlopCounterMode

    spec = _spec("a 2-layer GPT with hidden size 64, 4 heads, context 32, BPE tokenizer")
    hparams, dataset = spec.model, spec.dataset
    model = project["gpt"].build_gpt(
        {"name": "gpt", **hparams.model_dump(exclude={"family"}), "vocab_size": 8192}
    )
    tokens = torch.zeros(1, dataset.input_shape[0], dtype=torch.long)
    with FlopCounterMode(display=False) as counter:
        model(tokens)
    estimate = hparams.estimate_flops(dataset)
    assert estimate is not None
    assert abs(counter.get_total_flops() - estimate) / estimate < 0.01


# Analyzer and rendering -----------------------------------------------------------------


def test_own_corpus_with_bpe_gives_a_user_corpus_spec() -> None:
    spec = _spec(OWN_CORPUS_REQUEST)
    assert spec.dataset.name == "custom_text" and spec.dataset.root == "data/corpus.txt"
    assert spec.model.tokenizer == "bpe" and spec.model.num_layers == 12
    assert spec.dataset.vocab_size == 8192
    assert any("8192" in sentence for sentence in spec.assumptions)
    config = yaml.safe_load(check_contract(spec)["configs/data/custom_text.yaml"])
    assert (config["root"], config["file"], config["tokenizer"]) == ("data", "corpus.txt", "bpe")
    assert config["vocab_size"] == 8192 and config["prepared_dir"] == "data/prepared"


@pytest.mark.parametrize(
    ("request_text", "tokenizer", "vocab"),
    [
        ("nanoGPT on tiny shakespeare, character level", "char", 65),
        ("GPT-2 small on tiny shakespeare, 字符级", "char", 65),
        ("a GPT on my texts in ./books/ with the GPT-2 tokenizer", "gpt2", 50_257),
        ("在我自己的语料上用字节对编码训练GPT", "bpe", 8192),
    ],
)
def test_tokenizer_words_in_a_request(request_text: str, tokenizer: str, vocab: int) -> None:
    spec = _spec(request_text)
    assert spec.model.tokenizer == tokenizer and spec.dataset.vocab_size == vocab


def test_a_folder_path_renders_a_folder_corpus() -> None:
    spec = _spec("LSTM language model on my own texts in data/books/")
    assert spec.model.family == "rnn" and spec.dataset.name == "custom_text"
    config = yaml.safe_load(check_contract(spec)["configs/data/custom_text.yaml"])
    assert (config["root"], config["file"], config["tokenizer"]) == ("data/books", None, "char")


def test_catalog_knows_the_user_corpus() -> None:
    entry = catalog.dataset("custom_text")
    assert entry.task == "language_modeling" and entry.source == "text"
