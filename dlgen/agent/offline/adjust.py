"""Per-family harmonization of defaults with the data, after the readings are applied.

Each adjuster changes only values the request did not state (it checks
``draft.explicit``) and records every change as an assumption; a contradiction
between stated values is left for Spec validation to report.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from dlgen import catalog
from dlgen.agent.offline.draft import Draft
from dlgen.catalog.families.gpt import GPT2_VOCAB_SIZE
from dlgen.catalog.families.unet import nearest_valid_input

Adjuster = Callable[[Draft], None]


def _round_up(value: int, factor: int) -> int:
    return -(-value // factor) * factor


def _image_side(draft: Draft) -> int | None:
    if draft.data["modality"] != "image":
        return None
    return int(draft.data["input_shape"][-1])


def _resize_square(draft: Draft, multiple: int, message_id: str, **values: int) -> None:
    side = _image_side(draft)
    if side is None or "dataset.input_shape" in draft.explicit:
        return
    shape = draft.data["input_shape"]
    if all(size % multiple == 0 for size in shape[1:]):
        return
    new = [_round_up(size, multiple) for size in shape[1:]]
    draft.data["input_shape"] = [shape[0], *new]
    draft.assume(
        message_id, old="x".join(map(str, shape[1:])), new="x".join(map(str, new)), **values
    )


def _vit(draft: Draft) -> None:
    patch = int(draft.model.get("patch_size", 16))
    _resize_square(draft, patch, "vit_resize", patch=patch)


def _resnet(draft: Draft) -> None:
    side = _image_side(draft)
    if side is None or side > 64 or "model.stem" in draft.explicit:
        return
    if draft.model.get("style", "imagenet") == "imagenet" and draft.model.get("stem") != "small":
        draft.model["stem"] = "small"
        draft.assume("resnet_small_stem", size=side)


def _unet(draft: Draft) -> None:
    depth = int(draft.model.get("depth", 4))
    if draft.model.get("padding", "same") != "valid":
        _resize_square(draft, 2**depth, "resize_multiple", factor=2**depth)
        return
    # Unpadded convolutions: only sizes with an integral output fit (572 -> 388 at depth 4).
    shape = draft.data["input_shape"]
    if _image_side(draft) is None or "dataset.input_shape" in draft.explicit:
        return
    new = [nearest_valid_input(size, depth, "valid") for size in shape[1:]]
    if new != list(shape[1:]):
        draft.data["input_shape"] = [shape[0], *new]
        draft.assume(
            "unet_valid_resize", old="x".join(map(str, shape[1:])), new="x".join(map(str, new))
        )


def _ddpm(draft: Draft) -> None:
    levels = len(draft.model.get("channel_mults", [1, 2, 2, 2]))
    factor = 2 ** (levels - 1)
    _resize_square(draft, factor, "resize_multiple", factor=factor)


def _fno(draft: Draft) -> None:
    if "model.modes" in draft.explicit or draft.data["modality"] != "field":
        return
    grid = draft.data["input_shape"][1:]
    padding = int(draft.model.get("padding", 9))
    limits = [
        (size + padding) // 2 + 1 if axis == len(grid) - 1 else (size + padding) // 2
        for axis, size in enumerate(grid)
    ]
    modes = int(draft.model.get("modes", 12))
    if modes > min(limits):
        draft.model["modes"] = min(limits)
        draft.assume("fno_modes", old=modes, new=min(limits), size=min(grid))


# Vocabulary of a BPE trained on the user's corpus when the request gives none.
BPE_VOCAB_SIZE = 8192
# Embedding rows of a character vocabulary when the dataset's count is word-level.
CHAR_CAPACITY = 256


def _gpt_vocab(draft: Draft) -> None:
    """Fit ``dataset.vocab_size`` to the tokenizer when the request gives none."""
    if "dataset.vocab_size" in draft.explicit:
        return
    tokenizer = draft.model.get("tokenizer", "char")
    old = draft.data.get("vocab_size")
    entry = draft.dataset.vocab_size if draft.dataset is not None else None
    if tokenizer == "gpt2":
        new = GPT2_VOCAB_SIZE
    elif tokenizer == "bpe":
        new = old if old == GPT2_VOCAB_SIZE else BPE_VOCAB_SIZE
    elif tokenizer == "char" and old == GPT2_VOCAB_SIZE:
        new = entry if entry is not None and entry <= CHAR_CAPACITY else CHAR_CAPACITY
    else:
        return
    if new != old:
        draft.data["vocab_size"] = new
        draft.assume("vocab_for_tokenizer", tokenizer=tokenizer, size=new)


def _gpt(draft: Draft) -> None:
    if draft.data["modality"] != "text":
        return
    _gpt_vocab(draft)
    block = int(draft.model.get("block_size", 256))
    if "dataset.input_shape" in draft.explicit:
        if "model.block_size" not in draft.explicit:
            draft.model["block_size"] = int(draft.data["input_shape"][0])
        return
    if draft.data["input_shape"] != [block]:
        draft.data["input_shape"] = [block]
        draft.assume("context_from_model", length=block)


def _max_len(draft: Draft) -> None:
    if draft.data["modality"] != "text" or "model.max_len" in draft.explicit:
        return
    length = int(draft.data["input_shape"][0])
    if length > int(draft.model.get("max_len", 512)):
        draft.model["max_len"] = length
        draft.assume("max_len_raised", length=length)


def _rnn(draft: Draft) -> None:
    output = draft.data.get("output_shape")
    if draft.data["modality"] == "time_series" and output and "model.horizon" not in draft.explicit:
        draft.model["horizon"] = int(output[0])


def _autoencoder(draft: Draft) -> None:
    if "model.latent_dim" in draft.explicit:
        return
    features = 1
    for size in draft.data["input_shape"]:
        features *= int(size)
    latent = int(draft.model.get("latent_dim", 32))
    if latent >= features:
        new = max(2, features // 4)
        draft.model["latent_dim"] = new
        draft.assume("latent_lowered", old=latent, new=new, features=features)


ADJUSTERS: dict[str, Adjuster] = {
    "autoencoder": _autoencoder,
    "vit": _vit,
    "resnet": _resnet,
    "unet": _unet,
    "ddpm": _ddpm,
    "fno": _fno,
    "gpt": _gpt,
    "transformer": _max_len,
    "seq2seq": _max_len,
    "rnn": _rnn,
}


def apply_task_facts(draft: Draft) -> None:
    """Set the dataset facts the request states in its task's words (e.g. "binary").

    A value the request gave as a number (``dataset.<field>`` explicit) wins. A fact whose
    field is ``model.<name>`` sets that hyperparameter when the draft's family has it (e.g.
    "BPE" -> ``model.tokenizer=bpe`` for a GPT). A fact whose value is None takes the text
    of its pattern's ``value`` group, read from the request as written (a path keeps its
    case), e.g. ``data/corpus.txt`` -> ``root``. The first fact that sets a field wins.
    """
    if draft.task is None:
        return
    for fact in catalog.task(draft.task).data_facts:
        section, _, name = fact.field.rpartition(".")
        path = f"{section or 'dataset'}.{name}"
        if fact.field == "dataset" or path in draft.explicit:
            continue
        if section == "model" and not _family_has(draft, name):
            continue
        text = draft.request if fact.value is None else draft.text
        found = re.search(fact.pattern, text, re.IGNORECASE)
        if found is None:
            continue
        value = found.group("value") if fact.value is None else fact.value
        values = draft.model if section == "model" else draft.data
        if values.get(name) == value:
            continue
        values[name] = value
        draft.explicit[path] = found.group(0)
        draft.assume("task_fact", text=found.group(0), field=name, value=value)


def _family_has(draft: Draft, name: str) -> bool:
    family = draft.family
    return family is not None and name in family.hparams_model.model_fields


def adjust(draft: Draft) -> None:
    """Apply the task's stated data facts, then the adjuster of the draft's family."""
    assert draft.family is not None
    apply_task_facts(draft)
    adjuster = ADJUSTERS.get(draft.family.key)
    if adjuster is not None:
        adjuster(draft)
