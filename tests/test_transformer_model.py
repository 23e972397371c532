"""The Transformer-encoder template: BERT as Hugging Face computes it, and the forecasters.

The model file comes from a rendered project, so it is exactly what a user gets. BERT
parameter counts are taken on the ``meta`` device, ours and Hugging Face's
``BertForSequenceClassification``; logits are compared at a tiny configuration with padded
batches. The forecasters (per-step tokens and PatchTST) are checked against the catalog's
formula and for the properties their design promises: channel independence of PatchTST and
the scale equivariance RevIN gives.
"""

from __future__ import annotations

import importlib
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from torch import nn

from dlgen import catalog
from dlgen.catalog.families.transformer import TransformerHParams
from dlgen.render import render
from dlgen.spec import Spec

transformers = pytest.importorskip("transformers")

FAMILY = catalog.family("transformer")
BERT_VARIANTS = ["bert_tiny", "bert_mini", "bert_small", "bert_medium", "bert_base"]
# BERT-base with BertConfig(num_labels=2): 30,522 tokens, 512 positions, 2 token types.
BERT_BASE_COUNT = 109_483_778


def _spec(variant: str, dataset: str, name: str, **data: Any) -> Spec:
    """A Spec of a catalog variant on a catalog dataset (its task, the family's training)."""
    entry = catalog.dataset(dataset)
    chosen = FAMILY.variant(variant)
    fields = {**entry.spec_fields(), **chosen.dataset_overrides, **data}
    return Spec.model_validate(
        {
            "name": name,
            "task": entry.task,
            "modality": fields["modality"],
            "dataset": fields,
            "model": {"family": "transformer", "variant": chosen.key, **chosen.hparams},
            "training": FAMILY.training_defaults,
        }
    )


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Render a BERT-Mini IMDB project's ``src/`` and put it on the import path."""
    root = tmp_path_factory.mktemp("rendered")
    spec = _spec("bert_mini", "imdb", f"rendered_transformer_{uuid.uuid4().hex[:8]}")
    prefix = f"src/{spec.name}/"
    for path, text in render(spec).items():
        if path.startswith(prefix):
            target = root / path.removeprefix("src/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    sys.path.insert(0, str(root))
    return spec.name


@pytest.fixture(scope="module")
def module(package: str) -> ModuleType:
    return importlib.import_module(f"{package}.models.transformer")


@pytest.fixture(scope="module")
def attention(package: str) -> ModuleType:
    return importlib.import_module(f"{package}.layers.attention")


def _build(module: ModuleType, **fields: Any) -> Any:
    """The rendered builder's model (typed ``Any``: its class lives in the rendered module)."""
    return module.build_transformer({"name": "transformer", **fields})


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _hf_bert(dim: int, depth: int, heads: int, **extra: Any) -> Any:
    config = transformers.BertConfig(
        hidden_size=dim,
        num_hidden_layers=depth,
        num_attention_heads=heads,
        intermediate_size=4 * dim,
        **extra,
    )
    return transformers.BertForSequenceClassification(config)


# Parameter counts ----------------------------------------------------------------------


@pytest.mark.parametrize("key", BERT_VARIANTS)
def test_bert_counts_equal_hf_catalog_and_estimate(module: ModuleType, key: str) -> None:
    variant = FAMILY.variant(key)
    spec = _spec(key, "imdb", "count")
    assert spec.dataset.vocab_size == 30_522 and spec.dataset.num_classes == 2
    hparams = spec.model.model_dump(exclude={"family"})
    with torch.device("meta"):
        ours = _count(_build(module, vocab_size=30_522, num_classes=2, **hparams))
        reference = _count(
            _hf_bert(hparams["hidden_dim"], hparams["num_layers"], hparams["num_heads"])
        )
    assert ours == reference == variant.reference_params == spec.estimated_parameters()
    if key == "bert_base":
        assert ours == BERT_BASE_COUNT


@pytest.mark.parametrize(
    "change",
    [
        {"norm_first": True},
        {"pooler": False, "pool": "mean"},
        {"type_vocab_size": 0, "mlp_ratio": 2.0},
        {"max_len": 128},
    ],
    ids=["pre-norm", "no-pooler-mean", "no-types-mlp2", "max-len-128"],
)
def test_text_estimate_is_exact_beyond_the_variants(
    module: ModuleType, change: dict[str, Any]
) -> None:
    spec = _spec("bert_mini", "sst2", "count")
    hparams = spec.model.model_copy(update=change)
    fields = hparams.model_dump(exclude={"family"})
    with torch.device("meta"):
        ours = _count(_build(module, vocab_size=30_522, num_classes=2, **fields))
    assert ours == hparams.estimate_parameters(spec.dataset)


def _forecaster_fields(spec: Spec) -> dict[str, Any]:
    text_only = {"family", "max_len", "type_vocab_size", "pool", "pooler"}
    horizon, features = spec.dataset.output_shape or (0, 0)
    return {
        "kind": "forecaster",
        "input_dim": features,
        "input_length": spec.dataset.input_shape[0],
        "horizon": horizon,
        **spec.model.model_dump(exclude=text_only),
    }


@pytest.mark.parametrize(
    ("variant", "change"),
    [
        ("forecaster", {}),
        ("forecaster", {"revin": False, "norm_first": True}),
        ("patchtst", {}),
        ("patchtst", {"patch_len": 12, "stride": 12, "revin": False}),
        ("patchtst", {"norm": "layer", "norm_first": True}),
    ],
    ids=["per-step", "per-step-prenorm", "patchtst", "patchtst-12-12", "patchtst-prenorm"],
)
def test_series_estimate_equals_the_built_model(
    module: ModuleType, variant: str, change: dict[str, Any]
) -> None:
    spec = _spec(variant, "ett", "count", input_shape=[336, 7], output_shape=[96, 7])
    spec = spec.model_copy(update={"model": spec.model.model_copy(update=change)})
    with torch.device("meta"):
        model = _build(module, **_forecaster_fields(spec))
    assert _count(model) == spec.estimated_parameters()


def test_patchtst_token_count_follows_the_paper(module: ModuleType) -> None:
    """L=336, patch 16, stride 8 and the end padding give PatchTST/42's 42 patches."""
    spec = _spec("patchtst", "ett", "count", input_shape=[336, 7], output_shape=[96, 7])
    assert isinstance(spec.model, TransformerHParams)
    assert spec.model.num_tokens(spec.dataset) == 42
    model = _build(module, **_forecaster_fields(spec))
    assert model.position.shape == (1, 42, 128)
    patches = model.patches(torch.arange(336.0).repeat(7, 1).t()[None])  # (7, 42, 16)
    assert patches.shape == (7, 42, 16)
    assert patches[0, 1, 0] == 8 and patches[0, -1, -1] == 335  # the last step repeated


# Equivalence with Hugging Face ----------------------------------------------------------

SMALL = {"dim": 32, "depth": 2, "heads": 4, "vocab": 99, "positions": 16, "labels": 3}


def _small_pair(module: ModuleType) -> tuple[Any, Any]:
    torch.manual_seed(0)
    reference = _hf_bert(
        SMALL["dim"],
        SMALL["depth"],
        SMALL["heads"],
        vocab_size=SMALL["vocab"],
        max_position_embeddings=SMALL["positions"],
        num_labels=SMALL["labels"],
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    ).eval()
    ours = _build(
        module,
        vocab_size=SMALL["vocab"],
        num_classes=SMALL["labels"],
        max_len=SMALL["positions"],
        hidden_dim=SMALL["dim"],
        num_layers=SMALL["depth"],
        num_heads=SMALL["heads"],
        dropout=0.0,
    ).eval()
    ours.load_state_dict(module.from_hf_bert_state_dict(reference.state_dict()))
    return ours, reference


def _padded_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids ``(4, 16)`` padded with 0 after 16, 11, 5 and 1 real tokens."""
    generator = torch.Generator().manual_seed(1)
    tokens = torch.randint(1, SMALL["vocab"], (4, SMALL["positions"]), generator=generator)
    lengths = torch.tensor([16, 11, 5, 1])
    tokens[torch.arange(SMALL["positions"])[None, :] >= lengths[:, None]] = 0
    return tokens, lengths


def test_hf_state_dict_gives_identical_logits_on_padded_batches(module: ModuleType) -> None:
    ours, reference = _small_pair(module)
    tokens, lengths = _padded_batch()
    with torch.no_grad():
        expected = reference(tokens, attention_mask=(tokens != 0).long()).logits
        from_lengths = ours(tokens, lengths)
        from_pad_id = ours(tokens)
    assert expected.shape == (4, SMALL["labels"])
    torch.testing.assert_close(from_lengths, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(from_pad_id, expected, atol=1e-5, rtol=1e-5)


def test_token_types_match_hf(module: ModuleType) -> None:
    ours, reference = _small_pair(module)
    tokens, lengths = _padded_batch()
    types = (torch.arange(SMALL["positions"]) >= 4).long().expand(4, -1)
    with torch.no_grad():
        expected = reference(tokens, attention_mask=(tokens != 0).long(), token_type_ids=types)
        logits = ours(tokens, lengths, token_type_ids=types)
    torch.testing.assert_close(logits, expected.logits, atol=1e-5, rtol=1e-5)


def test_padded_positions_do_not_change_the_logits(module: ModuleType) -> None:
    """Masked keys get no attention: what sits in the padding is irrelevant."""
    ours, _ = _small_pair(module)
    tokens, lengths = _padded_batch()
    garbage = tokens.clone()
    pad = torch.arange(SMALL["positions"])[None, :] >= lengths[:, None]
    garbage[pad] = 7
    with torch.no_grad():
        clean, noisy = ours(tokens, lengths), ours(garbage, lengths)
        trimmed = ours(tokens[1:2, :11], lengths[1:2])
        mean_model = _build(
            module, vocab_size=SMALL["vocab"], num_classes=2, max_len=16, hidden_dim=32,
            num_layers=1, num_heads=4, dropout=0.0, pool="mean",
        ).eval()  # fmt: skip
        mean_clean, mean_noisy = mean_model(tokens, lengths), mean_model(garbage, lengths)
    torch.testing.assert_close(clean, noisy, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(trimmed, clean[1:2], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(mean_clean, mean_noisy, atol=1e-6, rtol=1e-6)
    assert not torch.allclose(ours(garbage), clean)  # without lengths, 7 is a real token


def _pretraining_layout(reference: Any) -> dict[str, torch.Tensor]:
    """``bert-base-uncased``'s file layout: ``bert.*``, TF-era gamma/beta, MLM heads."""
    tensors = {}
    for key, value in reference.bert.state_dict().items():
        key = key.replace("LayerNorm.weight", "LayerNorm.gamma")
        tensors[f"bert.{key.replace('LayerNorm.bias', 'LayerNorm.beta')}"] = value
    tensors["bert.embeddings.position_ids"] = torch.arange(SMALL["positions"])[None]
    tensors["cls.predictions.bias"] = torch.zeros(SMALL["vocab"])
    tensors["cls.seq_relationship.weight"] = torch.zeros(2, SMALL["dim"])
    return tensors


def test_model_pretrained_takes_a_hub_bert_file(
    module: ModuleType, package: str, tmp_path: Path
) -> None:
    """``model.pretrained`` loads a BERT pretraining file; the classifier starts fresh."""
    pretrained = importlib.import_module(f"{package}.utils.pretrained")
    ours, reference = _small_pair(module)
    fresh = _build(
        module,
        vocab_size=SMALL["vocab"],
        num_classes=SMALL["labels"],
        max_len=SMALL["positions"],
        hidden_dim=SMALL["dim"],
        num_layers=SMALL["depth"],
        num_heads=SMALL["heads"],
        dropout=0.0,
    ).eval()
    path = tmp_path / "pytorch_model.bin"
    torch.save(_pretraining_layout(reference), path)
    report = pretrained.load_pretrained(fresh, str(path))
    assert any("Hugging Face BERT" in note for note in report.notes)
    assert sorted(report.head_missing) == ["classifier.bias", "classifier.weight"]
    tokens, lengths = _padded_batch()
    with torch.no_grad():
        torch.testing.assert_close(
            fresh.forward_features(tokens, lengths)[0],
            ours.forward_features(tokens, lengths)[0],
            atol=1e-5,
            rtol=1e-5,
        )


def test_unknown_hf_keys_and_missing_parts_are_named(module: ModuleType) -> None:
    with pytest.raises(KeyError, match="bert.encoder.layer.0.crossattention"):
        module.from_hf_bert_state_dict(
            {"bert.encoder.layer.0.crossattention.self.query.weight": torch.zeros(1)}
        )
    with pytest.raises(KeyError, match="lacks attention.self.value.weight"):
        module.from_hf_bert_state_dict(
            {
                "bert.encoder.layer.0.attention.self.query.weight": torch.zeros(2, 2),
                "bert.encoder.layer.0.attention.self.key.weight": torch.zeros(2, 2),
            }
        )


def test_shared_attention_mask_equals_attending_to_the_prefix(attention: ModuleType) -> None:
    torch.manual_seed(0)
    layer = attention.Attention(16, 4).eval()
    x = torch.randn(2, 6, 16)
    mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    with torch.no_grad():
        masked = layer(x, mask[:, None, None, :])
        prefix = layer(x[1:, :4])
        full = layer(x[:1])
    torch.testing.assert_close(masked[1:, :4], prefix, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(masked[:1], full, atol=1e-6, rtol=1e-6)
    with pytest.raises(ValueError, match="is_causal"):
        attention.Attention(16, 4, is_causal=True)(x, mask[:, None, None, :])


# Forecasters ------------------------------------------------------------------------------

SERIES = {"input_dim": 3, "input_length": 32, "horizon": 5}


def _forecaster(module: ModuleType, **fields: Any) -> Any:
    torch.manual_seed(0)
    base = {"kind": "forecaster", "hidden_dim": 16, "num_layers": 2, "num_heads": 2}
    return _build(module, **{**base, **SERIES, "dropout": 0.0, **fields}).eval()


@pytest.mark.parametrize(
    "fields",
    [{}, {"revin": True}, {"patch_len": 8, "stride": 4, "revin": True, "norm": "batch"}],
    ids=["per-step", "per-step-revin", "patchtst"],
)
def test_forecaster_shapes_and_gradients(module: ModuleType, fields: dict[str, Any]) -> None:
    model = _forecaster(module, **fields).train()
    x = torch.randn(4, SERIES["input_length"], SERIES["input_dim"])
    y = model(x)
    assert y.shape == (4, SERIES["horizon"], SERIES["input_dim"])
    y.square().mean().backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_patchtst_is_channel_independent(module: ModuleType) -> None:
    """Changing variable 1's past changes only variable 1's forecast (shared weights)."""
    model = _forecaster(module, patch_len=8, stride=4, revin=True)
    x = torch.randn(2, SERIES["input_length"], SERIES["input_dim"])
    changed = x.clone()
    changed[:, :, 1] += torch.randn(2, SERIES["input_length"])
    with torch.no_grad():
        before, after = model(x), model(changed)
    torch.testing.assert_close(before[:, :, [0, 2]], after[:, :, [0, 2]])
    assert not torch.allclose(before[:, :, 1], after[:, :, 1])
    per_step = _forecaster(module)
    with torch.no_grad():
        assert not torch.allclose(per_step(x)[:, :, 0], per_step(changed)[:, :, 0])


@pytest.mark.parametrize("patch_len", [None, 8])
def test_revin_makes_forecasts_follow_the_window_scale(
    module: ModuleType, patch_len: int | None
) -> None:
    """With RevIN, ``f(a x + b) = a f(x) + b`` per variable (Kim et al., 2022)."""
    model = _forecaster(module, patch_len=patch_len, stride=4, revin=True)
    with torch.no_grad():
        model.revin.weight.uniform_(0.5, 1.5)
        model.revin.bias.uniform_(-0.5, 0.5)
    x = torch.randn(2, SERIES["input_length"], SERIES["input_dim"])
    scale, shift = torch.tensor([3.0, 0.5, 2.0]), torch.tensor([10.0, -4.0, 0.0])
    with torch.no_grad():
        torch.testing.assert_close(
            model(x * scale + shift), model(x) * scale + shift, atol=1e-4, rtol=1e-4
        )


def test_forecaster_errors_say_what_is_accepted(module: ModuleType) -> None:
    with pytest.raises(ValueError, match=r"patch_len must be in \[1, input_length=32\]"):
        _forecaster(module, patch_len=48)
    with pytest.raises(ValueError, match="stride=8 exceeds patch_len=4"):
        _forecaster(module, patch_len=4, stride=8)
    with pytest.raises(ValueError, match="norm='batch' is for post-norm"):
        _forecaster(module, norm="batch", norm_first=True)
    model = _forecaster(module)
    with pytest.raises(ValueError, match=r"expected windows shaped \(B, 32, 3\)"):
        model(torch.randn(2, 16, 3))
    spec = _spec("patchtst", "ett", "count")
    short = spec.model.model_copy(update={"patch_len": 128, "stride": 8})
    assert any("longer than the input window" in p for p in short.check_dataset(spec.dataset))


def test_classifier_errors_say_what_is_accepted(module: ModuleType) -> None:
    model = _build(module, vocab_size=50, num_classes=2, max_len=8, hidden_dim=16, num_heads=2)
    with pytest.raises(ValueError, match="exceeds max_len=8"):
        model(torch.ones(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="must lie in"):
        model(torch.full((1, 4), 50))
    with pytest.raises(ValueError, match="integer tensor"):
        model(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="apply to kind='forecaster' only"):
        _build(module, vocab_size=50, num_classes=2, patch_len=4)


def test_grad_checkpointing_gives_the_same_gradients(module: ModuleType) -> None:
    ours, _ = _small_pair(module)
    ours.train()
    tokens, lengths = _padded_batch()
    gradients = []
    for enable in (False, True):
        ours.zero_grad()
        ours.set_grad_checkpointing(enable)
        ours(tokens, lengths).sum().backward()
        gradients.append([p.grad.clone() for p in ours.parameters() if p.grad is not None])
    for plain, checkpointed in zip(*gradients, strict=True):
        torch.testing.assert_close(plain, checkpointed)
