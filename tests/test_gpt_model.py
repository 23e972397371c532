"""The GPT template: faithful to Hugging Face's ``GPT2LMHeadModel`` and to nanoGPT.

The model file comes from a rendered project (see ``tests/models``). Parameter counts are taken
on the ``meta`` device, ours and Hugging Face's, so GPT-2 XL costs no memory; the logit and
gradient checks run tiny configurations of the same code paths.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from torch import nn

from dlgen import catalog
from tests.models.rendered import import_rendered_models, variant_spec

transformers = pytest.importorskip("transformers")

# Hugging Face GPT2LMHeadModel counts (tied weights counted once), pinned from the brief.
HF_COUNTS = {
    "gpt2": 124_439_808,
    "gpt2_medium": 354_823_168,
    "gpt2_large": 774_030_080,
    "gpt2_xl": 1_557_611_200,
}
# nanoGPT's Shakespeare-char model (65 characters); with biases, HF's count at that size.
NANOGPT_COUNT = 10_745_088
NANOGPT_WITH_BIAS = 10_770_816
SHAKESPEARE_VOCAB = 65


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    return import_rendered_models(tmp_path_factory.mktemp("rendered"), ("gpt",))["gpt"]


@pytest.fixture(scope="module")
def pretrained(module: ModuleType) -> ModuleType:
    """The rendered project's ``utils/pretrained.py`` (the ``model.pretrained`` loader)."""
    package = module.__name__.split(".")[0]
    return importlib.import_module(f"{package}.utils.pretrained")


def _build(module: ModuleType, **fields: Any) -> nn.Module:
    model: nn.Module = module.build_gpt({"name": "gpt", **fields})
    return model


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _hf_config(
    dim: int, depth: int, heads: int, vocab: int = 50_257, block: int = 1024, **extra: Any
) -> Any:
    return transformers.GPT2Config(
        vocab_size=vocab, n_positions=block, n_embd=dim, n_layer=depth, n_head=heads, **extra
    )


def _fields(variant: catalog.Variant, vocab: int) -> dict[str, Any]:
    return {"vocab_size": vocab, "variant": variant.key, **variant.hparams}


# Parameter counts ----------------------------------------------------------------------


@pytest.mark.parametrize("key", list(HF_COUNTS))
def test_gpt2_counts_equal_hf_catalog_and_estimate(module: ModuleType, key: str) -> None:
    variant = catalog.family("gpt").variant(key)
    hparams = variant.hparams
    spec = variant_spec("gpt", variant)
    assert spec.dataset.vocab_size == 50_257
    with torch.device("meta"):
        ours = _count(_build(module, **_fields(variant, 50_257)))
        reference = transformers.GPT2LMHeadModel(
            _hf_config(hparams["hidden_dim"], hparams["num_layers"], hparams["num_heads"])
        )
    assert ours == _count(reference) == HF_COUNTS[key]
    assert ours == variant.reference_params == spec.estimated_parameters()


def test_nanogpt_count_and_its_biased_twin_equal_hf(module: ModuleType) -> None:
    variant = catalog.family("gpt").variant("nanogpt")
    spec = variant_spec("gpt", variant)
    assert spec.dataset.vocab_size == SHAKESPEARE_VOCAB
    with torch.device("meta"):
        ours = _count(_build(module, **_fields(variant, SHAKESPEARE_VOCAB)))
        biased = _count(_build(module, **{**_fields(variant, SHAKESPEARE_VOCAB), "bias": True}))
        reference = transformers.GPT2LMHeadModel(
            _hf_config(384, 6, 6, vocab=SHAKESPEARE_VOCAB, block=256)
        )
    assert ours == NANOGPT_COUNT == variant.reference_params == spec.estimated_parameters()
    assert biased == _count(reference) == NANOGPT_WITH_BIAS
    hparams = spec.model.model_copy(update={"bias": True})
    assert hparams.estimate_parameters(spec.dataset) == NANOGPT_WITH_BIAS


@pytest.mark.parametrize(
    "change",
    [{"tie_weights": False}, {"mlp_ratio": 2.0}, {"bias": True, "tie_weights": False}],
    ids=["untied", "mlp2", "bias-untied"],
)
def test_estimate_is_exact_beyond_the_variants(module: ModuleType, change: dict[str, Any]) -> None:
    spec = variant_spec("gpt", catalog.family("gpt").variant("nanogpt"))
    hparams = spec.model.model_copy(update=change)
    fields = {**hparams.model_dump(exclude={"family"}), "vocab_size": SHAKESPEARE_VOCAB}
    with torch.device("meta"):
        ours = _count(_build(module, **fields))
    assert ours == hparams.estimate_parameters(spec.dataset)


# Equivalence with Hugging Face ------------------------------------------------------------

SMALL = {"dim": 48, "depth": 2, "heads": 4, "vocab": 97, "block": 16}


