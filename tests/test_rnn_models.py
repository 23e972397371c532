"""RNN/LSTM/GRU model template: shapes, packing, state carrying, validation, estimates.

The model and layer files are imported from a rendered project (exactly what a user gets).
Every configuration is tiny; the same code paths as the real sizes.
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
from torch.utils.flop_counter import FlopCounterMode

from dlgen.render import render
from dlgen.spec import Spec

CELLS = ("rnn", "lstm", "gru")


def _spec(name: str) -> Spec:
    return Spec.model_validate(
        {
            "name": name,
            "task": "sequence_classification",
            "modality": "text",
            "dataset": {
                "name": "imdb",
                "modality": "text",
                "source": "synthetic",
                "input_shape": [16],
                "num_classes": 3,
                "vocab_size": 50,
            },
            "model": {"family": "rnn", "hidden_dim": 8, "num_layers": 2},
        }
    )


@pytest.fixture(scope="module")
def rnn(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """``<package>.models.rnn`` of a freshly rendered project."""
    root = tmp_path_factory.mktemp("rendered_rnn")
    spec = _spec(f"rnn_models_{uuid.uuid4().hex[:8]}")
    for path, text in render(spec).items():
        if path.startswith("src/"):
            target = root / path.removeprefix("src/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    sys.path.insert(0, str(root))
    return importlib.import_module(f"{spec.name}.models.rnn")


def _build(rnn: ModuleType, **fields: Any) -> torch.nn.Module:
    cfg = {"name": "rnn", "hidden_dim": 8, "num_layers": 2, "embedding_dim": 6, **fields}
    torch.manual_seed(0)
    return rnn.build_rnn(cfg)


def _classifier(rnn: ModuleType, **fields: Any) -> torch.nn.Module:
    return _build(rnn, **{"kind": "classifier", "vocab_size": 20, "num_classes": 3, **fields})


def _padded_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Four token sequences of lengths 7, 3, 5, 1, padded with junk after their end."""
    generator = torch.Generator().manual_seed(1)
    tokens = torch.randint(1, 20, (4, 7), generator=generator)
    return tokens, torch.tensor([7, 3, 5, 1])


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("head", ["last", "mean", "max"])
def test_classifier_forward_backward_on_packed_batches(
    rnn: ModuleType, cell: str, bidirectional: bool, head: str
) -> None:
    model = _classifier(rnn, cell=cell, bidirectional=bidirectional, head=head, dropout=0.1)
    tokens, lengths = _padded_batch()
    logits = model(tokens, lengths)
    assert logits.shape == (4, 3)
    logits.logsumexp(dim=1).sum().backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("head", ["last", "mean", "max"])
