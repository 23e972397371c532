"""What ``inference.py`` and the tasks' ``predictions`` share: inputs, predictions, output files.

Every task turns its inputs into :class:`Prediction` objects (a human-readable text and
flat records for ``--output``); a bad input raises :class:`InputError`, which
``inference.py`` reports as one line on stderr with exit status 2.
"""

from __future__ import annotations

import csv
import glob
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

Scalar = str | int | float | None
"""A value of an output record: one CSV cell or one JSON scalar."""

GLOB_CHARACTERS = ("*", "?", "[")
OUTPUT_SUFFIXES = (".csv", ".json")


class InputError(ValueError):
    """A bad inference input (missing, empty, unreadable, wrongly shaped): a one-line message."""


@dataclass
class Prediction:
    """The prediction for one input.

    Attributes:
        name: The input's name (its path, or a shortened text).
        text: What to print; may span several lines.
        records: Flat rows for ``--output`` (one per input, or one per forecast step).
    """

    name: str
    text: str
    records: list[dict[str, Scalar]] = field(default_factory=list)


def is_glob(item: str) -> bool:
    """Whether an argument is a glob pattern.

    Args:
        item: A command-line argument.

    Returns:
        True if it contains ``*``, ``?`` or ``[``.
    """
    return any(character in item for character in GLOB_CHARACTERS)


def _matches(path: Path, suffixes: Sequence[str], exclude: Sequence[str]) -> bool:
    name = path.name.lower()
    return name.endswith(tuple(suffixes)) and not name.endswith(tuple(exclude))


def expand_paths(
    items: Sequence[str], suffixes: Sequence[str], kind: str, exclude: Sequence[str] = ()
) -> list[Path]:
    """Turn files, folders and glob patterns into the list of input files.

    A folder stands for every file of the input kind under it (recursively, sorted); a
    glob for its sorted matches (``**`` allowed); a file for itself.

    Args:
        items: Command-line arguments, in order.
        suffixes: Lower-case file name endings of the input kind, e.g. ``(".png", ".jpg")``.
        kind: The input kind in words, e.g. ``image``, for the messages.
        exclude: Endings never taken from folders or globs (files this program writes).

    Returns:
        The input files, in argument order.

    Raises:
        InputError: If a path does not exist, or a folder or pattern gives no file of the kind.
    """
    wanted = ", ".join(suffixes)
    files: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_file():
            if not _matches(path, suffixes, ()):
                raise InputError(f"{item}: not a {kind} file (expected {wanted})")
            files.append(path)
        elif path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and _matches(p, suffixes, exclude)
            )
            if not found:
                raise InputError(f"{item}: the folder holds no {kind} file ({wanted})")
            files.extend(found)
        elif is_glob(item):
            matches = [Path(match) for match in sorted(glob.glob(item, recursive=True))]
            found = [p for p in matches if p.is_file() and _matches(p, suffixes, exclude)]
            if not found:
                raise InputError(f"{item}: the pattern matches no {kind} file ({wanted})")
            files.extend(found)
        else:
            raise InputError(f"{item}: no such file or folder")
    return files


def one_line(error: BaseException) -> str:
    """An exception's message on one line.

    Args:
        error: Any exception.

    Returns:
        Its message with line breaks and runs of spaces collapsed (its type if empty).
    """
    text = " ".join(str(error).split())
    return text or type(error).__name__


def top_class_predictions(
    names: Sequence[str],
    logits: torch.Tensor,
    top_k: int,
    class_names: Sequence[str] | None = None,
) -> list[Prediction]:
    """The most probable classes of each sample, with probabilities.

    Args:
        names: One name per sample.
        logits: ``(N, C)`` logits.
        top_k: Classes to list per sample (at most C).
        class_names: The C class names; their indices when None.

    Returns:
        One prediction per sample; its text reads ``cat.png: cat 0.912, dog 0.051`` and
        its record holds ``input`` and ``top<r>_class``/``top<r>_index``/``top<r>_probability``.

    Raises:
        ValueError: If ``names`` and ``logits`` differ in length or ``top_k < 1``.
    """
    if len(names) != logits.shape[0]:
        raise ValueError(f"{len(names)} names for {logits.shape[0]} predictions")
    if top_k < 1:
        raise ValueError(f"top_k={top_k} must be >= 1")
    probabilities = logits.float().softmax(dim=-1)  # (N, C)
    top = probabilities.topk(min(top_k, probabilities.shape[-1]), dim=-1)
    predictions = []
    for name, values, indices in zip(names, top.values, top.indices, strict=True):
        record: dict[str, Scalar] = {"input": name}
        ranked = []
        for rank, (value, index) in enumerate(zip(values, indices, strict=True), start=1):
            label = class_names[int(index)] if class_names is not None else str(int(index))
            record[f"top{rank}_class"] = label
            record[f"top{rank}_index"] = int(index)
            record[f"top{rank}_probability"] = round(float(value), 6)
            ranked.append(f"{label} {float(value):.3f}")
        predictions.append(Prediction(name, f"{name}: {', '.join(ranked)}", [record]))
    return predictions


def short_name(text: str, width: int = 40) -> str:
    """A text shortened for display.

    Args:
        text: Any text.
        width: Longest result.

    Returns:
        The text on one line, cut with ``...`` when longer than ``width``.
    """
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def check_output_path(path: Path) -> None:
    """Check that predictions can be written to ``path`` before any work is done.

    Args:
        path: The ``--output`` file.

    Raises:
        InputError: If its suffix is not ``.csv`` or ``.json`` or its folder does not exist.
    """
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise InputError(f"--output {path}: the file name must end in .csv or .json")
    if not path.parent.is_dir():
        raise InputError(f"--output {path}: the folder {path.parent} does not exist")


def _json_value(value: Scalar) -> Scalar:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def write_predictions(path: Path, predictions: Sequence[Prediction]) -> int:
    """Write the predictions' records to a CSV or JSON file.

    CSV: one row per record, the columns in first-seen order. JSON: a list of records.

    Args:
        path: A ``.csv`` or ``.json`` file.
        predictions: The predictions to write.

    Returns:
        The number of records written.

    Raises:
        InputError: If the suffix is neither ``.csv`` nor ``.json``.
    """
    check_output_path(path)
    records = [record for prediction in predictions for record in prediction.records]
    if path.suffix.lower() == ".json":
        rows = [{key: _json_value(value) for key, value in record.items()} for record in records]
        path.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return len(records)
    columns = list(dict.fromkeys(key for record in records for key in record))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(records)
    return len(records)
