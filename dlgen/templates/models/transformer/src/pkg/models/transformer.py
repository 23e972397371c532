"""Transformer encoders (Vaswani et al., 2017): a BERT classifier and time-series forecasters.

One encoder stack (:class:`TransformerEncoder`) serves two kinds of model, chosen by the
``kind`` config value the task sets:

- ``classifier``: BERT (Devlin et al., 2019) as Hugging Face's ``BertForSequenceClassification``
  computes it, ``(B, L)`` token ids to ``(B, num_classes)`` logits. Token, learned position
  and token-type embeddings, a LayerNorm (eps 1e-12) and dropout; post-norm layers of
  self-attention and an exact-GELU MLP; a pooler (dense + tanh on the first token), dropout
  and a linear classifier. Padded positions (``lengths``, or the padding id) are masked out
  of every attention and of the mean pooling. :func:`from_hf_bert_state_dict` loads a
  Hugging Face BERT state dict; ``model.pretrained`` takes one directly.
- ``forecaster``: a window ``(B, L, F)`` to the next ``horizon`` steps ``(B, H, F)``. Without
  ``patch_len`` every time step is a token (a linear embedding of its ``F`` values plus a
  learned position) and a linear head maps the flattened encoding to ``H * F`` values. With
  ``patch_len`` it is PatchTST (Nie et al., 2023): each variable is a separate univariate
  series (channel independence, one set of weights), cut into overlapping patches of
  ``patch_len`` steps every ``stride`` steps that are the tokens, and a flatten head maps
  each variable's encoding to its ``H`` future values. ``revin`` normalises every window by
  its own statistics and restores them on the forecast (RevIN, Kim et al., 2022).

Every kind costs ``O(num_layers * (N^2 * D + N * D^2 * mlp_ratio))`` per sequence of ``N``
tokens (``N = L`` steps, or ``(L - patch_len) // stride + 2`` patches per variable).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from ..layers.post_norm_block import NORMS, PostNormBlock
from ..layers.revin import RevIN
from ..layers.sequence_pooling import length_mask
from ..layers.transformer_block import TransformerBlock
from .registry import register_model

KINDS = ("classifier", "forecaster")
POOLINGS = ("cls", "mean")
# BERT's initialiser range (``initializer_range`` of Hugging Face's ``BertConfig``).
INIT_STD = 0.02
# PatchTST's learned positions start uniform in [-0.02, 0.02].
POSITION_INIT_RANGE = 0.02


def _is_exporting() -> bool:
    """Whether ``torch.export`` is tracing (``torch.compiler.is_exporting``, torch >= 2.5)."""
    is_exporting = getattr(torch.compiler, "is_exporting", None)
    return bool(is_exporting()) if is_exporting is not None else False


@dataclass
class TransformerConfig:
    """Hyperparameters of a Transformer encoder model (field names as in the project config).

    Attributes:
        kind: ``"classifier"`` (token ids to class logits) or ``"forecaster"`` (a window of
            ``F`` variables to the next ``horizon`` steps); set by the task.
        vocab_size: Token ids ``V`` (classifier).
        num_classes: Classes of the classifier.
        padding_idx: Token id of the padding symbol: its embedding stays zero and, when no
            ``lengths`` are given, its positions are masked out; null if nothing is padded.
        input_dim: Variables per time step ``F`` (forecaster).
        input_length: Steps per input window ``L`` (forecaster; the flatten head fixes it).
        horizon: Future steps the forecaster predicts ``H``.
        hidden_dim: Token dimension ``D`` (BERT's ``hidden_size``).
        num_layers: Encoder layers.
        num_heads: Attention heads; must divide ``hidden_dim``.
        mlp_ratio: MLP hidden size relative to ``hidden_dim`` (BERT: 4, ``intermediate_size``).
        dropout: Dropout on the embeddings, the attention weights, each layer's branch
            outputs and before the classifier.
        activation: MLP activation (BERT: ``gelu``, the exact erf form).
        max_len: Rows of the classifier's position table: the longest sequence it takes.
        type_vocab_size: Rows of the token-type (segment) table (BERT: 2; 0: none). Every
            token is of type 0 unless ``token_type_ids`` are passed.
        pool: Classifier summary of the sequence: ``"cls"`` (the first token, BERT's
            [CLS] position) or ``"mean"`` (average of the real tokens).
        pooler: Apply BERT's pooler (dense + tanh) to that summary before the classifier.
        norm_first: Pre-norm layers (``x + f(LN(x))``, plus a final LayerNorm) instead of
            BERT's post-norm ones (``LN(x + f(x))``).
        layer_norm_eps: Epsilon of the LayerNorms (BERT: 1e-12).
        norm: ``"layer"`` or ``"batch"`` (batch norm over the tokens, PatchTST; forecaster
            and post-norm only).
        patch_len: Forecaster: steps per patch token (PatchTST: 16); null: one token per
            time step, all variables together.
        stride: Steps between the starts of consecutive patches (PatchTST: 8).
        revin: Forecaster: reversible instance normalisation of every window.
        variant: Name of the catalog variant the values come from, for reference only.
    """

    kind: str = "classifier"
    vocab_size: int | None = None
    num_classes: int | None = None
    padding_idx: int | None = 0
    input_dim: int | None = None
    input_length: int | None = None
    horizon: int | None = None
    hidden_dim: int = 256
    num_layers: int = 4
    num_heads: int = 4
    mlp_ratio: float = 4.0
    dropout: float = 0.1
    activation: str = "gelu"
    max_len: int = 512
    type_vocab_size: int = 2
    pool: str = "cls"
    pooler: bool = True
    norm_first: bool = False
    layer_norm_eps: float = 1e-12
    norm: str = "layer"
    patch_len: int | None = None
    stride: int = 8
    revin: bool = False
    variant: str | None = None

    def __post_init__(self) -> None:
        """Check the values against each other.

        Raises:
            ValueError: Listing every inconsistent value and what would be accepted.
        """
        problems = _choice_problems(self) + _size_problems(self) + _kind_problems(self)
        if problems:
            raise ValueError("invalid Transformer config: " + "; ".join(problems))

    @property
    def num_patches(self) -> int:
        """Tokens per variable of the PatchTST forecaster.

        The window is padded at its end with ``stride`` copies of its last step (PatchTST's
        ``padding_patch="end"``), so ``(L + stride - patch_len) // stride + 1`` patches.
        """
        length, patch = int(self.input_length or 0), int(self.patch_len or 0)
        return (length - patch) // self.stride + 2


def _choice_problems(config: TransformerConfig) -> list[str]:
    choices: dict[str, tuple[str, tuple[str, ...]]] = {
        "kind": (config.kind, KINDS),
        "pool": (config.pool, POOLINGS),
        "norm": (config.norm, NORMS),
    }
    return [
        f"{name} must be one of {allowed}, got {value!r}"
        for name, (value, allowed) in choices.items()
        if value not in allowed
    ]


def _size_problems(config: TransformerConfig) -> list[str]:
    names = ("hidden_dim", "num_layers", "num_heads", "max_len", "stride")
    problems = [
        f"{name} must be a positive integer, got {getattr(config, name)}"
        for name in names
        if getattr(config, name) < 1
    ]
    if config.hidden_dim % max(config.num_heads, 1):
        problems.append(f"num_heads={config.num_heads} must divide hidden_dim={config.hidden_dim}")
    if not 0.0 <= config.dropout < 1.0:
        problems.append(f"dropout must be in [0, 1), got {config.dropout}")
    if config.mlp_ratio <= 0:
        problems.append(f"mlp_ratio must be > 0, got {config.mlp_ratio}")
    if config.layer_norm_eps <= 0:
        problems.append(f"layer_norm_eps must be > 0, got {config.layer_norm_eps}")
    if config.type_vocab_size < 0:
        problems.append(f"type_vocab_size must be >= 0, got {config.type_vocab_size}")
    if config.norm == "batch" and config.norm_first:
        problems.append("norm='batch' is for post-norm layers: set norm_first=false or norm='layer'")
    return problems


def _kind_problems(config: TransformerConfig) -> list[str]:
    if config.kind == "classifier":
        return _classifier_problems(config)
    return _forecaster_problems(config)


def _classifier_problems(config: TransformerConfig) -> list[str]:
    problems = []
    vocab = config.vocab_size or 0
    if vocab < 1:
        problems.append(f"kind='classifier' needs vocab_size >= 1, got {config.vocab_size}")
    if config.num_classes is None or config.num_classes < 1:
        problems.append(f"kind='classifier' needs num_classes >= 1, got {config.num_classes}")
    if config.padding_idx is not None and not 0 <= config.padding_idx < max(vocab, 1):
        problems.append(f"padding_idx must be in [0, {vocab}) or null, got {config.padding_idx}")
    if config.norm != "layer":
        problems.append(
            "the classifier masks padded tokens, which batch norm would mix in: set norm='layer'"
        )
    if config.patch_len is not None or config.revin:
        problems.append(
            "patch_len and revin apply to kind='forecaster' only; set them to null and false"
        )
    return problems


def _forecaster_problems(config: TransformerConfig) -> list[str]:
    problems = [
        f"kind='forecaster' needs {name} >= 1, got {getattr(config, name)}"
        for name in ("input_dim", "input_length", "horizon")
        if getattr(config, name) is None or getattr(config, name) < 1
    ]
    length = config.input_length or 0
    if config.patch_len is not None:
        if not 1 <= config.patch_len <= length:
            problems.append(
                f"patch_len must be in [1, input_length={length}], got {config.patch_len}; "
                "shorten the patches or lengthen the window"
            )
        if config.stride > config.patch_len:
            problems.append(
                f"stride={config.stride} exceeds patch_len={config.patch_len}, so steps "
                "between patches are never seen; use stride <= patch_len"
            )
    return problems


class TransformerEncoder(nn.Module):
    """A stack of ``num_layers`` encoder layers over tokens, with an optional padding mask.

    Post-norm layers (:class:`PostNormBlock`, BERT) by default; with ``norm_first`` pre-norm
    layers (ViT's :class:`TransformerBlock`) followed by a final LayerNorm.
    Shapes: ``(B, N, D) -> (B, N, D)``.
    """

    def __init__(self, config: TransformerConfig) -> None:
        """Build the layers.

        Args:
            config: The hyperparameters; see :class:`TransformerConfig`.
        """
        super().__init__()
        dim, drop = config.hidden_dim, config.dropout
        self.grad_checkpointing = False
        self.blocks = nn.ModuleList()
        for _ in range(config.num_layers):
            block: nn.Module
            if config.norm_first:
                block = TransformerBlock(
                    dim,
                    config.num_heads,
                    mlp_ratio=config.mlp_ratio,
                    drop=drop,
                    attn_drop=drop,
                    activation=config.activation,
                    norm_eps=config.layer_norm_eps,
                )
            else:
                block = PostNormBlock(
                    dim,
                    config.num_heads,
                    mlp_ratio=config.mlp_ratio,
                    drop=drop,
                    attn_drop=drop,
                    activation=config.activation,
                    norm_eps=config.layer_norm_eps,
                    norm=config.norm,
                )
            self.blocks.append(block)
        self.norm: nn.Module = (
            nn.LayerNorm(dim, eps=config.layer_norm_eps) if config.norm_first else nn.Identity()
        )

    def forward(self, x: Tensor, key_padding_mask: Tensor | None = None) -> Tensor:
        """Encode a batch of token sequences.

        Args:
            x: Tokens of shape ``(B, N, D)``.
            key_padding_mask: ``(B, N)`` booleans, ``True`` at real tokens; padded keys get
                no attention. ``None``: every token is real.

        Returns:
            Tokens of shape ``(B, N, D)``.
        """
        mask = None if key_padding_mask is None else key_padding_mask[:, None, None, :]
        checkpointing = self.grad_checkpointing and self.training and torch.is_grad_enabled()
        for block in self.blocks:
            if checkpointing:
                x = checkpoint(block, x, mask, use_reentrant=False)  # (B, N, D)
            else:
                x = block(x, mask)  # (B, N, D)
        return self.norm(x)


class BertEmbeddings(nn.Module):
    """Token, learned position and token-type embeddings, summed, then LayerNorm and dropout.

    Shapes: ``(B, L) int64 -> (B, L, D)``.
    """

    def __init__(self, config: TransformerConfig) -> None:
        """Build the tables.

        Args:
            config: The hyperparameters; see :class:`TransformerConfig`.
        """
        super().__init__()
        dim = config.hidden_dim
        vocab = int(config.vocab_size or 0)
        self.word_embeddings = nn.Embedding(vocab, dim, padding_idx=config.padding_idx)
        self.position_embeddings = nn.Embedding(config.max_len, dim)
        self.token_type_embeddings = (
            nn.Embedding(config.type_vocab_size, dim) if config.type_vocab_size else None
        )
        self.norm = nn.LayerNorm(dim, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, tokens: Tensor, token_type_ids: Tensor | None = None) -> Tensor:
        """Embed a batch of token ids.

        Args:
            tokens: Token ids of shape ``(B, L)``.
            token_type_ids: Segment ids of shape ``(B, L)``; ``None``: all of type 0.

        Returns:
            Shape ``(B, L, D)``.
        """
        positions = torch.arange(tokens.shape[1], device=tokens.device)  # (L,)
        x = self.word_embeddings(tokens) + self.position_embeddings(positions)  # (B, L, D)
        if self.token_type_embeddings is not None:
            if token_type_ids is None:
                x = x + self.token_type_embeddings.weight[0]  # type 0 everywhere
            else:
                x = x + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.norm(x))


class TransformerClassifier(nn.Module):
    """BERT sequence classifier: token ids to class logits, padded positions masked.

    Shapes: ``(B, L) int64 -> (B, num_classes)`` with ``L <= max_len``.
    Complexity: ``O(num_layers * B * (L^2 * D + L * D^2 * mlp_ratio))`` time.
    """

    # Classifier module: its tensors of another shape (a new class count) are re-initialised
    # when pretrained weights are loaded.
    pretrained_head = ("classifier",)

    def __init__(self, config: TransformerConfig) -> None:
        """Build the model.

        Args:
            config: The hyperparameters; see :class:`TransformerConfig`.
        """
        super().__init__()
        self.config = config
        dim = config.hidden_dim
        self.embeddings = BertEmbeddings(config)
        self.encoder = TransformerEncoder(config)
        self.pooler = nn.Linear(dim, dim) if config.pooler else None
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(dim, int(config.num_classes or 0))
        self.init_weights()

    def init_weights(self) -> None:
        """Initialise as BERT does: normal(0, 0.02) weights and embeddings, zero biases.

        LayerNorms start as the identity (weight 1, bias 0) and the padding row of the token
        embedding at zero, as in Hugging Face's ``BertPreTrainedModel._init_weights``.
        """
        for module in self.modules():
            if isinstance(module, nn.Linear | nn.Embedding):
                nn.init.normal_(module.weight, mean=0.0, std=INIT_STD)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
            if isinstance(module, nn.Embedding) and module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute each layer's activations in the backward pass to save memory.

        Args:
            enable: Whether to checkpoint the layers while training.
        """
        self.encoder.grad_checkpointing = enable

    def check_tokens(self, tokens: Tensor) -> None:
        """Raise a clear error for token batches the model cannot take.

        Args:
            tokens: Token ids, expected of shape ``(B, L)``.

        Raises:
            ValueError: If the rank, the dtype or the length is wrong, the batch is empty, or
                (outside tracing) an id lies outside ``[0, vocab_size)``.
        """
        shape = tuple(tokens.shape)
        if tokens.ndim != 2:
            raise ValueError(f"expected token ids shaped (B, L), got {shape}")
        if tokens.dtype.is_floating_point or tokens.dtype == torch.bool:
            raise ValueError(f"token ids must be an integer tensor, got dtype {tokens.dtype}")
        if tokens.numel() == 0:
            raise ValueError(f"expected a non-empty (B, L) batch, got {shape}")
        if shape[1] > self.config.max_len:
            raise ValueError(
                f"sequence length {shape[1]} exceeds max_len={self.config.max_len}; cut the "
                f"sequences to {self.config.max_len} tokens or raise max_len"
            )
        if torch.compiler.is_compiling() or _is_exporting():
            return  # the value range is data-dependent: not checked while tracing
        vocab = int(self.config.vocab_size or 0)
        low, high = int(tokens.min()), int(tokens.max())
        if low < 0 or high >= vocab:
            raise ValueError(
                f"token ids must lie in [0, {vocab}), got min {low}, max {high}; rebuild the "
                "vocabulary or raise vocab_size"
            )

    def padding_mask(self, tokens: Tensor, lengths: Tensor | None) -> Tensor | None:
        """Where the real tokens are: from ``lengths`` if given, else from the padding id.

        A sequence made only of padding keeps all its positions (as Hugging Face's additive
        mask effectively does), so no softmax row is empty.

        Args:
            tokens: Token ids of shape ``(B, L)``.
            lengths: Real tokens per sample ``(B,)`` (padding at the end), or ``None``.

        Returns:
            ``(B, L)`` booleans, ``True`` at real tokens, or ``None`` when nothing can be
            padded (no lengths and no ``padding_idx``).
        """
        if lengths is not None:
            mask = length_mask(lengths.to(tokens.device), tokens.shape[1])  # (B, L)
        elif self.config.padding_idx is not None:
            mask = tokens != self.config.padding_idx  # (B, L)
        else:
            return None
        return mask | ~mask.any(dim=1, keepdim=True)

    def forward_features(
        self,
        tokens: Tensor,
        lengths: Tensor | None = None,
        token_type_ids: Tensor | None = None,
    ) -> tuple[Tensor, Tensor | None]:
        """Contextual token vectors and the padding mask.

        Args:
            tokens: Token ids of shape ``(B, L)``, padded at the end.
            lengths: Real tokens per sample ``(B,)``; ``None``: padding found by its id.
            token_type_ids: Segment ids ``(B, L)``; ``None``: all of type 0.

        Returns:
            ``(states (B, L, D), mask (B, L) or None)``.

        Raises:
            ValueError: See :meth:`check_tokens`.
        """
        self.check_tokens(tokens)
        mask = self.padding_mask(tokens, lengths)
        x = self.embeddings(tokens, token_type_ids)  # (B, L, D)
        return self.encoder(x, mask), mask

    def forward(
        self,
        tokens: Tensor,
        lengths: Tensor | None = None,
        token_type_ids: Tensor | None = None,
    ) -> Tensor:
        """Classify a batch of token sequences.

        Args:
            tokens: Token ids of shape ``(B, L)``, padded at the end.
            lengths: Real tokens per sample ``(B,)``; ``None``: padding found by its id.
            token_type_ids: Segment ids ``(B, L)``; ``None``: all of type 0.

        Returns:
            Logits of shape ``(B, num_classes)``.

        Raises:
            ValueError: See :meth:`check_tokens`.
        """
        states, mask = self.forward_features(tokens, lengths, token_type_ids)
        if self.config.pool == "cls":
            summary = states[:, 0]  # (B, D): the first ([CLS]) position
        else:
            summary = _masked_mean(states, mask)  # (B, D)
        if self.pooler is not None:
            summary = torch.tanh(self.pooler(summary))
        return self.classifier(self.dropout(summary))

    def adapt_pretrained(self, state_dict: dict[str, Tensor]) -> list[str]:
        """Rename a Hugging Face BERT state dict to this model's keys, in place.

        A ``BertForSequenceClassification``, ``BertModel`` or ``BertForPreTraining`` state
        dict (``bert.encoder.layer.0.attention.self.query.weight``, as in the
        ``bert-base-uncased`` files on the Hub) is converted by
        :func:`from_hf_bert_state_dict`; a state dict of this model is left unchanged.

        Args:
            state_dict: Pretrained tensors by name (e.g. ``bert.embeddings.word_embeddings.
                weight (V, D)``, ``...attention.self.query.weight (D, D)``).

        Returns:
            One note when the keys were converted, else nothing.
        """
        if not any(".attention.self.query." in key for key in state_dict):
            return []
        converted = from_hf_bert_state_dict(state_dict)
        state_dict.clear()
        state_dict.update(converted)
        return ["converted Hugging Face BERT keys, query/key/value fused into qkv"]


def _masked_mean(states: Tensor, mask: Tensor | None) -> Tensor:
    """Average the real tokens of each sample.

    Args:
        states: Token vectors ``(B, L, D)``.
        mask: ``(B, L)`` booleans, ``True`` at real tokens; ``None``: all real.

    Returns:
        Shape ``(B, D)``.
    """
    if mask is None:
        return states.mean(dim=1)
    weights = mask.unsqueeze(-1).to(states.dtype)  # (B, L, 1)
    return (states * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)


class TransformerForecaster(nn.Module):
    """Multivariate forecaster: a window of ``L`` steps to the next ``horizon`` steps.

    Per-step tokens (``patch_len`` null): ``(B, L, F) -> (B, L, D)`` by a linear embedding plus
    learned positions, the encoder, then one linear map of the flattened ``(B, L * D)``
    encoding to ``H * F`` values. PatchTST (``patch_len`` set): every variable separately,
    ``(B * F, N, patch_len)`` patches -> ``(B * F, N, D)`` tokens, the encoder, and a flatten
    head ``(B * F, N * D) -> (B * F, H)`` shared by the variables.

    Shapes: ``(B, L, F) -> (B, horizon, F)``.
    Complexity: ``O(num_layers * (L^2 * D + L * D^2))`` per window for per-step tokens,
    ``O(F * num_layers * (N^2 * D + N * D^2))`` with ``N`` patches; the head adds
    ``O(L * D * H * F)`` or ``O(F * N * D * H)``.
    """

    # Output layer: its tensors of another shape (a new horizon) are re-initialised when
    # pretrained weights are loaded.
    pretrained_head = ("head",)

    def __init__(self, config: TransformerConfig) -> None:
        """Build the model.

        Args:
            config: The hyperparameters; see :class:`TransformerConfig`.
        """
        super().__init__()
        self.config = config
        dim = config.hidden_dim
        self.features = int(config.input_dim or 0)
        self.length = int(config.input_length or 0)
        self.horizon = int(config.horizon or 0)
        self.patched = config.patch_len is not None
        self.revin = RevIN(self.features) if config.revin else None
        if self.patched:
            tokens, token_size = config.num_patches, int(config.patch_len or 0)
            head_in, head_out = tokens * dim, self.horizon
        else:
            tokens, token_size = self.length, self.features
            head_in, head_out = tokens * dim, self.horizon * self.features
        self.embed = nn.Linear(token_size, dim)
        self.position = nn.Parameter(torch.empty(1, tokens, dim))
        nn.init.uniform_(self.position, -POSITION_INIT_RANGE, POSITION_INIT_RANGE)
        self.dropout = nn.Dropout(config.dropout)
        self.encoder = TransformerEncoder(config)
        self.head = nn.Linear(head_in, head_out)

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute each layer's activations in the backward pass to save memory.

        Args:
            enable: Whether to checkpoint the layers while training.
        """
        self.encoder.grad_checkpointing = enable

    def check_window(self, x: Tensor) -> None:
        """Raise a clear error for windows the model cannot take.

        Args:
            x: Past values, expected of shape ``(B, L, F)``.

        Raises:
            ValueError: If the rank, the length, the width or the dtype is wrong.
        """
        expected = (self.length, self.features)
        if x.ndim != 3 or tuple(x.shape[1:]) != expected:
            raise ValueError(
                f"expected windows shaped (B, {self.length}, {self.features}) (the flatten head "
                f"fixes L and F), got {tuple(x.shape)}"
            )
        if not x.dtype.is_floating_point:
            raise ValueError(f"expected floating-point inputs, got dtype {x.dtype}")
        if x.shape[0] == 0:
            raise ValueError(f"expected a non-empty batch, got {tuple(x.shape)}")

    def patches(self, x: Tensor) -> Tensor:
        """Cut every variable of a window into overlapping patches (PatchTST's tokens).

        The window is padded at its end with ``stride`` copies of its last step first.

        Args:
            x: Windows of shape ``(B, L, F)``.

        Returns:
            Shape ``(B * F, N, patch_len)``.
        """
        batch, stride = x.shape[0], self.config.stride
        series = x.transpose(1, 2)  # (B, F, L)
        padded = torch.cat([series, series[..., -1:].expand(-1, -1, stride)], dim=-1)
        patches = padded.unfold(-1, int(self.config.patch_len or 0), stride)  # (B, F, N, P)
        return patches.reshape(batch * self.features, patches.shape[2], patches.shape[3])

    def forward(self, x: Tensor) -> Tensor:
        """Forecast the steps after each window.

        Args:
            x: Past values of shape ``(B, L, F)`` (standardised as in training).

        Returns:
            Predictions of shape ``(B, horizon, F)``.

        Raises:
            ValueError: See :meth:`check_window`.
        """
        self.check_window(x)
        batch = x.shape[0]
        stats = None
        if self.revin is not None:
            x, stats = self.revin.normalize(x)  # (B, L, F)
        tokens = self.patches(x) if self.patched else x  # (B * F, N, P) or (B, L, F)
        z = self.dropout(self.embed(tokens) + self.position)  # (B', N, D)
        z = self.encoder(z)  # (B', N, D)
        if self.patched:
            y = self.head(z.reshape(batch, self.features, -1))  # (B, F, H)
            y = y.transpose(1, 2)  # (B, H, F)
        else:
            y = self.head(z.reshape(batch, -1)).view(batch, self.horizon, self.features)
        if self.revin is not None and stats is not None:
            y = self.revin.denormalize(y, stats)
        return y


# Hugging Face BERT module -> this model's, inside layer i (query/key/value: fused below).
_HF_LAYER_TO_OURS: dict[str, str] = {
    "attention.output.dense": "attn.proj",
    "attention.output.LayerNorm": "norm1",
    "intermediate.dense": "mlp.fc1",
    "output.dense": "mlp.fc2",
    "output.LayerNorm": "norm2",
}
_HF_EMBEDDINGS = {
    "embeddings.word_embeddings": "embeddings.word_embeddings",
    "embeddings.position_embeddings": "embeddings.position_embeddings",
    "embeddings.token_type_embeddings": "embeddings.token_type_embeddings",
    "embeddings.LayerNorm": "embeddings.norm",
    "pooler.dense": "pooler",
    "classifier": "classifier",
}
_HF_LAYER_KEY = re.compile(r"^encoder\.layer\.(\d+)\.(.+)\.(weight|bias)$")
_HF_QKV_KEY = re.compile(
    r"^encoder\.layer\.(\d+)\.attention\.self\.(query|key|value)\.(weight|bias)$"
)
# Pretraining heads (masked LM, next sentence) and buffers this classifier has no use for.
_HF_DROPPED = re.compile(r"^(cls\.|embeddings\.position_ids$)")


def _hf_name(key: str) -> str:
    """A Hugging Face key without the ``bert.`` prefix, TF-era ``gamma``/``beta`` renamed."""
    name = key.removeprefix("bert.")
    return re.sub(r"\.gamma$", ".weight", re.sub(r"\.beta$", ".bias", name))


def from_hf_bert_state_dict(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Rename a Hugging Face BERT state dict to this model's (:class:`TransformerClassifier`).

    Takes ``BertForSequenceClassification`` (``bert.*`` and ``classifier.*``), ``BertModel``
    (no prefix) and ``BertForPreTraining`` files (their ``cls.*`` heads are dropped, as is
    the ``position_ids`` buffer). The separate ``query``, ``key`` and ``value`` projections
    of each layer are concatenated, in that order, into the fused ``attn.qkv``: weights
    ``3 x (D, D) -> (3D, D)``, biases ``3 x (D,) -> (3D,)``.

    Args:
        state_dict: Hugging Face's tensors by name (e.g. ``bert.embeddings.word_embeddings.
            weight (V, D)``).

    Returns:
        The tensors under this model's names.

    Raises:
        KeyError: Naming the keys that belong to no module of this model, or a layer whose
            query, key or value is missing.
    """
    renamed: dict[str, Tensor] = {}
    qkv: dict[tuple[str, str], dict[str, Tensor]] = {}
    unknown = []
    for key, value in state_dict.items():
        name = _hf_name(key)
        if _HF_DROPPED.match(name):
            continue
        fused = _HF_QKV_KEY.match(name)
        if fused is not None:
            index, part, kind = fused.groups()
            qkv.setdefault((index, kind), {})[part] = value
            continue
        module, _, kind = name.rpartition(".")
        if module in _HF_EMBEDDINGS:
            renamed[f"{_HF_EMBEDDINGS[module]}.{kind}"] = value
            continue
        layer = _HF_LAYER_KEY.match(name)
        if layer is None or layer.group(2) not in _HF_LAYER_TO_OURS:
            unknown.append(key)
            continue
        index, module, kind = layer.groups()
        renamed[f"encoder.blocks.{index}.{_HF_LAYER_TO_OURS[module]}.{kind}"] = value
    if unknown:
        raise KeyError(f"keys with no BERT counterpart: {unknown[:8]}")
    for (index, kind), parts in sorted(qkv.items()):
        missing = [part for part in ("query", "key", "value") if part not in parts]
        if missing:
            raise KeyError(f"layer {index} lacks attention.self.{missing[0]}.{kind}")
        fused_value = torch.cat([parts["query"], parts["key"], parts["value"]], dim=0)
        renamed[f"encoder.blocks.{index}.attn.qkv.{kind}"] = fused_value  # (3D, D) or (3D,)
    return renamed


MODELS: dict[str, type[nn.Module]] = {
    "classifier": TransformerClassifier,
    "forecaster": TransformerForecaster,
}


@register_model("transformer")
def build_transformer(cfg: dict[str, Any]) -> nn.Module:
    """Build a Transformer encoder model from the resolved ``model`` config section.

    Args:
        cfg: The config mapping; its keys are :class:`TransformerConfig` fields plus ``name``.

    Returns:
        The model for ``cfg["kind"]``, in train mode, on the CPU.

    Raises:
        TypeError: If ``cfg`` has a key that is not a :class:`TransformerConfig` field.
        ValueError: If the values are invalid or inconsistent (the message lists them).
    """
    fields = {key: value for key, value in cfg.items() if key != "name"}
    config = TransformerConfig(**fields)
    return MODELS[config.kind](config)