def test_padding_does_not_change_a_sample(rnn: ModuleType, cell: str, head: str) -> None:
    """A padded sample in a packed batch gives the same logits as the sample alone."""
    model = _classifier(rnn, cell=cell, bidirectional=True, head=head).eval()
    tokens, lengths = _padded_batch()
    batched = model(tokens, lengths)
    for row, length in enumerate(lengths.tolist()):
        alone = model(tokens[row : row + 1, :length])
        torch.testing.assert_close(batched[row], alone[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell", CELLS)
def test_last_state_is_last_forward_and_first_backward_output(rnn: ModuleType, cell: str) -> None:
    """For each sample: forward half at step length-1, backward half at step 0."""
    model = _classifier(rnn, cell=cell, bidirectional=True).eval()
    tokens, lengths = _padded_batch()
    steps = model.inputs(tokens)
    outputs, state = model.encoder(steps, lengths)
    last = model.encoder.last_hidden(state)
    hidden = model.encoder.hidden_size
    for row, length in enumerate(lengths.tolist()):
        torch.testing.assert_close(last[row, :hidden], outputs[row, length - 1, :hidden])
        torch.testing.assert_close(last[row, hidden:], outputs[row, 0, hidden:])
        assert outputs[row, length:].abs().sum() == 0  # padded steps are zero


def test_signal_classifier_reads_channels_first(rnn: ModuleType) -> None:
    """(B, C, L) signals are read as L steps of C features."""
    model = _build(
        rnn, kind="classifier", input_layout="channels_first", input_dim=12, num_classes=5
    ).eval()
    signals = torch.randn(2, 12, 30)
    logits = model(signals)
    assert logits.shape == (2, 5)
    _, state = model.encoder(signals.transpose(1, 2))  # (B, L, C)
    torch.testing.assert_close(logits, model.head(model.encoder.last_hidden(state)))


@pytest.mark.parametrize("mode", ["direct", "autoregressive"])
@pytest.mark.parametrize("cell", CELLS)
def test_forecaster_predicts_horizon_steps(rnn: ModuleType, mode: str, cell: str) -> None:
    model = _build(
        rnn,
        kind="forecaster",
        cell=cell,
        input_layout="features",
        input_dim=3,
        horizon=5,
        forecast_mode=mode,
    )
    window = torch.randn(4, 11, 3)
    forecast = model(window)
    assert forecast.shape == (4, 5, 3)
    forecast.pow(2).mean().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_autoregressive_forecast_feeds_predictions_back(rnn: ModuleType) -> None:
    """Step k of the roll-out equals one more encoder step on the window plus steps < k."""
    model = _build(
        rnn,
        kind="forecaster",
        input_layout="features",
        input_dim=2,
        horizon=3,
        forecast_mode="autoregressive",
    ).eval()
    window = torch.randn(1, 6, 2)
    forecast = model(window)
    extended = torch.cat([window, forecast[:, :2]], dim=1)  # (1, 8, 2)
    outputs, _ = model.encoder(extended)
    torch.testing.assert_close(model.head(outputs[:, -1]), forecast[:, 2], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell", CELLS)
def test_language_model_state_carry_matches_one_long_pass(rnn: ModuleType, cell: str) -> None:
    """Two windows with the carried state give the logits of one pass over both."""
    model = _build(rnn, kind="language_model", cell=cell, vocab_size=11, padding_idx=None).eval()
    tokens = torch.randint(0, 11, (2, 12), generator=torch.Generator().manual_seed(0))
    whole = model(tokens)
    assert whole.shape == (2, 12, 11)
    first, state = model.forward_with_state(tokens[:, :5])
    second, _ = model.forward_with_state(tokens[:, 5:], rnn.detach_state(state))
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole, rtol=1e-5, atol=1e-6)


def test_tied_language_model_shares_the_embedding(rnn: ModuleType) -> None:
    model = _build(
        rnn,
        kind="language_model",
        vocab_size=11,
        embedding_dim=8,
        tie_weights=True,
        padding_idx=None,
    )
    assert model.decoder.weight is model.inputs.embedding.weight
    untied = _build(rnn, kind="language_model", vocab_size=11, embedding_dim=8, padding_idx=None)
    counts = [sum(p.numel() for p in m.parameters()) for m in (model, untied)]
    assert counts[1] - counts[0] == 11 * 8


def test_generate_is_reproducible_and_extends_the_prompt(rnn: ModuleType) -> None:
    model = _build(rnn, kind="language_model", vocab_size=11, padding_idx=None).eval()
    prompt = torch.tensor([[1, 2, 3]])
    samples = [
        model.generate(prompt, 9, 0.8, 5, torch.Generator().manual_seed(3)) for _ in range(2)
    ]
    assert samples[0].shape == (1, 12)
    assert torch.equal(samples[0], samples[1])
    assert torch.equal(samples[0][:, :3], prompt)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "classifier", "vocab_size": 9, "num_classes": 2, "cell": "lstmx"}, "cell"),
        ({"kind": "language_model", "vocab_size": 9, "bidirectional": True}, "future"),
        ({"kind": "language_model", "vocab_size": 9, "tie_weights": True}, "embedding_dim"),
        ({"kind": "forecaster", "input_layout": "features", "input_dim": 2}, "horizon"),
        (
            {
                "kind": "forecaster",
                "input_layout": "features",
                "input_dim": 2,
                "horizon": 2,
                "bidirectional": True,
                "forecast_mode": "autoregressive",
            },
            "bidirectional",
        ),
        ({"kind": "classifier", "num_classes": 2}, "vocab_size"),
        ({"kind": "classifier", "vocab_size": 9, "num_classes": 2, "dropout": 1.5}, "dropout"),
    ],
)
def test_invalid_configs_are_rejected(
    rnn: ModuleType, fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _build(rnn, **fields)


@pytest.mark.parametrize(
    ("inputs", "lengths", "message"),
    [
        (torch.randint(1, 20, (2, 5, 1)), None, r"\(B, L\)"),
        (torch.randn(2, 5), None, "integer"),
        (torch.full((2, 5), 25), None, r"\[0, 20\)"),
        (torch.randint(1, 20, (2, 5)), torch.tensor([5, 6]), r"\[1, 5\]"),
        (torch.randint(1, 20, (2, 5)), torch.tensor([5, 0]), r"\[1, 5\]"),
        (torch.randint(1, 20, (2, 5)), torch.tensor([5]), r"lengths shaped \(2,\)"),
    ],
)
def test_bad_inputs_fail_with_clear_errors(
    rnn: ModuleType, inputs: torch.Tensor, lengths: torch.Tensor | None, message: str
) -> None:
    model = _classifier(rnn)
    with pytest.raises(ValueError, match=message):
        model(inputs, lengths)


def test_forecaster_rejects_wrong_feature_count(rnn: ModuleType) -> None:
    model = _build(rnn, kind="forecaster", input_layout="features", input_dim=3, horizon=2)
    with pytest.raises(ValueError, match=r"\(B, L, F\) with 3"):
        model(torch.randn(2, 8, 4))


def test_lstm_forget_gate_bias_starts_at_one(rnn: ModuleType) -> None:
    model = _classifier(rnn, cell="lstm")
    hidden = model.encoder.hidden_size
    bias = model.encoder.rnn.bias_ih_l0
    assert torch.all(bias[hidden : 2 * hidden] == 1) and torch.all(bias[:hidden] == 0)


@pytest.mark.parametrize("cell", ["rnn", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_flop_estimate_matches_torch_flop_counter(
    rnn: ModuleType, cell: str, bidirectional: bool
) -> None:
    """The catalog's FLOPs formula equals PyTorch's count (its counter skips fused LSTMs)."""
    spec = _spec("flops").model_copy(deep=True)
    spec.model.cell = cell
    spec.model.bidirectional = bidirectional
    model = _classifier(
        rnn, cell=cell, bidirectional=bidirectional, vocab_size=50, embedding_dim=128
    ).eval()
    model.encoder.rnn.flatten_parameters()
    tokens = torch.randint(1, 50, (1, 16))
    with FlopCounterMode(display=False) as counter:
        model(tokens)
    estimated = spec.model.estimate_flops(spec.dataset)
    assert counter.get_total_flops() == estimated


def test_catalog_complexity_notes_name_the_recurrence() -> None:
    notes = dict(_spec("notes").model.complexity_notes(_spec("notes").dataset))
    assert "O(num_layers * D * B * L * H^2)" in notes.values()


def _real_count(module: ModuleType, cfg: dict[str, Any]) -> int:
    model = module.build_rnn(cfg)
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("tie", [False, True])
def test_catalog_parameter_estimate_matches_the_language_model(rnn: ModuleType, tie: bool) -> None:
    spec = Spec.model_validate(
        {
            "name": "lm",
            "task": "language_modeling",
            "modality": "text",
            "dataset": {
                "name": "tiny_shakespeare",
                "modality": "text",
                "source": "synthetic",
                "input_shape": [32],
                "vocab_size": 65,
            },
            "model": {
                "family": "rnn",
                "hidden_dim": 24,
                "embedding_dim": 24 if tie else 10,
                "num_layers": 3,
                "tie_weights": tie,
            },
        }
    )
    cfg = {
        "name": "rnn",
        "kind": "language_model",
        "vocab_size": 65,
        "padding_idx": None,
        "hidden_dim": 24,
        "embedding_dim": spec.model.embedding_dim,
        "num_layers": 3,
        "tie_weights": tie,
    }
    assert _real_count(rnn, cfg) == spec.estimated_parameters()


def test_catalog_parameter_estimate_matches_classifier_and_forecaster(rnn: ModuleType) -> None:
    spec = _spec("count")
    spec.model.bidirectional = True
    cfg = {
        "name": "rnn",
        "kind": "classifier",
        "vocab_size": 50,
        "num_classes": 3,
        "hidden_dim": 8,
        "num_layers": 2,
        "embedding_dim": 128,
        "bidirectional": True,
    }
    assert _real_count(rnn, cfg) == spec.estimated_parameters()
    forecast = Spec.model_validate(
        {
            "name": "fc",
            "task": "time_series_forecasting",
            "modality": "time_series",
            "dataset": {
                "name": "ett",
                "modality": "time_series",
                "source": "synthetic",
                "input_shape": [96, 7],
                "output_shape": [24, 7],
            },
            "model": {"family": "rnn", "cell": "gru", "hidden_dim": 16, "horizon": 24},
        }
    )
    cfg = {
        "name": "rnn",
        "kind": "forecaster",
        "cell": "gru",
        "input_layout": "features",
        "input_dim": 7,
        "horizon": 24,
        "hidden_dim": 16,
        "num_layers": 2,
    }
    assert _real_count(rnn, cfg) == forecast.estimated_parameters()


def test_model_file_documents_shapes_and_complexity(rnn: ModuleType) -> None:
    source = Path(rnn.__file__).read_text(encoding="utf-8")
    for text in (
        "(B, L) -> (B, num_classes)",
        "(B, L, F) -> (B, horizon, F)",
        "(B, L) -> (B, L, V)",
    ):
        assert text in source
    assert "O(L * H^2)" in source
