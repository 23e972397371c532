"""Denoising diffusion probabilistic models (Ho et al., 2020) with their U-Net."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt

from dlgen.catalog.base import ArchitectureFamily, Names, Variant
from dlgen.spec.common import Modality
from dlgen.spec.dataset import DatasetSpec
from dlgen.spec.hparams import ArchitectureHParams


def _resblock(cin: int, cout: int, temb: int) -> int:
    skip = cin * cout + cout if cin != cout else 0
    return (
        2 * cin
        + 9 * cin * cout
        + cout
        + temb * cout
        + cout
        + 2 * cout
        + 9 * cout * cout
        + cout
        + skip
    )


def _attention(channels: int) -> int:
    return 2 * channels + 4 * (channels * channels + channels)


class DDPMHParams(ArchitectureHParams):
    """DDPM hyperparameters: the noise-prediction U-Net and the noise schedule.

    The U-Net has one level per entry of ``channel_mults`` (``base_channels`` times
    the multiplier), ``num_res_blocks`` residual blocks per level, and
    self-attention at the feature-map sizes in ``attention_resolutions``.
    """

    family: Literal["ddpm"] = "ddpm"
    base_channels: PositiveInt = 128
    channel_mults: list[PositiveInt] = Field(default_factory=lambda: [1, 2, 2, 2], min_length=1)
    num_res_blocks: PositiveInt = 2
    attention_resolutions: list[PositiveInt] = Field(default_factory=lambda: [16])
    dropout: float = Field(default=0.1, ge=0, lt=1)
    timesteps: PositiveInt = 1000
    beta_schedule: Literal["linear", "cosine"] = "linear"
    beta_start: PositiveFloat = 1e-4
    beta_end: PositiveFloat = 0.02

    def check_dataset(self, dataset: DatasetSpec) -> list[str]:
        if dataset.modality != Modality.IMAGE:
            return [f"DDPM generates images; dataset {dataset.name!r} is {dataset.modality.value}"]
        problems = []
        size = dataset.input_shape[-1]
        factor = 2 ** (len(self.channel_mults) - 1)
        if size % factor:
            problems.append(
                f"image size {size} is not divisible by {factor} (one halving per level after "
                f"the first of channel_mults={self.channel_mults}); use fewer levels or a "
                f"multiple of {factor}"
            )
        reachable = {size // 2**level for level in range(len(self.channel_mults))}
        unreachable = sorted(set(self.attention_resolutions) - reachable)
        if unreachable:
            problems.append(
                f"attention_resolutions {unreachable} never occur for {size}x{size} images "
                f"(feature maps: {sorted(reachable, reverse=True)}); pick among those"
            )
        if self.beta_start >= self.beta_end:
            problems.append(f"beta_start={self.beta_start} must be below beta_end={self.beta_end}")
        return problems

    def estimate_parameters(self, dataset: DatasetSpec) -> int:
        ch, channels = self.base_channels, dataset.input_shape[0]
        temb = 4 * ch
        total = ch * temb + temb + temb * temb + temb + 9 * channels * ch + ch
        size, skips, current = dataset.input_shape[-1], [ch], ch
        for level, mult in enumerate(self.channel_mults):
            for _ in range(self.num_res_blocks):
                total += _resblock(current, ch * mult, temb)
                current = ch * mult
                total += _attention(current) if size in self.attention_resolutions else 0
                skips.append(current)
            if level != len(self.channel_mults) - 1:
                total += 9 * current * current + current
                skips.append(current)
                size //= 2
        total += 2 * _resblock(current, current, temb) + _attention(current)
        for level, mult in reversed(list(enumerate(self.channel_mults))):
            for _ in range(self.num_res_blocks + 1):
                total += _resblock(current + skips.pop(), ch * mult, temb)
                current = ch * mult
                total += _attention(current) if size in self.attention_resolutions else 0
            if level != 0:
                total += 9 * current * current + current
                size *= 2
        return total + 2 * current + 9 * current * channels + channels


FAMILY = ArchitectureFamily(
    key="ddpm",
    names=Names(
        en="DDPM (denoising diffusion)",
        zh="DDPM扩散模型",
        aliases=(
            "ddpm",
            "denoising diffusion",
            "denoising diffusion probabilistic model",
            "diffusion model",
            "diffusion",
            "扩散模型",
            "去噪扩散模型",
            "去噪扩散概率模型",
        ),
    ),
    hparams_model=DDPMHParams,
    tasks=("image_generation",),
    variants=(
        Variant(
            key="cifar10",
            names=Names(
                en="DDPM (CIFAR-10 model)",
                zh="DDPM（CIFAR-10配置）",
                aliases=("ddpm cifar10", "ddpm-cifar10", "ddpm 35.7m"),
            ),
            hparams={
                "base_channels": 128,
                "channel_mults": [1, 2, 2, 2],
                "num_res_blocks": 2,
                "attention_resolutions": [16],
                "dropout": 0.1,
            },
            reference_params=35_746_307,
            reference="Ho et al. 2020, Appendix B (35.7M parameters on CIFAR-10)",
        ),
        Variant(
            key="small",
            names=Names(
                en="small DDPM",
                zh="小型DDPM",
                aliases=("small ddpm", "mini ddpm", "小型ddpm", "小型扩散模型"),
            ),
            hparams={
                "base_channels": 64,
                "channel_mults": [1, 2, 2],
                "num_res_blocks": 1,
                "attention_resolutions": [],
                "dropout": 0.1,
            },
        ),
    ),
    default_variant="cifar10",
    default_datasets={"image_generation": "cifar10"},
    dataset_variants={"mnist": "small", "fashion_mnist": "small", "digits": "small"},
    paper="Ho et al., Denoising Diffusion Probabilistic Models, NeurIPS 2020",
    training_defaults={
        "optimizer": "adam",
        "lr": 2e-4,
        "weight_decay": 0.0,
        "scheduler": "none",
        "epochs": 2000,
        "batch_size": 128,
        "grad_clip": 1.0,
        "ema": True,
        "ema_decay": 0.9999,
    },
)
