"""The peft family: LoRA / prompt tuning of pretrained Hugging Face classifiers, offline.

Nothing here touches the hub: the base models are built from explicit ``transformers``
config classes (the catalog's sizes on the ``meta`` device for the parameter counts, a
tiny ``BertConfig`` for training), and the project's code comes from a rendered project,
so what is tested is what a user gets.
"""

from __future__ import annotations

import importlib
import logging
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from dlgen import catalog
from dlgen.catalog.families.peft import BACKBONES
from dlgen.render import render
from dlgen.validators import validate
from dlgen.validators.checks import extras
from dlgen.validators.project import tomllib
from tests.factories import variant_spec

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("peft")

FAMILY = catalog.family("peft")
TINY_BERT = {
    "vocab_size": 64,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 32,
    "type_vocab_size": 2,
    "pad_token_id": 0,
}


def _spec(variant: str = "roberta_base", **hparams: Any) -> Any:
    spec = variant_spec(FAMILY, FAMILY.variant(variant), catalog.dataset("imdb"), FAMILY.tasks[0])
    if hparams:
        data = spec.to_dict()
        data["model"].update(hparams)
        spec = type(spec).from_dict(data)
    return spec


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A rendered LoRA RoBERTa-base project: its root and package name."""
    root = tmp_path_factory.mktemp("peft_project")
    data = _spec().to_dict()
    data["name"] = f"peft_{uuid.uuid4().hex[:8]}"
    spec = type(_spec()).from_dict(data)
    for path, text in render(spec).items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root, spec.name


@pytest.fixture(scope="module")
def module(project: tuple[Path, str]) -> ModuleType:
    """The rendered project's ``models/peft.py``."""
    root, package = project
    sys.path.insert(0, str(root / "src"))
    return importlib.import_module(f"{package}.models.peft")


def _tiny(module: ModuleType, **fields: Any) -> Any:
    cfg = {
        "name": "peft",
        "backbone": "bert_base",
        "hub_name": "bert-base-uncased",
        "pretrained_source": "config",
        "model_type": "bert",
        "architecture": TINY_BERT,
        "num_labels": 2,
        "head_modules": ["classifier"],
        "method": "lora",
        "lora_r": 4,
        "lora_alpha": 8,
        "lora_dropout": 0.0,
        "target_modules": ["query", "value"],
        **fields,
    }
    return module.build_peft(cfg)


def _batch(seed: int = 0) -> tuple[Any, Any, Any]:
    generator = torch.Generator().manual_seed(seed)
    tokens = torch.randint(1, TINY_BERT["vocab_size"], (8, 12), generator=generator)
    lengths = torch.tensor([12, 12, 10, 9, 7, 12, 5, 11])
    labels = torch.randint(0, 2, (8,), generator=generator)
    return tokens, lengths, labels


# Parameter counts ------------------------------------------------------------------------

_CLASSES = {
    "roberta": ("RobertaConfig", "RobertaForSequenceClassification"),
    "bert": ("BertConfig", "BertForSequenceClassification"),
    "distilbert": ("DistilBertConfig", "DistilBertForSequenceClassification"),
    "gpt2": ("GPT2Config", "GPT2ForSequenceClassification"),
}


@pytest.mark.parametrize("variant", FAMILY.variants, ids=lambda v: v.key)
def test_reference_counts_equal_transformers_models_built_on_meta(variant: Any) -> None:
    backbone = BACKBONES[variant.key]
    config_name, model_name = _CLASSES[backbone.model_type]
    assert config_name == backbone.config_class
    config = getattr(transformers, config_name)(**backbone.config, num_labels=2)
    with torch.device("meta"):
        model = getattr(transformers, model_name)(config)
    count = sum(p.numel() for p in model.parameters())
    assert count == variant.reference_params == _spec(variant.key).estimated_parameters()


def test_project_builds_the_catalog_architecture_on_meta(module: ModuleType) -> None:
    """The rendered model config's RoBERTa-base, wrapped by LoRA, on the meta device."""
    cfg = {"name": "peft", "model_type": "roberta", "num_labels": 2}
    cfg["architecture"] = BACKBONES["roberta_base"].config
    cfg["target_modules"] = ["query", "value"]
    with torch.device("meta"):
        model = module.build_peft(cfg)
    lora = sum(p.numel() for n, p in model.named_parameters() if "lora_" in n)
    head = sum(p.numel() for n, p in model.named_parameters() if "modules_to_save" in n)
    copies = sum(p.numel() for n, p in model.named_parameters() if "original_module" in n)
    total = sum(p.numel() for p in model.parameters())
    # r (d_in + d_out) per adapted projection: query and value in 12 layers.
    assert lora == 12 * 2 * 8 * (768 + 768)
    assert head == copies == 768 * 768 + 768 + 768 * 2 + 2
    assert total - lora - head == 124_647_170


@pytest.mark.parametrize(
    ("backbone", "method"),
    [("roberta_base", "lora"), ("bert_base", "lora"), ("distilbert_base", "lora"),
     ("gpt2", "lora"), ("roberta_base", "prompt_tuning")],
)  # fmt: skip
def test_trainable_estimate_equals_the_adapted_model(
    module: ModuleType, backbone: str, method: str
) -> None:
    """The README's trainable count is what peft leaves trainable (built on meta)."""
    base = BACKBONES[backbone]
    spec = _spec(backbone, method=method)
    cfg = {"name": "peft", "model_type": base.model_type, "num_labels": 2, "method": method}
    cfg.update(architecture=base.config, head_modules=list(base.head_modules))
    cfg["target_modules"] = list(base.target_modules)
    with torch.device("meta"):
        model = module.build_peft(cfg)
    trained = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trained == spec.model.estimate_trainable_parameters(spec.dataset)
    if (backbone, method) == ("roberta_base", "lora"):
        assert trained == 887_042  # 294,912 adapter + 592,130 head parameters


