"""Unit tests of the offline analyzer's parts: normalizer, lexicon, readers, assembly."""

from __future__ import annotations

import pytest

from dlgen import catalog
from dlgen.agent import analyze_detailed
from dlgen.agent.offline import analyze_offline
from dlgen.agent.offline.intents import intent_readers
from dlgen.agent.offline.lexicon import edit_distance, lexicon
from dlgen.agent.offline.normalize import chinese_numeral_value, detect_language, normalize
from dlgen.agent.offline.numbers import NUMBER_READERS
from dlgen.agent.offline.options import OPTION_READERS
from dlgen.agent.offline.readers import UNSET, read_all
from dlgen.errors import RequestNotUnderstood, UsageError


@pytest.mark.parametrize(
    ("numeral", "value"),
    [("十", 10), ("十二", 12), ("二十四", 24), ("一百二十八", 128), ("两百", 200),
     ("一百零八", 108), ("两千", 2000), ("一千零二十四", 1024), ("三万五千", 35000),
     ("二零二四", 2024), ("两", 2)],
)  # fmt: skip
def test_chinese_numerals(numeral: str, value: int) -> None:
    assert chinese_numeral_value(numeral) == value


def test_normalize_folds_width_case_and_numerals() -> None:
    assert normalize("ＲｅｓＮｅｔ－５０，批大小６４。") == "resnet-50,批大小64."
    assert normalize("训练二百个Epoch，两层") == "训练200个epoch,2层"
    assert normalize("  a \t b\n") == "a b"


@pytest.mark.parametrize(
    ("text", "language"),
    [("实现ViT用于ImageNet", "zh"), ("ResNet-50 on CIFAR-10 数据集", "zh"),
     ("Train a ViT on ImageNet", "en"),
     ("train resnet on cifar10 with the 达西 flow dataset quickly and with amp please", "en")],
)  # fmt: skip
def test_language_by_cjk_share(text: str, language: str) -> None:
    assert detect_language(text) == language


def _terms(text: str) -> list[tuple[str, str, str | None]]:
    return [(m.term.kind, m.term.key, m.term.variant) for m in lexicon().scan(normalize(text))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ResNet-50 on CIFAR-10", [("variant", "resnet", "resnet50"), ("dataset", "cifar10", None)]),  # noqa: E501
        ("resnet 50", [("variant", "resnet", "resnet50")]),
        ("实现ViT用于ImageNet", [("family", "vit", None), ("dataset", "imagenet", None)]),
        ("二维傅里叶神经算子", [("family", "fno", None)]),
        ("双向LSTM", [("variant", "rnn", "bilstm")]),
        ("two LSTMs", [("variant", "rnn", "lstm")]),
        ("better results", []),  # "ett" is not matched inside a word
        ("cosine schedule", []),  # nor "sine"
        ("Swin Transformer", [("unsupported", "swin", None)]),
        ("DeepLabV3+", [("family", "deeplabv3plus", None)]),
    ],
)  # fmt: skip
def test_lexicon_exact_matches(text: str, expected: list[tuple[str, str, str | None]]) -> None:
    assert _terms(text) == expected


@pytest.mark.parametrize(
    ("typo", "kind", "key"),
    [("transfromer", "family", "transformer"), ("Visoin Transformer", "family", "vit"),
     ("resnte-50", "variant", "resnet"), ("imagnet", "dataset", "imagenet"),
     ("minst", "dataset", "mnist"), ("Fourier nueral operator", "family", "fno")],
)  # fmt: skip
def test_lexicon_fuzzy_matches(typo: str, kind: str, key: str) -> None:
    [match] = lexicon().scan(normalize(typo))
    assert (match.term.kind, match.term.key, match.fuzzy) == (kind, key, True)


@pytest.mark.parametrize("text", ["context length", "a convolutional network", "asdkjh qwe"])
def test_lexicon_ignores_ordinary_words(text: str) -> None:
    assert all(m.term.kind != "unsupported" and not m.fuzzy for m in lexicon().scan(text))


def test_edit_distance_counts_transpositions_once() -> None:
    assert edit_distance("resnte", "resnet") == 1
    assert edit_distance("context", "convnext") == 2
    assert edit_distance("", "abc") == 3


