"""GPT decoder-only language model (Radford et al., 2019), in nanoGPT's layout.

Token and learned position embeddings, ``num_layers`` pre-norm blocks of causal self-attention
and a GELU MLP, a final LayerNorm and a linear head to the vocabulary whose weight is the token
embedding (weight tying, Press & Wolf, 2017). With ``bias=True`` the parameters are those of a
Hugging Face ``GPT2LMHeadModel`` of the same size: :func:`from_hf_gpt2_state_dict` maps its
state dict onto this model, and ``model.pretrained`` accepts a GPT-2 file directly.
"""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ..layers.activations import get_activation
from ..layers.attention import Attention
from ..layers.grad_checkpoint import run_blocks
from ..layers.sampling import sample_next_token
from .registry import register_model


def _is_exporting() -> bool:
    """Whether ``torch.export`` is tracing (``torch.compiler.is_exporting``, torch >= 2.5)."""
    is_exporting = getattr(torch.compiler, "is_exporting", None)
    return bool(is_exporting()) if is_exporting is not None else False


@dataclass
class GPTConfig:
    """Hyperparameters of a GPT (field names as in the project config).

    Attributes:
        vocab_size: Number of token ids ``V`` (65 characters for tiny Shakespeare, 50,257
            for GPT-2's byte-pair encoding).
        block_size: Longest context ``T`` the model accepts (rows of the position table).
        hidden_dim: Token dimension ``D`` (nanoGPT's ``n_embd``).
        num_layers: Number of transformer blocks ``L``.
        num_heads: Attention heads; must divide ``hidden_dim``.
        mlp_ratio: MLP hidden size relative to ``hidden_dim``.
        dropout: Dropout on the embeddings, the attention weights, and after the attention
            projection and the MLP.
        activation: MLP activation. GPT-2 was trained with the tanh approximation of GELU;
            ``gelu`` (exact, as in nanoGPT) changes its logits by about 1e-3.
        bias: Biases in the linear layers and LayerNorms (GPT-2: true; nanoGPT's
            Shakespeare model: false, slightly better and faster).
        tie_weights: Share the token embedding with the output layer.
        tokenizer: How the data turns text into ids (``char``, ``word``, ``bpe``, ``gpt2``); for
            reference, the model does not use it.
        variant: Name of the catalog variant the values come from, for reference only.
    """

    vocab_size: int = 50_257
    block_size: int = 1024
    hidden_dim: int = 768
    num_layers: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    dropout: float = 0.0
    activation: str = "gelu"
    bias: bool = True
    tie_weights: bool = True
    tokenizer: str = "char"
    variant: str | None = None

    def __post_init__(self) -> None:
        """Check the values against each other.

        Raises:
            ValueError: Listing every inconsistent value and what would be accepted.
        """
        names = ("vocab_size", "block_size", "hidden_dim", "num_layers", "num_heads")
        problems = [
            f"{name} must be a positive integer, got {getattr(self, name)}"
            for name in names
            if getattr(self, name) < 1
        ]
        if not 0.0 <= self.dropout < 1.0:
            problems.append(f"dropout must be in [0, 1), got {self.dropout}")
        if self.mlp_ratio <= 0:
            problems.append(f"mlp_ratio must be > 0, got {self.mlp_ratio}")
        if self.hidden_dim % max(self.num_heads, 1):
            problems.append(f"num_heads={self.num_heads} must divide hidden_dim={self.hidden_dim}")
        if problems:
            raise ValueError("invalid GPT config: " + "; ".join(problems))