# LoRA training ---------------------------------------------------------------------------


def test_lora_trains_only_adapters_and_head_and_merges_exactly(module: ModuleType) -> None:
    torch.manual_seed(0)
    model = _tiny(module)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n or "modules_to_save" in n for n in trainable)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    tokens, lengths, labels = _batch()
    for _ in range(5):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(tokens, lengths), labels)
        loss.backward()
        optimizer.step()
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    adapted = {k for k in before if "lora_" in k or "modules_to_save" in k}
    assert changed == adapted  # every LoRA matrix and the head moved (A after B left zero)
    for key in set(before) - adapted:  # base weights (and the head's frozen original)
        assert torch.equal(before[key], after[key]), key

    model.eval()
    merged = model.merged()
    names = [n for n, _ in merged.named_modules()]
    assert not any("lora" in n for n in names)
    assert isinstance(merged.network, transformers.BertForSequenceClassification)
    with torch.no_grad():
        adapted_logits = model(tokens, lengths)
        merged_logits = merged(tokens, lengths)
    torch.testing.assert_close(merged_logits, adapted_logits, atol=1e-5, rtol=0)
    # The merged model exports (the project's export.py merges before torch.export).
    program = torch.export.export(merged, (tokens, lengths))
    with torch.no_grad():
        exported = program.module()(tokens, lengths)
    torch.testing.assert_close(exported, adapted_logits, atol=1e-5, rtol=0)


def test_padding_does_not_change_the_logits(module: ModuleType) -> None:
    torch.manual_seed(0)
    model = _tiny(module, init_lora_weights=False).eval()
    tokens, lengths, _ = _batch()
    garbage = tokens.clone()
    garbage[torch.arange(12)[None, :] >= lengths[:, None]] = 7
    with torch.no_grad():
        torch.testing.assert_close(model(garbage, lengths), model(tokens, lengths))


@pytest.mark.parametrize("method", ["prompt_tuning", "p_tuning"])
def test_prompt_methods_train_the_prompt_and_the_head(module: ModuleType, method: str) -> None:
    model = _tiny(module, method=method, num_virtual_tokens=4)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert any("prompt_encoder" in n for n in trainable)
    assert all("prompt_encoder" in n or "modules_to_save" in n for n in trainable)
    tokens, lengths, labels = _batch()
    logits = model(tokens, lengths)
    assert logits.shape == (8, 2)
    torch.nn.functional.cross_entropy(logits, labels).backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


# Offline behaviour -----------------------------------------------------------------------


def test_missing_pretrained_weights_fall_back_with_a_warning(
    module: ModuleType, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(module, "hub_reachable", lambda timeout=0.0: False)
    with caplog.at_level(logging.WARNING):
        model = _tiny(module, pretrained_source="hub", hub_name="no-such-org/no-such-model")
    assert model.weights == "random"
    assert "pretrained weights were not found" in caplog.text
    assert "RANDOM weights" in caplog.text and "allow_random_init" in caplog.text


def test_real_data_needs_the_pretrained_tokenizer_unless_allowed(
    project: tuple[Path, str], module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokenizer = importlib.import_module(f"{project[1]}.data.tokenizer")
    monkeypatch.setattr(tokenizer, "hub_reachable", lambda timeout=0.0: False)
    texts = ["a good film", "a bad film", "not good at all"] * 4
    name = "no-such-org/no-such-model"
    with pytest.raises(tokenizer.PretrainedTokenizerError, match="allow_random_init=true"):
        tokenizer.load_pretrained_tokenizer(name, texts, 64, 16, "bert", allow_local=False)
    local = tokenizer.load_pretrained_tokenizer(name, texts, 64, 16, "bert", allow_local=True)
    ids = local.encode("a good film")
    assert ids[0] == 2 and ids[-1] == 3 and local.pad_id == 0  # [CLS] ... [SEP], [PAD] = 0
    assert len(local.encode(" ".join(texts))) == 16
    roberta = tokenizer.train_local_tokenizer(texts, 64, "roberta")
    assert roberta.pad_token_id == BACKBONES["roberta_base"].config["pad_token_id"]


# Validation of a project whose extra is missing ------------------------------------------


def test_missing_extra_is_a_clear_validation_error(
    project: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        extras.importlib.util,
        "find_spec",
        lambda name, *args: None if name == "peft" else real(name, *args),
    )
    report = validate(project[0], checks=["extras"])
    [result] = report.checks
    assert result.status == "failed"
    [finding] = result.findings
    assert finding.code == "DLG701" and finding.file == "pyproject.toml"
    assert "peft" in finding.message and 'pip install "dlgen[hf]"' in finding.hint


def test_installed_extras_pass_and_match_dlgens_pyproject(project: tuple[Path, str]) -> None:
    report = validate(project[0], checks=["extras"])
    assert report.checks[0].status == "passed"
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    declared = pyproject["project"]["optional-dependencies"]
    for extra, packages in extras.EXTRAS.items():
        assert {extras.requirement_name(r) for r in declared[extra]} == set(packages)
