"""Encoder-decoder Transformer for sequence-to-sequence tasks (Vaswani et al., 2017).

Token embeddings scaled by ``sqrt(D)`` plus sinusoidal positional encodings (section 3.5),
``N`` encoder layers (self-attention and a ReLU feed-forward network) and ``N`` decoder
layers (causal self-attention, cross-attention to the encoder output, feed-forward), each
sub-layer wrapped as ``LayerNorm(x + Dropout(Sublayer(x)))`` (post-norm, as in the paper) or,
with ``norm_first``, as ``x + Dropout(Sublayer(LayerNorm(x)))`` with a final LayerNorm
after each stack (pre-norm, as in fairseq's ``--*-normalize-before``). With
``share_embeddings`` one matrix is the source embedding, the target embedding and the
pre-softmax projection (section 3.4; a joint vocabulary).

The layer stack has the parameters and the outputs of ``torch.nn.Transformer`` at the same
sizes (final norms aside in post-norm mode): :func:`from_torch_transformer_state_dict` maps
its state dict onto this model. Decoding (:meth:`Seq2SeqTransformer.generate`) is greedy
or beam search with GNMT's length penalty, up to the source length plus 50 tokens.
"""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from ..layers.attention import Attention
from ..layers.cross_attention import CrossAttention
from ..layers.decoding import beam_search, greedy_search
from ..layers.mlp import Mlp
from .registry import register_model

# Tokens a translation may have beyond its source's length (Vaswani et al., section 6.1).
EXTRA_LENGTH = 50
# GNMT length-penalty strength the paper uses with beam size 4.
LENGTH_PENALTY = 0.6
NORM_EPS = 1e-5


def _is_exporting() -> bool:
    """Whether ``torch.export`` is tracing (``torch.compiler.is_exporting``, torch >= 2.5)."""
    is_exporting = getattr(torch.compiler, "is_exporting", None)
    return bool(is_exporting()) if is_exporting is not None else False


@dataclass
class Seq2SeqConfig:
    """Hyperparameters of the encoder-decoder Transformer (names as in the project config).

    Attributes:
        vocab_size: Token ids ``V`` of each side (one joint vocabulary when shared).
        hidden_dim: Model dimension ``d_model`` (512 for Transformer base).
        num_encoder_layers: Encoder layers ``N``.
        num_decoder_layers: Decoder layers.
        num_heads: Attention heads ``h``; must divide ``hidden_dim``.
        mlp_ratio: ``d_ff / d_model`` (2048 / 512 = 4 in the paper).
        dropout: Residual, attention-weight, feed-forward and embedding dropout.
        activation: Feed-forward activation (the paper: ReLU).
        max_len: Longest source or target sequence (rows of the positional table).
        share_embeddings: One matrix for source and target embeddings and the output layer.
        norm_first: Pre-norm layers and final norms instead of the paper's post-norm.
        pad_id: Padding id (masked as a key; ignored by the loss).
        bos_id: Start token of every decoder input.
        eos_id: End-of-sequence token.
        variant: Name of the catalog variant the values come from, for reference only.
    """

    vocab_size: int = 32_000
    hidden_dim: int = 512
    num_encoder_layers: int = 6
    num_decoder_layers: int = 6
    num_heads: int = 8
    mlp_ratio: float = 4.0
    dropout: float = 0.1
    activation: str = "relu"
    max_len: int = 256
    share_embeddings: bool = True
    norm_first: bool = False
    pad_id: int = 0
    bos_id: int = 2
    eos_id: int = 3
    variant: str | None = None

    def __post_init__(self) -> None:
        """Check the values against each other.

        Raises:
            ValueError: Listing every inconsistent value and what would be accepted.
        """
        names = ("vocab_size", "hidden_dim", "num_encoder_layers", "num_decoder_layers")
        problems = [
            f"{name} must be a positive integer, got {getattr(self, name)}"
            for name in (*names, "num_heads", "max_len")
            if getattr(self, name) < 1
        ]
        if not 0.0 <= self.dropout < 1.0:
            problems.append(f"dropout must be in [0, 1), got {self.dropout}")
        if self.mlp_ratio <= 0:
            problems.append(f"mlp_ratio must be > 0, got {self.mlp_ratio}")
        if self.hidden_dim % max(self.num_heads, 1):
            problems.append(f"num_heads={self.num_heads} must divide hidden_dim={self.hidden_dim}")
        specials = {"pad_id": self.pad_id, "bos_id": self.bos_id, "eos_id": self.eos_id}
        for name, value in specials.items():
            if not 0 <= value < self.vocab_size:
                problems.append(f"{name}={value} must lie in [0, vocab_size={self.vocab_size})")
        if len(set(specials.values())) != len(specials):
            problems.append(f"pad_id, bos_id and eos_id must differ, got {specials}")
        if problems:
            raise ValueError("invalid seq2seq config: " + "; ".join(problems))

    @property
    def hidden_features(self) -> int:
        """The feed-forward width ``d_ff``."""
        return int(self.hidden_dim * self.mlp_ratio)


