"""Tokenize a corpus once into memory-mapped token files (nanoGPT's ``prepare.py`` idea).

``python prepare_data.py`` writes, under ``data.prepared_dir``, one folder per corpus and
tokenizer setting (its name ends with a hash of them, so the debug preset and the real
config never share one)::

    <prepared_dir>/<name>-<tokenizer>-<vocab_size>-<hash>/
        train.bin  val.bin  test.bin   token ids, uint16 when vocab_size <= 65,536 else uint32
        meta.json                      tokenizer, sizes, dtype, token counts, the settings
        tokenizer.json                 the Hugging Face tokenizer (bpe, gpt2 from a json file)

Training then reads the ``.bin`` files through ``np.memmap``: the corpus is neither read
nor tokenized again, and the tokens never have to fit in memory. The folder's hash covers
the text files' sizes and modification times, so an edited corpus is prepared anew.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from .config import DataConfig
from .datasets import (
    SPLITS,
    Prepared,
    TokenFile,
    build_tokenizer,
    check_capacity,
    chunk_splits,
    corpus_files,
    encode_pieces,
    load_texts,
    prepare_in_memory,
    token_dtype,
)
from .tokenizers import HFTokenizer, decode_state, encode_state

PREPARED_FORMAT = 1
META = "meta.json"
# Data keys that change the tokens (block_size and train_stride only change the chunking).
_TOKEN_KEYS = (
    "source",
    "root",
    "file",
    "split_files",
    "split_fractions",
    "synthetic_characters",
    "split_seed",
    "tokenizer",
    "tokenizer_file",
    "vocab_size",
)


def settings(data: DataConfig) -> dict[str, Any]:
    """What the tokens of a corpus depend on: the token keys and the text files' stats.

    Args:
        data: The data config.

    Returns:
        A JSON-able mapping.

    Raises:
        FileNotFoundError: If a corpus file is missing.
    """
    values = asdict(data)
    found: dict[str, Any] = {key: values[key] for key in _TOKEN_KEYS}
    files = corpus_files(data)
    if data.tokenizer_file is not None and Path(data.tokenizer_file).is_file():
        files.append(Path(data.tokenizer_file))
    found["files"] = [
        [str(path), path.stat().st_size, path.stat().st_mtime_ns] for path in files
    ]
    return found


def prepared_folder(data: DataConfig) -> Path | None:
    """The folder ``prepare_data.py`` writes this config's tokens to.

    Args:
        data: The data config.

    Returns:
        ``<prepared_dir>/<name>-<tokenizer>-<vocab_size>-<hash>``, or None when
        ``data.prepared_dir`` is null.

    Raises:
        FileNotFoundError: If a corpus file is missing.
    """
    if data.prepared_dir is None:
        return None
    text = json.dumps(settings(data), sort_keys=True)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    return Path(data.prepared_dir) / f"{data.name}-{data.tokenizer}-{data.vocab_size}-{digest}"


def write_prepared(data: DataConfig, progress: bool = True) -> Path:
    """Tokenize every split into ``.bin`` files, with a progress bar.

    Args:
        data: The data config; ``data.prepared_dir`` must be set.
        progress: Show a tqdm bar per split (characters encoded).

    Returns:
        The prepared folder.

    Raises:
        ValueError: If ``data.prepared_dir`` is null.
    """
    folder = prepared_folder(data)
    if folder is None:
        raise ValueError("data.prepared_dir is null; set it to the folder for the token files")
    texts = load_texts(data)
    tokenizer = build_tokenizer(data, texts)
    dtype = token_dtype(max(tokenizer.size, data.vocab_size))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / META).unlink(missing_ok=True)  # the folder is complete only once meta.json is
    counts: dict[str, int] = {}
    for split in SPLITS:
        temporary = folder / f"{split}.bin.tmp"
        count = 0
        with temporary.open("wb") as out, tqdm(
            total=len(texts[split]), unit="char", unit_scale=True, disable=not progress,
            desc=f"{split} ({tokenizer.kind})",
        ) as bar:  # fmt: skip
            for ids, characters in encode_pieces(tokenizer, texts[split]):
                out.write(ids.astype(dtype).tobytes())
                count += len(ids)
                bar.update(characters)
        temporary.replace(folder / f"{split}.bin")
        counts[split] = count
    if isinstance(tokenizer, HFTokenizer):
        (folder / "tokenizer.json").write_text(tokenizer.to_json(), encoding="utf-8")
    meta = {
        "format": PREPARED_FORMAT,
        "tokenizer": tokenizer.kind,
        "tokenizer_size": tokenizer.size,
        "vocab_size": data.vocab_size,
        "dtype": dtype.name,
        "tokens": counts,
        "settings": settings(data),
        "tokenizer_state": encode_state(tokenizer),
    }
    (folder / META).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return folder


def read_meta(folder: Path) -> dict[str, Any] | None:
    """The ``meta.json`` of a complete prepared folder.

    Args:
        folder: The folder.

    Returns:
        The mapping, or None when the folder is missing, incomplete or of another format.
    """
    path = folder / META
    if not path.is_file():
        return None
    meta = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(meta, dict) or meta.get("format") != PREPARED_FORMAT:
        return None
    if not all((folder / f"{split}.bin").is_file() for split in SPLITS):
        return None
    return meta


def prepare(data: DataConfig) -> Prepared:
    """The datasets of a config: the prepared token files when they exist, else in memory.

    The prepared files are used when their folder (named by the corpus and tokenizer
    settings) is complete and, if the config already carries a tokenizer (a checkpoint's
    config), that tokenizer made them.

    Args:
        data: The data config.

    Returns:
        The datasets and the tokenizer.
    """
    folder = prepared_folder(data) if data.prepared_dir is not None else None
    meta = read_meta(folder) if folder is not None else None
    stored = data.tokenizer_state
    if folder is None or meta is None or stored not in (None, meta["tokenizer_state"]):
        return prepare_in_memory(data)
    tokenizer = decode_state(str(meta["tokenizer_state"]))
    check_capacity(tokenizer, data)
    dtype = np.dtype(str(meta["dtype"]))
    tokens: dict[str, np.ndarray | TokenFile] = {
        split: TokenFile(folder / f"{split}.bin", dtype) for split in SPLITS
    }
    return Prepared(chunk_splits(tokens, data), tokenizer, f"token files in {folder}")