def test_every_family_alias_is_recognised() -> None:
    for family in catalog.all_families():
        for alias in family.names.aliases:
            keys = {m.term.key for m in lexicon().scan(normalize(alias))}
            assert keys == {family.key}, f"{alias!r} -> {keys}"


def _numbers(text: str) -> dict[str, object]:
    return {r.slot: r.value for r in read_all(normalize(text), NUMBER_READERS)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("batch size 128", {"batch_size": 128}),
        ("批大小64", {"batch_size": 64}),
        ("bs=32", {"batch_size": 32}),
        ("训练200个epoch", {"epochs": 200}),
        ("200 epochs", {"epochs": 200}),
        ("学习率3e-4", {"lr": 3e-4}),
        ("lr 0.001", {"lr": 0.001}),
        ("十二个模态", {"modes": 12}),
        ("12 Fourier modes", {"modes": 12}),
        ("两层", {"layers": 2}),
        ("2 layers", {"layers": 2}),
        ("12-layer", {"layers": 12}),
        ("隐藏层256", {"hidden": 256}),
        ("hidden 512", {"hidden": 512}),
        ("256-128-64", {"hidden_list": [256, 128, 64]}),
        ("dropout 0.3", {"dropout": 0.3}),
        ("输入序列长度96", {"seq_len": 96}),
        ("预测未来24步", {"horizon": 24}),
        ("特征数7", {"features": 7}),
        ("patch 32", {"patch_size": 32}),
        ("图像大小384", {"image_size": (384, 384)}),
        ("384x384", {"image_size": (384, 384)}),
        ("heads 8", {"heads": 8}),
        ("8个头", {"heads": 8}),
        ("3x3卷积", {"kernel_size": 3}),
        ("10分类", {"num_classes": 10}),
        ("二分类", {"num_classes": 2}),
        ("4卡", {"num_gpus": 4}),
        ("4 GPUs", {"num_gpus": 4}),
        ("梯度累积8步", {"grad_accum_steps": 8}),
        ("gradient accumulation 4", {"grad_accum_steps": 4}),
        ("2D", {"dims": 2}),
        ("二维", {"dims": 2}),
        ("T=1000", {"timesteps": 1000}),
        ("latent dim 16", {"latent": 16}),
        ("lr -0.1", {"lr": -0.1}),
        ("seed 0", {"seed": 0}),
        ("3 hidden layers of 128", {"layers_hidden": (3, 128)}),
    ],
)  # fmt: skip
def test_number_readers(text: str, expected: dict[str, object]) -> None:
    assert _numbers(text) == expected


def _options(text: str) -> dict[str, object]:
    return {r.slot: r.value for r in read_all(normalize(text), OPTION_READERS)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("混合精度", {"amp": True}),
        ("AMP", {"amp": True}),
        ("bf16", {"precision": "bf16"}),
        ("fp16", {"precision": "fp16"}),
        ("DDP", {"distributed": "ddp"}),
        ("多卡训练", {"distributed": "ddp"}),
        ("torchrun", {"distributed": "ddp"}),
        ("FSDP", {"distributed": "fsdp"}),
        ("fully sharded data parallel", {"distributed": "fsdp"}),
        ("用完全分片数据并行训练", {"distributed": "fsdp"}),
        ("EMA", {"ema": True}),
        ("余弦退火", {"scheduler": "cosine"}),
        ("cosine noise schedule", {"beta_schedule": "cosine"}),
        ("早停", {"early_stopping_patience": UNSET}),
        ("标签平滑", {"label_smoothing": UNSET}),
        ("mixup and cutmix", {"mixup_alpha": UNSET, "cutmix_alpha": UNSET}),
        ("torch.compile", {"compile": True}),
        ("梯度检查点", {"gradient_checkpointing": True}),
        ("AdamW", {"optimizer": "adamw"}),
        ("Adam", {"optimizer": "adam"}),
        ("SGD", {"optimizer": "sgd"}),
        ("RMSprop", {"unknown_optimizer": "rmsprop"}),
        ("leaky relu", {"activation": "leaky_relu"}),
        ("swish", {"activation": "silu"}),
        ("mish", {"unknown_activation": "mish"}),
    ],
)  # fmt: skip
def test_option_readers(text: str, expected: dict[str, object]) -> None:
    assert _options(text) == expected


