"""Fine-tuning: load pretrained weights into a freshly built model (``model.pretrained``).

A source is one of:

- a checkpoint of this project (``train.py`` writes them; its ``model`` weights are used);
- a state-dict file: ``.pth``, ``.pt`` or ``.bin`` (``torch.save``), or ``.safetensors``
  (needs the ``safetensors`` package). The model files use timm's and torchvision's module
  names, so timm ``vit_*``/``deit_*`` and torchvision (or timm) ``resnet*`` state dicts of the
  same configuration load as they are;
- a hub name, ``timm:<model>`` or ``torchvision:<model>``: downloaded through timm's or
  torchvision's own API (needs the network and ``pip install -e '.[pretrained]'``).

The file may have another class count or image size than the project. A model declares its
classifier in ``pretrained_head`` (module names): a classifier tensor whose shape differs is
dropped and keeps its fresh initialisation. A model with ``adapt_pretrained`` fits the rest
itself (the ViT resamples its position embedding to the new patch grid). Any other missing,
unexpected or differently shaped tensor is an error that names the keys.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

STATE_DICT_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors")
HUB_PREFIXES = ("timm:", "torchvision:")
# Prefixes that wrappers add to every key: DDP / DataParallel and torch.compile.
WRAPPER_PREFIXES = ("module.", "_orig_mod.")
EXTRA_HINT = "pip install -e '.[pretrained]'"
_SHOWN_KEYS = 8


class PretrainedError(ValueError):
    """Pretrained weights do not fit the model; the message names the keys and a remedy."""


@runtime_checkable
class HasPretrainedHead(Protocol):
    """A model that names its classifier, the part a new class count re-initialises."""

    pretrained_head: tuple[str, ...]


@runtime_checkable
class AdaptsPretrained(Protocol):
    """A model that fits a pretrained state dict to its own shapes before loading."""

    def adapt_pretrained(self, state_dict: dict[str, Tensor]) -> list[str]:
        """Adapt the state dict in place (e.g. resample a position embedding).

        Args:
            state_dict: The pretrained tensors by parameter name, each of the file's shape.

        Returns:
            One short note per change, for the load report.
        """
        ...


@dataclass
class PretrainedReport:
    """What :func:`load_pretrained` did.

    Attributes:
        source: The ``model.pretrained`` value.
        kind: ``checkpoint`` (of this project), ``state dict`` or ``hub``.
        loaded: Number of tensors copied into the model.
        total: Number of tensors of the model's state dict.
        dropped: Classifier keys of the file whose shape differs (re-initialised).
        head_missing: Classifier keys the file lacks (kept at their initialisation).
        head_unexpected: Classifier keys of the file the model lacks (ignored).
        notes: The model's own adaptations (e.g. a resampled position embedding).
    """

    source: str
    kind: str
    loaded: int
    total: int
    dropped: list[str] = field(default_factory=list)
    head_missing: list[str] = field(default_factory=list)
    head_unexpected: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """The report as one line.

        Returns:
            E.g. ``pretrained: loaded 150/152 tensors from vit.pth (state dict); head reset
            (class count differs), dropped head.weight, head.bias; pos_embed resampled ...``.
        """
        parts = [
            f"pretrained: loaded {self.loaded}/{self.total} tensors from {self.source} "
            f"({self.kind})"
        ]
        if self.dropped:
            parts.append(f"head reset (class count differs), dropped {', '.join(self.dropped)}")
        if self.head_missing:
            parts.append(
                f"head initialised fresh (not in the file): {', '.join(self.head_missing)}"
            )
        if self.head_unexpected:
            parts.append(f"ignored head keys {', '.join(self.head_unexpected)}")
        parts += self.notes
        return "; ".join(parts)


def load_pretrained(model: nn.Module, source: str) -> PretrainedReport:
    """Load pretrained weights into a model, re-initialising a classifier of another size.

    Args:
        model: The freshly built model (on the CPU).
        source: A checkpoint of this project, a state-dict file, or ``timm:<name>`` /
            ``torchvision:<name>``.

    Returns:
        What was loaded, dropped and adapted; :meth:`PretrainedReport.summary` is one line.

    Raises:
        FileNotFoundError: If the file does not exist.
        PretrainedError: If the file cannot be read, or tensors beyond the classifier are
            missing, unexpected or of another shape.
    """
    state_dict, kind = read_state_dict(source)
    return load_state_dict_into(model, state_dict, source, kind)


def load_state_dict_into(
    model: nn.Module,
    state_dict: Mapping[str, Tensor],
    source: str = "a state dict",
    kind: str = "state dict",
) -> PretrainedReport:
    """Load a state dict of the same family into a model, as :func:`load_pretrained` does.

    The model adapts what it can (:class:`AdaptsPretrained`), classifier tensors of another
    shape are dropped, and everything else must match exactly.

    Args:
        model: The freshly built model.
        state_dict: Tensors by name, each of the source model's shape (not modified).
        source: Where the tensors come from, for the messages.
        kind: ``checkpoint``, ``state dict`` or ``hub``, for the report.

    Returns:
        What was loaded, dropped and adapted.

    Raises:
        PretrainedError: If tensors beyond the classifier are missing, unexpected or of
            another shape.
    """
    tensors = dict(state_dict)
    notes = model.adapt_pretrained(tensors) if isinstance(model, AdaptsPretrained) else []
    head = model.pretrained_head if isinstance(model, HasPretrainedHead) else ()
    target = model.state_dict()
    dropped: list[str] = []
    mismatched: list[str] = []
    for key, value in list(tensors.items()):
        if key not in target or tuple(value.shape) == tuple(target[key].shape):
            continue
        if _in_head(key, head):
            dropped.append(key)
            del tensors[key]
        else:
            mismatched.append(f"{key} {_shape(value)} (model: {_shape(target[key])})")
    order = {key: index for index, key in enumerate(target)}
    dropped.sort(key=order.__getitem__)  # the model's order, whatever the file's
    missing = [key for key in target if key not in tensors and key not in dropped]
    unexpected = [key for key in tensors if key not in target]
    head_missing = [key for key in missing if _in_head(key, head)]
    head_unexpected = [key for key in unexpected if _in_head(key, head)]
    problems = [
        f"{label}: {_listing(keys)}"
        for label, keys in (
            ("missing from the file", [k for k in missing if k not in head_missing]),
            ("not in the model", [k for k in unexpected if k not in head_unexpected]),
            ("of another shape", mismatched),
        )
        if keys
    ]
    if problems:
        raise PretrainedError(
            f"model.pretrained={source}: the weights do not fit this model beyond its "
            f"classifier {list(head)}: {'; '.join(problems)}. Set the model config to the "
            "pretrained architecture (patch size, width, depth, heads, tokens), or use a "
            "checkpoint of the same family"
        )
    for key in head_unexpected:
        del tensors[key]
    model.load_state_dict(tensors, strict=False)
    return PretrainedReport(
        source=source,
        kind=kind,
        loaded=len(tensors),
        total=len(target),
        dropped=dropped,
        head_missing=head_missing,
        head_unexpected=head_unexpected,
        notes=notes,
    )


def read_state_dict(source: str) -> tuple[dict[str, Tensor], str]:
    """Read the tensors of a pretrained source, unwrapped to one flat state dict.

    Args:
        source: A checkpoint of this project, a state-dict file, or a hub name.

    Returns:
        ``(state_dict, kind)`` with kind ``checkpoint``, ``state dict`` or ``hub``.

    Raises:
        FileNotFoundError: If the file does not exist.
        PretrainedError: If the file cannot be read or holds no state dict, or the hub
            package is missing.
    """
    if source.startswith(HUB_PREFIXES):
        return _hub_state_dict(source), "hub"
    path = Path(source).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"model.pretrained={source}: no such file; give a checkpoint of this project, a "
            f"state-dict file ({', '.join(STATE_DICT_SUFFIXES)}) or timm:<name> / "
            "torchvision:<name>"
        )
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError as exc:
            raise PretrainedError(
                f"model.pretrained={source}: reading .safetensors needs safetensors: "
                f"{EXTRA_HINT}"
            ) from exc
        return _flat_tensors(load_file(str(path), device="cpu"), source), "state dict"
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and weights_only errors have no common type
        raise PretrainedError(
            f"model.pretrained={source}: cannot be read with torch.load(weights_only=True): "
            f"{exc}"
        ) from exc
    return _unwrap(content, source)


def resample_abs_pos_embed(
    pos_embed: Tensor,
    new_size: Sequence[int],
    num_prefix_tokens: int,
    old_size: Sequence[int] | None = None,
) -> Tensor:
    """Resample a learned position embedding to another patch grid (as timm does).

    The patch part is interpolated bicubically (antialiased) over its 2-D grid; the prefix
    tokens (class, distillation) are kept unchanged.

    Args:
        pos_embed: Embedding of shape ``(1, prefix + H_old * W_old, D)``.
        new_size: The new grid ``(H_new, W_new)``.
        num_prefix_tokens: Tokens before the patch tokens.
        old_size: The old grid; a square one by default.

    Returns:
        Embedding of shape ``(1, prefix + H_new * W_new, D)``, in the input's dtype.

    Raises:
        PretrainedError: If the patch tokens do not form the (square) old grid.
    """
    prefix, patches = pos_embed[:, :num_prefix_tokens], pos_embed[:, num_prefix_tokens:]
    if old_size is None:
        side = math.isqrt(patches.shape[1])
        old_size = (side, side)
    old_h, old_w = int(old_size[0]), int(old_size[1])
    if old_h * old_w != patches.shape[1]:
        raise PretrainedError(
            f"pos_embed has {pos_embed.shape[1]} tokens, not {num_prefix_tokens} prefix tokens "
            f"plus a square patch grid (timm models with no_embed_class are not supported)"
        )
    new_h, new_w = int(new_size[0]), int(new_size[1])
    if (old_h, old_w) == (new_h, new_w):
        return pos_embed
    dim = patches.shape[-1]
    grid = patches.float().reshape(1, old_h, old_w, dim).permute(0, 3, 1, 2)  # (1, D, H, W)
    grid = F.interpolate(grid, size=(new_h, new_w), mode="bicubic", antialias=True)
    patches = grid.permute(0, 2, 3, 1).reshape(1, new_h * new_w, dim).to(pos_embed.dtype)
    return torch.cat([prefix, patches], dim=1)  # (1, prefix + H_new * W_new, D)


def _hub_state_dict(source: str) -> dict[str, Tensor]:
    """Download a model through timm or torchvision and return its state dict."""
    hub, name = source.split(":", 1)
    try:
        if hub == "timm":
            import timm

            model = timm.create_model(name, pretrained=True)
        else:
            import torchvision

            model = torchvision.models.get_model(name, weights="DEFAULT")
    except ImportError as exc:
        raise PretrainedError(f"model.pretrained={source} needs {hub}: {EXTRA_HINT}") from exc
    except Exception as exc:  # unknown names, network errors: the hub's own exceptions
        raise PretrainedError(
            f"model.pretrained={source}: {hub} could not provide it (the name must be one of "
            f"{hub}'s pretrained models, and the download needs the network): {exc}"
        ) from exc
    return _flat_tensors(model.state_dict(), source)


def _unwrap(content: object, source: str) -> tuple[dict[str, Tensor], str]:
    """Find the state dict inside a loaded file: a checkpoint, a wrapper or the dict itself."""
    if isinstance(content, Mapping) and isinstance(content.get("model"), Mapping):
        kind = "checkpoint" if "config" in content else "state dict"
        return _flat_tensors(content["model"], source), kind
    if isinstance(content, Mapping) and isinstance(content.get("state_dict"), Mapping):
        return _flat_tensors(content["state_dict"], source), "state dict"
    return _flat_tensors(content, source), "state dict"


def _flat_tensors(content: object, source: str) -> dict[str, Tensor]:
    """Check that a mapping holds only tensors and strip wrapper prefixes from its keys."""
    if not isinstance(content, Mapping) or not content:
        raise PretrainedError(f"model.pretrained={source}: the file holds no state dict")
    state = {str(key): value for key, value in content.items()}
    others = [key for key, value in state.items() if not isinstance(value, Tensor)]
    if others:
        raise PretrainedError(
            f"model.pretrained={source}: not a state dict, {_listing(others)} are not tensors"
        )
    for prefix in WRAPPER_PREFIXES:
        if all(key.startswith(prefix) for key in state):
            state = {key.removeprefix(prefix): value for key, value in state.items()}
    return state


def _in_head(key: str, head: Sequence[str]) -> bool:
    return any(key == name or key.startswith(f"{name}.") for name in head)


def _shape(tensor: Tensor) -> str:
    return "x".join(str(size) for size in tensor.shape) or "scalar"


def _listing(keys: Sequence[str]) -> str:
    shown = ", ".join(keys[:_SHOWN_KEYS])
    more = len(keys) - _SHOWN_KEYS
    return f"{shown} and {more} more" if more > 0 else shown