def _small_pair(module: ModuleType, activation: str = "gelu") -> tuple[nn.Module, Any]:
    """Ours and HF's at SMALL: our ``gelu_tanh`` is HF's ``gelu_new`` (GPT-2's own)."""
    torch.manual_seed(0)
    config = _hf_config(
        SMALL["dim"],
        SMALL["depth"],
        SMALL["heads"],
        vocab=SMALL["vocab"],
        block=SMALL["block"],
        activation_function="gelu_new" if activation == "gelu_tanh" else "gelu",
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
    )
    reference = transformers.GPT2LMHeadModel(config).eval()
    ours = _build(
        module,
        vocab_size=SMALL["vocab"],
        block_size=SMALL["block"],
        hidden_dim=SMALL["dim"],
        num_layers=SMALL["depth"],
        num_heads=SMALL["heads"],
        bias=True,
        dropout=0.0,
        activation=activation,
    ).eval()
    return ours, reference


def _tokens(batch: int = 3) -> torch.Tensor:
    return torch.randint(0, SMALL["vocab"], (batch, SMALL["block"]))


def _hf_logits(reference: Any, tokens: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        logits: torch.Tensor = reference(tokens).logits
    return logits


@pytest.mark.parametrize("activation", ["gelu", "gelu_tanh"])
def test_hf_state_dict_gives_identical_logits(module: ModuleType, activation: str) -> None:
    """Exact GELU as nanoGPT, and GPT-2's own tanh GELU (``gelu_new``, HF's default)."""
    ours, reference = _small_pair(module, activation)
    converted = module.from_hf_gpt2_state_dict(reference.state_dict())
    ours.load_state_dict(converted)
    tokens = _tokens()
    with torch.no_grad():
        logits = ours(tokens)
    torch.testing.assert_close(logits, _hf_logits(reference, tokens), atol=1e-5, rtol=1e-5)
    tensors = ours.state_dict(keep_vars=True)
    assert tensors["lm_head.weight"] is tensors["wte.weight"]  # tied, loaded once


def _hub_layout(reference: Any) -> Iterator[tuple[str, torch.Tensor]]:
    """The key layout of the ``gpt2`` files on the Hub: no prefix, no head, mask buffers."""
    block = SMALL["block"]
    for key, value in reference.transformer.state_dict().items():
        yield key, value
        if key.endswith(".ln_1.weight"):
            yield key.replace(".ln_1.weight", ".attn.bias"), torch.ones(1, 1, block, block)


def test_model_pretrained_takes_a_hub_gpt2_file(
    module: ModuleType, pretrained: ModuleType, tmp_path: Path
) -> None:
    """``model.pretrained`` loads a GPT-2 file through ``adapt_pretrained``: same logits."""
    ours, reference = _small_pair(module)
    path = tmp_path / "pytorch_model.bin"
    torch.save(dict(_hub_layout(reference)), path)
    report = pretrained.load_pretrained(ours, str(path))
    assert report.loaded == report.total
    assert any("Hugging Face GPT-2" in note for note in report.notes)
    tokens = _tokens()
    with torch.no_grad():
        logits = ours(tokens)
    torch.testing.assert_close(logits, _hf_logits(reference, tokens), atol=1e-5, rtol=1e-5)


def test_unknown_hf_keys_are_named(module: ModuleType) -> None:
    with pytest.raises(KeyError, match="h.0.attn.q_attn.weight"):
        module.from_hf_gpt2_state_dict(
            {"h.0.attn.c_attn.weight": torch.zeros(4, 12), "h.0.attn.q_attn.weight": torch.zeros(1)}
        )


# Behaviour ----------------------------------------------------------------------------------


def test_forward_shape_causality_and_context_limit(module: ModuleType) -> None:
    ours, _ = _small_pair(module)
    tokens = _tokens()
    with torch.no_grad():
        logits = ours(tokens)
        prefix = ours(tokens[:, :5])
    assert logits.shape == (3, SMALL["block"], SMALL["vocab"])
    torch.testing.assert_close(prefix, logits[:, :5], atol=1e-5, rtol=1e-5)
    too_long = torch.zeros(1, SMALL["block"] + 1, dtype=torch.long)
    with pytest.raises(ValueError, match=f"exceeds block_size={SMALL['block']}"):
        ours(too_long)


def test_residual_projections_use_the_scaled_init(module: ModuleType) -> None:
    torch.manual_seed(0)
    depth = 8
    model = _build(
        module, vocab_size=100, block_size=64, hidden_dim=256, num_layers=depth, num_heads=8
    )
    scaled = 0.02 / (2 * depth) ** 0.5
    for name, parameter in model.named_parameters():
        if name.endswith(("attn.proj.weight", "mlp.c_proj.weight")):
            assert parameter.std().item() == pytest.approx(scaled, rel=0.05), name
        elif name.endswith("bias") and "ln_" not in name:
            assert torch.count_nonzero(parameter) == 0, name
        elif parameter.ndim == 2:
            assert parameter.std().item() == pytest.approx(0.02, rel=0.05), name


def test_invalid_config_lists_every_problem(module: ModuleType) -> None:
    with pytest.raises(ValueError, match="must divide hidden_dim") as info:
        _build(module, vocab_size=10, hidden_dim=100, num_heads=3, dropout=1.5)
    assert "dropout" in str(info.value)
    with pytest.raises(TypeError):
        _build(module, vocab_size=10, n_embd=768)