class GPTMlp(nn.Module):
    """Position-wise feed-forward network ``drop(c_proj(act(c_fc(x))))`` (GPT-2's ``mlp``).

    Shapes: ``(B, T, D) -> (B, T, D)``; cost ``O(B * T * D * D_hidden)``.
    """

    def __init__(self, dim: int, hidden: int, activation: str, bias: bool, drop: float) -> None:
        """Create the layer.

        Args:
            dim: Token dimension ``D``.
            hidden: Hidden dimension (``4 * D`` in GPT-2).
            activation: Name of the activation (see ``layers.activations``).
            bias: Whether both linear layers have biases.
            drop: Dropout after the output projection.
        """
        super().__init__()
        self.c_fc = nn.Linear(dim, hidden, bias=bias)
        self.act = get_activation(activation)
        self.c_proj = nn.Linear(hidden, dim, bias=bias)
        self.drop = nn.Dropout(drop)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the network to every token.

        Args:
            x: Tokens of shape ``(B, T, D)``.

        Returns:
            Tokens of shape ``(B, T, D)``.
        """
        return self.drop(self.c_proj(self.act(self.c_fc(x))))


class GPTBlock(nn.Module):
    """Pre-norm decoder block: ``x + attn(ln_1(x))`` then ``x + mlp(ln_2(x))``, causal.

    Shapes: ``(B, T, D) -> (B, T, D)``; cost ``O(B * T^2 * D + B * T * D^2 * mlp_ratio)``.
    """

    def __init__(self, config: GPTConfig) -> None:
        """Create the block.

        Args:
            config: The hyperparameters; see :class:`GPTConfig`.
        """
        super().__init__()
        dim, bias, drop = config.hidden_dim, config.bias, config.dropout
        self.ln_1 = nn.LayerNorm(dim, bias=bias)
        self.attn = Attention(
            dim,
            config.num_heads,
            qkv_bias=bias,
            attn_drop=drop,
            proj_drop=drop,
            is_causal=True,
            proj_bias=bias,
        )
        self.ln_2 = nn.LayerNorm(dim, bias=bias)
        hidden = int(dim * config.mlp_ratio)
        self.mlp = GPTMlp(dim, hidden, config.activation, bias, drop)

    def forward(self, x: Tensor) -> Tensor:
        """Apply causal attention then the MLP, each as a pre-norm residual branch.

        Args:
            x: Tokens of shape ``(B, T, D)``.

        Returns:
            Tokens of shape ``(B, T, D)``.
        """
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """Decoder-only Transformer language model: next-token logits at every position.

    Shapes: ``(B, T) int64 -> (B, T, V)`` with ``T <= block_size``; position ``t`` sees
    tokens ``0..t`` only and predicts token ``t + 1``.
    Complexity: ``O(L * B * (T^2 * D + T * D^2))`` time for ``L`` layers, plus
    ``O(B * T * D * V)`` for the output layer; about ``6 * N`` FLOPs per trained token for
    ``N`` parameters when ``T`` is small against ``D``.
    """

    def __init__(self, config: GPTConfig) -> None:
        """Build the model.

        Args:
            config: The hyperparameters; see :class:`GPTConfig`.
        """
        super().__init__()
        self.config = config
        dim = config.hidden_dim
        self.grad_checkpointing = False
        self.wte = nn.Embedding(config.vocab_size, dim)
        self.wpe = nn.Embedding(config.block_size, dim)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(GPTBlock(config) for _ in range(config.num_layers))
        self.ln_f = nn.LayerNorm(dim, bias=config.bias)
        self.lm_head = nn.Linear(dim, config.vocab_size, bias=False)
        if config.tie_weights:
            # Weight tying: the output layer scores each token by its input embedding.
            self.lm_head.weight = self.wte.weight
        self.init_weights()

    def init_weights(self) -> None:
        """Initialise as GPT-2 does: normal(0, 0.02) weights and embeddings, zero biases.

        The projections that end a residual branch (``attn.proj``, ``mlp.c_proj``) get
        ``std = 0.02 / sqrt(2 * num_layers)``: the residual stream sums ``2 * num_layers``
        branches, and this keeps its variance independent of depth (Radford et al., 2019,
        section 2.3).
        """
        for module in self.modules():
            if isinstance(module, nn.Linear | nn.Embedding):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
        residual_std = 0.02 / math.sqrt(2 * self.config.num_layers)
        for name, parameter in self.named_parameters():
            if name.endswith(("attn.proj.weight", "mlp.c_proj.weight")):
                nn.init.normal_(parameter, mean=0.0, std=residual_std)

    def no_weight_decay(self) -> set[str]:
        """Name the parameters excluded from weight decay beyond the 1-D ones.

        As in nanoGPT, every matrix is decayed (embeddings included); biases and LayerNorm
        weights are 1-D and excluded by the optimizer anyway.

        Returns:
            An empty set.
        """
        return set()

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute each block's activations in the backward pass to save memory.

        Args:
            enable: Whether to checkpoint the blocks while training.
        """
        self.grad_checkpointing = enable

    def check_tokens(self, tokens: Tensor) -> None:
        """Raise a clear error for token batches the model cannot take.

        Args:
            tokens: Token ids, expected of shape ``(B, T)``.

        Raises:
            ValueError: If the rank, the dtype or the length is wrong, the batch is empty, or
                (outside ``torch.compile``) an id lies outside ``[0, vocab_size)``.
        """
        shape = tuple(tokens.shape)
        if tokens.ndim != 2:
            raise ValueError(f"expected token ids shaped (B, T), got {shape}")
        if tokens.dtype.is_floating_point or tokens.dtype == torch.bool:
            raise ValueError(f"token ids must be an integer tensor, got dtype {tokens.dtype}")
        if tokens.numel() == 0:
            raise ValueError(f"expected a non-empty (B, T) batch, got {shape}")
        if shape[1] > self.config.block_size:
            raise ValueError(
                f"sequence length {shape[1]} exceeds block_size={self.config.block_size}; "
                f"feed at most the last {self.config.block_size} tokens or raise block_size"
            )
        if torch.compiler.is_compiling() or _is_exporting():
            return  # the value range is data-dependent: not checked while tracing
        low, high = int(tokens.min()), int(tokens.max())
        if low < 0 or high >= self.config.vocab_size:
            raise ValueError(
                f"token ids must lie in [0, {self.config.vocab_size}), got min {low}, max "
                f"{high}; rebuild the vocabulary or raise vocab_size"
            )

    def forward_features(self, tokens: Tensor) -> Tensor:
        """Contextual token vectors after the final LayerNorm.

        Args:
            tokens: Token ids of shape ``(B, T)``, ``T <= block_size``.

        Returns:
            Shape ``(B, T, D)``.

        Raises:
            ValueError: See :meth:`check_tokens`.
        """
        self.check_tokens(tokens)
        positions = torch.arange(tokens.shape[1], device=tokens.device)  # (T,)
        x = self.drop(self.wte(tokens) + self.wpe(positions))  # (B, T, D)
        x = run_blocks(self.blocks, x, self.grad_checkpointing and self.training)
        return self.ln_f(x)

    def forward(self, tokens: Tensor) -> Tensor:
        """Next-token logits at every position.

        Args:
            tokens: Token ids of shape ``(B, T)``, ``T <= block_size``.

        Returns:
            Logits of shape ``(B, T, V)``; position ``t`` predicts token ``t + 1``.

        Raises:
            ValueError: See :meth:`check_tokens`.
        """
        return self.lm_head(self.forward_features(tokens))

    @torch.no_grad()
    def generate(
        self,
        prompt: Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Sample a continuation of each prompt, one token at a time (nanoGPT's loop).

        Each step runs the model on the last ``block_size`` tokens and scores the last
        position only; without a key/value cache a step costs one forward pass.

        Args:
            prompt: Token ids of shape ``(B, P)``, ``P >= 1``.
            max_new_tokens: Tokens to append.
            temperature: Softmax temperature (> 0); lower is more conservative.
            top_k: Sample only among the ``k`` most likely tokens; ``None`` for all.
            generator: Random generator, for reproducible samples.

        Returns:
            Shape ``(B, P + max_new_tokens)``: the prompt followed by the samples.

        Raises:
            ValueError: If the temperature is not positive or ``max_new_tokens`` negative.
        """
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        if max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
        tokens = prompt
        for _ in range(max_new_tokens):
            context = tokens[:, -self.config.block_size :]  # (B, <= T)
            last = self.forward_features(context)[:, -1]  # (B, D)
            choice = sample_next_token(self.lm_head(last), temperature, top_k, generator)
            tokens = torch.cat([tokens, choice], dim=1)
        return tokens

    def adapt_pretrained(self, state_dict: dict[str, Tensor]) -> list[str]:
        """Rename a Hugging Face GPT-2 state dict to this model's keys, in place.

        A ``GPT2LMHeadModel`` or ``GPT2Model`` state dict (``transformer.h.0.attn.c_attn.
        weight`` or ``h.0.attn.c_attn.weight``, as in the ``gpt2`` files on the Hub) is
        converted by :func:`from_hf_gpt2_state_dict`; a state dict of this model is left
        unchanged.

        Args:
            state_dict: Pretrained tensors by name (e.g. a Conv1D weight ``(D, 3D)``).

        Returns:
            One note when the keys were converted, else nothing.
        """
        if not any(".attn.c_attn." in key for key in state_dict):
            return []
        converted = from_hf_gpt2_state_dict(state_dict, tie_weights=self.config.tie_weights)
        state_dict.clear()
        state_dict.update(converted)
        return ["converted Hugging Face GPT-2 keys, Conv1D weights transposed"]


# Hugging Face GPT-2 module -> this model's, inside block i (Conv1D modules marked True).
_HF_BLOCK_TO_OURS: dict[str, tuple[str, bool]] = {
    "ln_1": ("ln_1", False),
    "attn.c_attn": ("attn.qkv", True),
    "attn.c_proj": ("attn.proj", True),
    "ln_2": ("ln_2", False),
    "mlp.c_fc": ("mlp.c_fc", True),
    "mlp.c_proj": ("mlp.c_proj", True),
}
_HF_BLOCK_KEY = re.compile(r"^h\.(\d+)\.(.+)\.(weight|bias)$")
# Causal-mask buffers older GPT-2 files carry; this model masks inside SDPA.
_HF_MASK_KEY = re.compile(r"^h\.\d+\.attn\.(bias|masked_bias)$")


def from_hf_gpt2_state_dict(
    state_dict: Mapping[str, Tensor], tie_weights: bool = True
) -> dict[str, Tensor]:
    """Rename a Hugging Face ``GPT2LMHeadModel`` (or ``GPT2Model``) state dict to this model's.

    Hugging Face's ``Conv1D`` stores its weight as ``(in, out)``; ``nn.Linear`` as
    ``(out, in)``, so those weights are transposed (``c_attn (D, 3D) -> qkv (3D, D)``). The
    causal-mask buffers are dropped, and ``lm_head.weight`` is the token embedding when the
    file omits it (tied weights are saved once).

    Args:
        state_dict: Hugging Face's tensors by name (e.g. ``transformer.wte.weight (V, D)``).
        tie_weights: Whether the target model ties ``lm_head`` to ``wte``.

    Returns:
        The tensors under this model's names; transposed weights are contiguous copies.

    Raises:
        KeyError: Naming the keys that belong to no module of this model.
    """
    renamed: dict[str, Tensor] = {}
    unknown = []
    for key, value in state_dict.items():
        name = key.removeprefix("transformer.")
        if _HF_MASK_KEY.match(name):
            continue
        if name in ("wte.weight", "wpe.weight", "lm_head.weight") or name.startswith("ln_f."):
            renamed[name] = value
            continue
        block = _HF_BLOCK_KEY.match(name)
        if block is None or block.group(2) not in _HF_BLOCK_TO_OURS:
            unknown.append(key)
            continue
        index, module, kind = block.groups()
        ours, conv1d = _HF_BLOCK_TO_OURS[module]
        transpose = conv1d and kind == "weight"
        renamed[f"blocks.{index}.{ours}.{kind}"] = value.t().contiguous() if transpose else value
    if unknown:
        raise KeyError(f"keys with no GPT counterpart: {unknown[:8]}")
    if "wte.weight" in renamed and (tie_weights or "lm_head.weight" not in renamed):
        renamed["lm_head.weight"] = renamed["wte.weight"]
    return renamed


@register_model("gpt")
def build_gpt(cfg: dict[str, Any]) -> nn.Module:
    """Build a GPT from the resolved ``model`` config section.

    Args:
        cfg: The config mapping; its keys are :class:`GPTConfig` fields plus ``name``.

    Returns:
        The model, in train mode, on the CPU.

    Raises:
        TypeError: If ``cfg`` has a key that is not a :class:`GPTConfig` field.
        ValueError: If the values are invalid or inconsistent (the message lists them).
    """
    fields = {key: value for key, value in cfg.items() if key != "name"}
    return GPT(GPTConfig(**fields))