@pytest.mark.parametrize(
    ("text", "task"),
    [("节点分类", "node_classification"), ("情感分类", "sequence_classification"),
     ("语义分割", "semantic_segmentation"), ("时间序列预测", "time_series_forecasting"),
     ("language model", "language_modeling"), ("机器翻译", "sequence_to_sequence"),
     ("solving PDEs", "operator_learning"), ("图像生成", "image_generation"),
     ("重建", "reconstruction"), ("回归", "tabular_regression")],
)  # fmt: skip
def test_intent_readers(text: str, task: str) -> None:
    [reading] = read_all(normalize(text), intent_readers())
    assert reading.value.tasks[0] == task


@pytest.mark.parametrize("task", catalog.all_tasks(), ids=lambda t: t.key)
def test_every_task_is_signalled_by_its_own_names(task: catalog.TaskEntry) -> None:
    for name in (task.names.en, task.names.zh):
        readings = read_all(normalize(name), intent_readers())
        assert readings and readings[0].value.tasks[0] == task.key, (name, readings)


def test_generic_words_rank_candidates_by_signal_order() -> None:
    [reading] = read_all(normalize("classify"), intent_readers())
    assert reading.value.tasks == (
        "image_classification", "sequence_classification", "tabular_classification",
        "node_classification",
    )  # fmt: skip
    [reading] = read_all(normalize("预测"), intent_readers())
    assert reading.value.tasks == ("time_series_forecasting", "tabular_regression")
    assert not reading.value.strong


def test_explicit_holds_only_literal_values() -> None:
    analysis = analyze_offline("FNO for Darcy flow, 12 modes, batch size 16")
    assert analysis.explicit["model.modes"] == 12
    assert analysis.explicit["training.batch_size"] == 16
    assert "model.width" not in analysis.explicit
    assert "training.lr" not in analysis.explicit
    assert analysis.backend == "offline"


def test_assumptions_follow_the_request_language() -> None:
    zh = analyze_offline("实现ViT用于ImageNet").spec
    assert any("未指定变体，默认使用 ViT-B/16" in a for a in zh.assumptions)
    en = analyze_offline("ViT on ImageNet").spec
    assert any(a.startswith("No variant given; using ViT-B/16") for a in en.assumptions)


def test_explicit_numbers_override_variant_and_dataset() -> None:
    spec = analyze_offline("ViT-B/16 on CIFAR-10 at 224, 6 layers").spec
    assert spec.dataset.input_shape == [3, 224, 224]
    assert spec.model.num_layers == 6
    assert spec.model.variant is None  # no longer the paper's ViT-B/16
    assert any("num_layers=6" in a for a in spec.assumptions)


def test_analysis_is_deterministic() -> None:
    request = "用UNet做宠物分割，混合精度，4卡DDP，梯度累积4步"
    first, second = analyze_offline(request), analyze_offline(request)
    assert first.spec == second.spec and first.explicit == second.explicit


def test_entry_point_uses_offline_backend() -> None:
    assert analyze_detailed("GCN on Cora").spec.model.family == "gnn"


def test_not_understood_reports_what_was_read() -> None:
    with pytest.raises(RequestNotUnderstood) as caught:
        analyze_offline("please use batch size 64")
    assert caught.value.understood == {"batch_size": "64"}
    assert caught.value.missing == ["architecture", "task", "dataset"]


def test_unsupported_names_the_closest_family() -> None:
    with pytest.raises(UsageError) as caught:
        analyze_offline("train a GAN on CIFAR-10")
    assert "(ddpm)" in str(caught.value)


def test_ignored_values_are_reported() -> None:
    spec = analyze_offline("ResNet-50 on CIFAR-10 with patch 16").spec
    assert any('"patch 16" does not apply to ResNet' in a for a in spec.assumptions)


def test_flag_defaults_are_assumptions() -> None:
    spec = analyze_offline("ResNet-18 on CIFAR-10 with early stopping").spec
    assert spec.training.early_stopping_patience == 10
    assert any("early_stopping_patience=10" in a for a in spec.assumptions)
