"""Vision Transformer (Dosovitskiy et al., 2021) and DeiT (Touvron et al., 2021).

The module names follow timm's ``VisionTransformer``, so a timm ViT or DeiT state dict of the
same configuration loads with ``model.load_state_dict(state_dict)`` unchanged; with
``model.pretrained`` it also loads at another image size or class count.
"""

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ..layers.grad_checkpoint import run_blocks
from ..layers.input_checks import check_batch
from ..layers.patch_embed import PatchEmbed
from ..layers.transformer_block import TransformerBlock
from ..utils.pretrained import resample_abs_pos_embed
from .registry import register_model

POOLS = ("cls", "mean")


@dataclass
class ViTConfig:
    """Hyperparameters of a ViT/DeiT classifier (field names as in the project config).

    Attributes:
        in_channels: Image channels ``C``.
        num_classes: Number of output classes.
        image_size: Height and width of the (square) input images.
        patch_size: Height and width of one patch ``P``; must divide ``image_size``.
        hidden_dim: Token dimension ``D`` (768 for ViT-B).
        num_layers: Number of transformer blocks.
        num_heads: Attention heads; must divide ``hidden_dim``.
        mlp_ratio: MLP hidden size relative to ``hidden_dim``.
        dropout: Dropout after the position embeddings, the attention projection and inside
            the MLPs (the paper's ``dropout_rate``).
        attention_dropout: Dropout on the attention weights.
        drop_path: Stochastic depth rate of the last block, linearly increasing from 0.
        activation: MLP activation.
        class_token: Whether to prepend a learned class token.
        pool: ``"cls"`` classifies the class token; ``"mean"`` averages the patch tokens.
        distilled: DeiT's distillation token and second head.
        variant: Name of the catalog variant the values come from, for reference only.
    """

    in_channels: int = 3
    num_classes: int = 1000
    image_size: int = 224
    patch_size: int = 16
    hidden_dim: int = 768
    num_layers: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    dropout: float = 0.0
    attention_dropout: float = 0.0
    drop_path: float = 0.0
    activation: str = "gelu"
    class_token: bool = True
    pool: str = "cls"
    distilled: bool = False
    variant: str | None = None

    def __post_init__(self) -> None:
        """Check the values against each other.

        Raises:
            ValueError: Listing every inconsistent value and what would be accepted.
        """
        problems = [
            f"{name} must be a positive integer, got {getattr(self, name)}"
            for name in ("in_channels", "num_classes", "image_size", "patch_size", "hidden_dim")
            + ("num_layers", "num_heads")
            if getattr(self, name) < 1
        ]
        problems += [
            f"{name} must be in [0, 1), got {getattr(self, name)}"
            for name in ("dropout", "attention_dropout", "drop_path")
            if not 0.0 <= getattr(self, name) < 1.0
        ]
        if self.hidden_dim % max(self.num_heads, 1):
            problems.append(f"num_heads={self.num_heads} must divide hidden_dim={self.hidden_dim}")
        if self.image_size % max(self.patch_size, 1):
            problems.append(
                f"patch_size={self.patch_size} must divide image_size={self.image_size}"
            )
        if self.pool not in POOLS:
            problems.append(f"pool must be one of {POOLS}, got {self.pool!r}")
        if (self.pool == "cls" or self.distilled) and not self.class_token:
            problems.append("pool='cls' and distilled=true need class_token=true")
        if self.distilled and self.pool != "cls":
            problems.append(
                "distilled=true classifies the class and distillation tokens: pool='cls'"
            )
        if problems:
            raise ValueError("invalid ViT config: " + "; ".join(problems))

    @property
    def num_prefix_tokens(self) -> int:
        """Tokens placed before the patch tokens (class and distillation tokens)."""
        return int(self.class_token) + int(self.distilled)


