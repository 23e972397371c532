"""Autoencoders and variational autoencoders (Kingma & Welling, 2014) with MLP encoders."""

from __future__ import annotations

from math import prod
from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt

from dlgen.catalog.base import ArchitectureFamily, Names, Variant
from dlgen.spec.common import Activation, Modality
from dlgen.spec.dataset import DatasetSpec
from dlgen.spec.hparams import ArchitectureHParams

_MAX_INPUT_FEATURES = 1_000_000


class AutoencoderHParams(ArchitectureHParams):
    """An MLP encoder ``hidden_dims`` -> ``latent_dim`` and the mirrored decoder.

    ``kind="vae"`` makes the encoder output a mean and a log-variance and weighs the
    KL term by ``beta`` (beta-VAE when ``beta != 1``).
    """

    family: Literal["autoencoder"] = "autoencoder"
    kind: Literal["ae", "vae"] = "ae"
    latent_dim: PositiveInt = 32
    hidden_dims: list[PositiveInt] = Field(default_factory=lambda: [512, 256], min_length=1)
    activation: Activation = "relu"
    dropout: float = Field(default=0.0, ge=0, lt=1)
    beta: PositiveFloat = 1.0

    def check_dataset(self, dataset: DatasetSpec) -> list[str]:
        if dataset.modality not in (Modality.IMAGE, Modality.TABULAR):
            return [
                f"the autoencoder reconstructs images or tabular rows; dataset "
                f"{dataset.name!r} is {dataset.modality.value}"
            ]
        features = prod(dataset.input_shape)
        if features > _MAX_INPUT_FEATURES:
            return [
                f"flattening {dataset.input_shape} gives {features:,} inputs; use smaller "
                "images (e.g. 64x64)"
            ]
        if self.latent_dim >= features:
            return [
                f"latent_dim={self.latent_dim} is not smaller than the {features} inputs; "
                "lower latent_dim"
            ]
        return []

    def estimate_parameters(self, dataset: DatasetSpec) -> int:
        features = prod(dataset.input_shape)
        widths = [features, *self.hidden_dims]
        encoder = sum(a * b + b for a, b in zip(widths, widths[1:], strict=False))
        codes = 2 * self.latent_dim if self.kind == "vae" else self.latent_dim
        encoder += widths[-1] * codes + codes
        decoder_widths = [self.latent_dim, *reversed(widths)]
        decoder = sum(a * b + b for a, b in zip(decoder_widths, decoder_widths[1:], strict=False))
        return encoder + decoder


FAMILY = ArchitectureFamily(
    key="autoencoder",
    names=Names(
        en="Autoencoder",
        zh="自编码器",
        aliases=(
            "autoencoder",
            "auto-encoder",
            "auto encoder",
            "自编码器",
            "自动编码器",
            "自编码网络",
        ),
    ),
    hparams_model=AutoencoderHParams,
    tasks=("reconstruction", "image_generation"),
    variants=(
        Variant(
            key="ae",
            names=Names(
                en="Autoencoder (MLP)",
                zh="全连接自编码器",
                aliases=("vanilla autoencoder", "mlp autoencoder", "普通自编码器"),
            ),
            hparams={"kind": "ae", "latent_dim": 32, "hidden_dims": [512, 256]},
        ),
        Variant(
            key="vae",
            names=Names(
                en="Variational Autoencoder",
                zh="变分自编码器",
                aliases=(
                    "vae",
                    "variational autoencoder",
                    "variational auto-encoder",
                    "变分自编码器",
                    "变分自动编码器",
                ),
            ),
            hparams={"kind": "vae", "latent_dim": 20, "hidden_dims": [400]},
            reference_params=652_824,
            reference="Kingma & Welling 2014 MNIST setup (784-400-20, as in the PyTorch "
            "examples repository)",
        ),
    ),
    default_variant="ae",
    default_datasets={"reconstruction": "mnist", "image_generation": "mnist"},
    paper="Kingma & Welling, Auto-Encoding Variational Bayes, ICLR 2014",
    training_defaults={
        "optimizer": "adam",
        "lr": 1e-3,
        "weight_decay": 0.0,
        "scheduler": "cosine",
        "epochs": 50,
        "batch_size": 128,
        "grad_clip": None,
    },
)