def sinusoidal_table(length: int, dim: int) -> Tensor:
    """Positional encodings ``PE(pos, 2i) = sin(pos / 10000^(2i/D))``, ``PE(pos, 2i+1) = cos``.

    Args:
        length: Positions.
        dim: Model dimension ``D`` (even or odd).

    Returns:
        Shape ``(length, D)``, float32 (Vaswani et al., section 3.5).
    """
    positions = torch.arange(length, dtype=torch.float32)[:, None]  # (L, 1)
    rates = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10_000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(positions * rates)
    table[:, 1::2] = torch.cos(positions * rates[: dim // 2])
    return table


class EncoderLayer(nn.Module):
    """Self-attention over the non-padded source, then the feed-forward network.

    Shapes: ``(B, S, D) -> (B, S, D)``; cost ``O(B * S^2 * D + B * S * D * d_ff)``.
    """

    def __init__(self, config: Seq2SeqConfig) -> None:
        """Create the layer.

        Args:
            config: The hyperparameters; see :class:`Seq2SeqConfig`.
        """
        super().__init__()
        dim, drop = config.hidden_dim, config.dropout
        self.norm_first = config.norm_first
        self.self_attn = Attention(dim, config.num_heads, attn_drop=drop, proj_drop=drop)
        self.norm1 = nn.LayerNorm(dim, eps=NORM_EPS)
        self.mlp = Mlp(dim, config.hidden_features, activation=config.activation, drop=drop)
        self.norm2 = nn.LayerNorm(dim, eps=NORM_EPS)

    def forward(self, x: Tensor, attn_mask: Tensor) -> Tensor:
        """Apply both sub-layers with their residual connections.

        Args:
            x: Source tokens ``(B, S, D)``.
            attn_mask: Boolean ``(B, 1, 1, S)``, ``True`` at real (non-padded) keys.

        Returns:
            Source tokens ``(B, S, D)``.
        """
        if self.norm_first:
            x = x + self.self_attn(self.norm1(x), attn_mask)
            return x + self.mlp(self.norm2(x))
        x = self.norm1(x + self.self_attn(x, attn_mask))
        return self.norm2(x + self.mlp(x))


class DecoderLayer(nn.Module):
    """Causal self-attention, cross-attention to the encoder output, feed-forward network.

    Shapes: ``(B, T, D)`` and memory ``(B, S, D)`` -> ``(B, T, D)``; cost
    ``O(B * (T^2 + T * S) * D + B * T * D * d_ff)``.
    """

    def __init__(self, config: Seq2SeqConfig) -> None:
        """Create the layer.

        Args:
            config: The hyperparameters; see :class:`Seq2SeqConfig`.
        """
        super().__init__()
        dim, heads, drop = config.hidden_dim, config.num_heads, config.dropout
        self.norm_first = config.norm_first
        self.self_attn = Attention(dim, heads, attn_drop=drop, proj_drop=drop, is_causal=True)
        self.norm1 = nn.LayerNorm(dim, eps=NORM_EPS)
        self.cross_attn = CrossAttention(dim, heads, attn_drop=drop, proj_drop=drop)
        self.norm2 = nn.LayerNorm(dim, eps=NORM_EPS)
        self.mlp = Mlp(dim, config.hidden_features, activation=config.activation, drop=drop)
        self.norm3 = nn.LayerNorm(dim, eps=NORM_EPS)

    def forward(self, x: Tensor, memory: Tensor, memory_padding: Tensor) -> Tensor:
        """Apply the three sub-layers with their residual connections.

        Target padding needs no mask: it sits after the real tokens, and a causal query
        never sees a later position.

        Args:
            x: Target tokens ``(B, T, D)``.
            memory: Encoder output ``(B, S, D)``.
            memory_padding: Boolean ``(B, S)``, ``True`` at padded source positions.

        Returns:
            Target tokens ``(B, T, D)``.
        """
        if self.norm_first:
            x = x + self.self_attn(self.norm1(x))
            x = x + self.cross_attn(self.norm2(x), memory, memory_padding)
            return x + self.mlp(self.norm3(x))
        x = self.norm1(x + self.self_attn(x))
        x = self.norm2(x + self.cross_attn(x, memory, memory_padding))
        return self.norm3(x + self.mlp(x))


class Seq2SeqTransformer(nn.Module):
    """Encoder-decoder Transformer: teacher-forced next-token logits of the target.

    Shapes: ``src (B, S)``, ``tgt_in (B, T)`` int64 -> ``(B, T, V)`` logits; position ``t``
    sees the whole (non-padded) source and target tokens ``0..t`` and predicts target token
    ``t + 1`` (``tgt_in`` starts with ``bos_id``). ``S, T <= max_len``.
    Complexity: ``O(N * B * (S^2 + T^2 + S * T) * D + N * B * (S + T) * D^2)`` plus
    ``O(B * T * D * V)`` for the output layer.
    """

    positions: Tensor

    def __init__(self, config: Seq2SeqConfig) -> None:
        """Build the model.

        Args:
            config: The hyperparameters; see :class:`Seq2SeqConfig`.
        """
        super().__init__()
        self.config = config
        dim, vocab = config.hidden_dim, config.vocab_size
        self.grad_checkpointing = False
        self.scale = math.sqrt(dim)
        self.src_embed = nn.Embedding(vocab, dim)
        self.tgt_embed = self.src_embed if config.share_embeddings else nn.Embedding(vocab, dim)
        self.register_buffer(
            "positions", sinusoidal_table(config.max_len, dim), persistent=False
        )  # (max_len, D), not a parameter and not saved
        self.drop = nn.Dropout(config.dropout)
        self.encoder_layers = nn.ModuleList(
            EncoderLayer(config) for _ in range(config.num_encoder_layers)
        )
        self.decoder_layers = nn.ModuleList(
            DecoderLayer(config) for _ in range(config.num_decoder_layers)
        )
        # Pre-norm stacks end with a LayerNorm; post-norm layers already end with one.
        final_norm = config.norm_first
        self.encoder_norm = nn.LayerNorm(dim, eps=NORM_EPS) if final_norm else nn.Identity()
        self.decoder_norm = nn.LayerNorm(dim, eps=NORM_EPS) if final_norm else nn.Identity()
        self.output = nn.Linear(dim, vocab, bias=False)
        self.init_weights()
        if config.share_embeddings:
            # Section 3.4: the embeddings and the pre-softmax projection share one matrix.
            self.output.weight = self.src_embed.weight

    def init_weights(self) -> None:
        """Initialise Xavier-uniform matrices, zero biases and ``N(0, D^-1/2)`` embeddings.

        Matrices and biases as ``torch.nn.Transformer``; embeddings as fairseq, so that the
        ``sqrt(D)``-scaled embeddings have unit variance.
        """
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, mean=0.0, std=self.config.hidden_dim**-0.5)

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute each layer's activations in the backward pass to save memory.

        Args:
            enable: Whether to checkpoint the layers while training.
        """
        self.grad_checkpointing = enable

    def check_tokens(self, tokens: Tensor, what: str) -> None:
        """Raise a clear error for token batches the model cannot take.

        Args:
            tokens: Token ids, expected of shape ``(B, L)``.
            what: ``source`` or ``target``, for the message.

        Raises:
            ValueError: If the rank, the dtype or the length is wrong, the batch is empty, or
                (outside ``torch.compile``/``torch.export``) an id is outside the vocabulary.
        """
        shape = tuple(tokens.shape)
        if tokens.ndim != 2:
            raise ValueError(f"expected {what} token ids shaped (B, L), got {shape}")
        if tokens.dtype.is_floating_point or tokens.dtype == torch.bool:
            raise ValueError(f"{what} token ids must be an integer tensor, got {tokens.dtype}")
        if tokens.numel() == 0:
            raise ValueError(f"expected a non-empty {what} batch, got {shape}")
        if shape[1] > self.config.max_len:
            raise ValueError(
                f"{what} length {shape[1]} exceeds max_len={self.config.max_len}; shorten "
                "the sequences (data.max_length) or raise model.max_len"
            )
        if torch.compiler.is_compiling() or _is_exporting():
            return  # the value range is data-dependent: not checked while tracing
        low, high = int(tokens.min()), int(tokens.max())
        if low < 0 or high >= self.config.vocab_size:
            raise ValueError(
                f"{what} token ids must lie in [0, {self.config.vocab_size}), got min {low}, "
                f"max {high}; rebuild the vocabulary or raise vocab_size"
            )

    def _embed(self, embedding: nn.Embedding, tokens: Tensor) -> Tensor:
        length = tokens.shape[1]
        x = embedding(tokens) * self.scale + self.positions[:length]  # (B, L, D)
        return self.drop(x)

    def _run(self, layer: nn.Module, *args: Tensor) -> Tensor:
        if self.grad_checkpointing and self.training and torch.is_grad_enabled():
            result: Tensor = checkpoint(layer, *args, use_reentrant=False)
            return result
        output: Tensor = layer(*args)
        return output

    def encode(self, src: Tensor) -> tuple[Tensor, Tensor]:
        """Encode the source once (decoding reuses it at every step).

        Args:
            src: Source ids ``(B, S)``, padded with ``pad_id`` after the real tokens.

        Returns:
            ``(memory (B, S, D), padding (B, S))``; ``padding`` is ``True`` at pad ids.

        Raises:
            ValueError: See :meth:`check_tokens`.
        """
        self.check_tokens(src, "source")
        padding = src == self.config.pad_id  # (B, S)
        attn_mask = ~padding[:, None, None, :]  # (B, 1, 1, S), True: a real key
        x = self._embed(self.src_embed, src)
        for layer in self.encoder_layers:
            x = self._run(layer, x, attn_mask)
        return self.encoder_norm(x), padding

    def decode(self, tgt_in: Tensor, memory: Tensor, padding: Tensor) -> Tensor:
        """Next-token logits of the target given the encoded source.

        Args:
            tgt_in: Target prefixes ``(B, T)`` starting with ``bos_id``.
            memory: Encoder output ``(B, S, D)``.
            padding: Source padding ``(B, S)`` from :meth:`encode`.

        Returns:
            Logits ``(B, T, V)``.

        Raises:
            ValueError: See :meth:`check_tokens`.
        """
        self.check_tokens(tgt_in, "target")
        x = self._embed(self.tgt_embed, tgt_in)
        for layer in self.decoder_layers:
            x = self._run(layer, x, memory, padding)
        logits: Tensor = self.output(self.decoder_norm(x))
        return logits

    def forward(self, src: Tensor, tgt_in: Tensor) -> Tensor:
        """Teacher-forced logits: the target shifted right in, the next tokens scored.

        Args:
            src: Source ids ``(B, S)``, padded with ``pad_id``.
            tgt_in: ``bos_id`` followed by the target ids, ``(B, T)``, padded with ``pad_id``.

        Returns:
            Logits ``(B, T, V)``; position ``t`` predicts target token ``t + 1``.

        Raises:
            ValueError: See :meth:`check_tokens`.
        """
        memory, padding = self.encode(src)
        return self.decode(tgt_in, memory, padding)

    @torch.no_grad()
    def generate(
        self,
        src: Tensor,
        beam_size: int = 1,
        alpha: float = LENGTH_PENALTY,
        max_new_tokens: int | None = None,
    ) -> Tensor:
        """Translate a batch: greedy search (``beam_size=1``) or beam search.

        Each sentence gets at most its source length plus 50 tokens (the paper's limit),
        ``max_new_tokens`` and ``max_len - 1``, whichever is smallest. The encoder runs
        once; without a key/value cache every step re-runs the decoder on the prefix, so a
        ``T``-token output costs ``O(T^2)`` decoder positions.

        Args:
            src: Source ids ``(B, S)``, padded with ``pad_id``.
            beam_size: Beams per sentence (4 in the paper); 1 is greedy search.
            alpha: GNMT length-penalty strength for ranking finished beams.
            max_new_tokens: Optional cap on generated tokens per sentence.

        Returns:
            Generated ids ``(B, L)`` without the start token; each row ends with
            ``eos_id`` (or stops at its limit) and is padded with ``pad_id`` after it.

        Raises:
            ValueError: See :meth:`check_tokens`, or if ``beam_size < 1``.
        """
        config = self.config
        memory, padding = self.encode(src)
        limits = (~padding).sum(dim=1) + EXTRA_LENGTH  # (B,)
        cap = config.max_len - 1 if max_new_tokens is None else min(max_new_tokens, config.max_len - 1)
        limits = limits.clamp(min=1, max=max(cap, 1))
        if beam_size > 1:
            memory = memory.repeat_interleave(beam_size, dim=0)  # (B * K, S, D)
            padding = padding.repeat_interleave(beam_size, dim=0)

        def step(prefix: Tensor) -> Tensor:
            logits = self.decode(prefix, memory, padding)[:, -1].float()  # (N, V)
            return logits.log_softmax(dim=-1)

        if beam_size == 1:
            return greedy_search(step, limits, config.bos_id, config.eos_id, config.pad_id)
        return beam_search(
            step, limits, beam_size, config.bos_id, config.eos_id, config.pad_id, alpha
        )


# torch.nn.Transformer module -> this model's, inside layer i of each stack.
_TORCH_LAYER_TO_OURS = {
    "self_attn.in_proj_weight": "self_attn.qkv.weight",
    "self_attn.in_proj_bias": "self_attn.qkv.bias",
    "self_attn.out_proj.weight": "self_attn.proj.weight",
    "self_attn.out_proj.bias": "self_attn.proj.bias",
    "multihead_attn.out_proj.weight": "cross_attn.proj.weight",
    "multihead_attn.out_proj.bias": "cross_attn.proj.bias",
    "linear1.weight": "mlp.fc1.weight",
    "linear1.bias": "mlp.fc1.bias",
    "linear2.weight": "mlp.fc2.weight",
    "linear2.bias": "mlp.fc2.bias",
}
_TORCH_KEY = re.compile(r"^(encoder|decoder)\.layers\.(\d+)\.(.+)$")


def from_torch_transformer_state_dict(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Rename a ``torch.nn.Transformer`` state dict to this model's layer-stack keys.

    ``nn.MultiheadAttention`` keeps ``[W_q; W_k; W_v]`` in one ``in_proj_weight (3D, D)``:
    self-attention takes it whole (the fused QKV), cross-attention splits it into ``q``
    (the first ``D`` rows) and ``kv`` (the other ``2D``). Final norms map to
    ``encoder_norm``/``decoder_norm`` (present with ``norm_first``). Embeddings and the
    output layer are not part of ``nn.Transformer``.

    Args:
        state_dict: ``nn.Transformer``'s tensors by name.

    Returns:
        The tensors under this model's names (load with ``strict=False``).

    Raises:
        KeyError: Naming the keys that belong to no module of this model.
    """
    renamed: dict[str, Tensor] = {}
    unknown = []
    for key, value in state_dict.items():
        if key.startswith(("encoder.norm.", "decoder.norm.")):
            stack, _, kind = key.split(".")
            renamed[f"{stack}_norm.{kind}"] = value
            continue
        match = _TORCH_KEY.match(key)
        if match is None:
            unknown.append(key)
            continue
        stack, index, name = match.groups()
        prefix = f"{stack}_layers.{index}."
        if name.startswith("multihead_attn.in_proj_"):
            kind = "weight" if name.endswith("weight") else "bias"
            dim = value.shape[0] // 3
            renamed[f"{prefix}cross_attn.q.{kind}"] = value[:dim]
            renamed[f"{prefix}cross_attn.kv.{kind}"] = value[dim:]
        elif name in _TORCH_LAYER_TO_OURS:
            renamed[prefix + _TORCH_LAYER_TO_OURS[name]] = value
        elif re.fullmatch(r"norm[123]\.(weight|bias)", name):
            renamed[prefix + name] = value
        else:
            unknown.append(key)
    if unknown:
        raise KeyError(f"keys with no seq2seq counterpart: {unknown[:8]}")
    return renamed


@register_model("seq2seq")
def build_seq2seq(cfg: dict[str, Any]) -> nn.Module:
    """Build the encoder-decoder Transformer from the resolved ``model`` config section.

    Args:
        cfg: The config mapping; its keys are :class:`Seq2SeqConfig` fields plus ``name``.

    Returns:
        The model, in train mode, on the CPU.

    Raises:
        TypeError: If ``cfg`` has a key that is not a :class:`Seq2SeqConfig` field.
        ValueError: If the values are invalid or inconsistent (the message lists them).
    """
    fields = {key: value for key, value in cfg.items() if key != "name"}
    return Seq2SeqTransformer(Seq2SeqConfig(**fields))