class VisionTransformer(nn.Module):
    """ViT image classifier; DeiT when ``distilled`` adds the distillation token and head.

    Patch embedding, learned position embeddings, ``num_layers`` pre-norm transformer blocks
    (LayerNorm eps 1e-6, QKV bias), a final LayerNorm and a linear head.

    Shapes: ``(B, C, H, W) -> (B, num_classes)`` with ``H = W = image_size``.
    Complexity: ``O(L * B * (N^2 * D + N * D^2))`` time for ``L`` layers and
    ``N = (H / P)^2 + prefix`` tokens; the ``N^2`` attention term dominates for small patches.
    """

    # Classifier modules: re-initialised when pretrained weights have another class count.
    pretrained_head = ("head", "head_dist")

    def __init__(self, config: ViTConfig) -> None:
        """Build the model.

        Args:
            config: The hyperparameters; see :class:`ViTConfig`.
        """
        super().__init__()
        self.config = config
        dim = config.hidden_dim
        self.grad_checkpointing = False
        self.patch_embed = PatchEmbed(config.image_size, config.patch_size, config.in_channels, dim)
        num_tokens = self.patch_embed.num_patches + config.num_prefix_tokens
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim)) if config.class_token else None
        self.dist_token = nn.Parameter(torch.zeros(1, 1, dim)) if config.distilled else None
        self.pos_embed = nn.Parameter(torch.zeros(1, num_tokens, dim))
        self.pos_drop = nn.Dropout(config.dropout)
        depth = config.num_layers
        rates = [config.drop_path * i / max(depth - 1, 1) for i in range(depth)]
        self.blocks = nn.ModuleList(
            TransformerBlock(
                dim,
                config.num_heads,
                mlp_ratio=config.mlp_ratio,
                drop=config.dropout,
                attn_drop=config.attention_dropout,
                drop_path=rate,
                activation=config.activation,
            )
            for rate in rates
        )
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, config.num_classes)
        self.head_dist = nn.Linear(dim, config.num_classes) if config.distilled else None
        self.init_weights()

    def init_weights(self) -> None:
        """Initialise as timm does: truncated normal (std 0.02) for linear layers and embeddings."""
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        if self.cls_token is not None:
            nn.init.normal_(self.cls_token, std=1e-6)
        if self.dist_token is not None:
            nn.init.trunc_normal_(self.dist_token, std=0.02)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def adapt_pretrained(self, state_dict: dict[str, Tensor]) -> list[str]:
        """Resample a pretrained position embedding to this model's patch grid, in place.

        Fine-tuning at another image size (224 -> 384) keeps the class and distillation
        token embeddings and interpolates the patch grid bicubically, as timm does.

        Args:
            state_dict: Pretrained tensors by name; ``pos_embed`` has shape
                ``(1, prefix + H_old * W_old, D)`` and becomes ``(1, prefix + H * W, D)``.

        Returns:
            A note on the resampling, or nothing when the grid is the same.
        """
        old = state_dict.get("pos_embed")
        if old is None or old.shape == self.pos_embed.shape:
            return []
        if old.dim() != 3 or old.shape[-1] != self.pos_embed.shape[-1]:
            return []  # another width: reported as a shape mismatch, not resampled
        grid = self.patch_embed.grid_size
        prefix = self.config.num_prefix_tokens
        state_dict["pos_embed"] = resample_abs_pos_embed(old, (grid, grid), prefix)
        side = math.isqrt(old.shape[1] - prefix)
        return [f"pos_embed resampled from a {side}x{side} to a {grid}x{grid} patch grid"]

    def no_weight_decay(self) -> set[str]:
        """Name the parameters usually excluded from weight decay.

        Returns:
            Parameter names: the position embeddings and the prefix tokens.
        """
        return {"pos_embed", "cls_token", "dist_token"}

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute each block's activations in the backward pass to save memory.

        Args:
            enable: Whether to checkpoint the transformer blocks while training.
        """
        self.grad_checkpointing = enable

    def forward_features(self, x: Tensor) -> Tensor:
        """Encode images into normalised tokens.

        Args:
            x: Images of shape ``(B, C, H, W)``.

        Returns:
            Tokens of shape ``(B, N, D)``: the prefix tokens, then the patch tokens.

        Raises:
            ValueError: If the batch is empty or its rank, channels or size are wrong.
        """
        size = self.config.image_size
        check_batch(
            x, layout="(B, C, H, W)", channels=self.config.in_channels, spatial=(size, size)
        )
        x = self.patch_embed(x)  # (B, N_patches, D)
        prefix = [
            token.expand(x.shape[0], -1, -1)  # (B, 1, D)
            for token in (self.cls_token, self.dist_token)
            if token is not None
        ]
        x = torch.cat([*prefix, x], dim=1)  # (B, N, D)
        x = self.pos_drop(x + self.pos_embed)
        x = run_blocks(self.blocks, x, self.grad_checkpointing and self.training)
        return self.norm(x)

    def forward_heads(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        """Class logits and, for DeiT, the distillation head's logits.

        Use this in a distillation loss: the second output is trained against the teacher.

        Args:
            x: Images of shape ``(B, C, H, W)``.

        Returns:
            ``(logits, dist_logits)``, each ``(B, num_classes)``; ``dist_logits`` is ``None``
            unless the model is distilled.
        """
        tokens = self.forward_features(x)  # (B, N, D)
        if self.config.pool == "mean":
            pooled = tokens[:, self.config.num_prefix_tokens :].mean(dim=1)  # (B, D)
        else:
            pooled = tokens[:, 0]  # (B, D)
        logits = self.head(pooled)
        if self.head_dist is None:
            return logits, None
        return logits, self.head_dist(tokens[:, 1])

    def forward(self, x: Tensor) -> Tensor:
        """Classify images.

        Args:
            x: Images of shape ``(B, C, H, W)``.

        Returns:
            Logits of shape ``(B, num_classes)``; for DeiT the mean of both heads (the paper's
            inference rule), so training on labels alone trains both heads.
        """
        logits, dist_logits = self.forward_heads(x)
        if dist_logits is None:
            return logits
        return (logits + dist_logits) / 2


@register_model("vit")
def build_vit(cfg: dict[str, Any]) -> nn.Module:
    """Build a ViT/DeiT from the resolved ``model`` config section.

    Args:
        cfg: The config mapping; its keys are :class:`ViTConfig` fields plus ``name``.

    Returns:
        The model, in train mode, on the CPU.

    Raises:
        TypeError: If ``cfg`` has a key that is not a :class:`ViTConfig` field.
        ValueError: If the values are invalid or inconsistent (the message lists them).
    """
    fields = {key: value for key, value in cfg.items() if key != "name"}
    return VisionTransformer(ViTConfig(**fields))
