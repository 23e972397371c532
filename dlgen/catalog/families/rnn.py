"""Recurrent networks: Elman RNN, LSTM (Hochreiter & Schmidhuber, 1997), GRU (Cho et al., 2014)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt

from dlgen.catalog.base import ArchitectureFamily, Names, Variant
from dlgen.spec.common import Modality
from dlgen.spec.dataset import DatasetSpec
from dlgen.spec.hparams import ArchitectureHParams

_GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def _is_language_modeling(dataset: DatasetSpec) -> bool:
    return (
        dataset.modality == Modality.TEXT
        and dataset.num_classes is None
        and (dataset.output_shape is None)
    )


class RNNHParams(ArchitectureHParams):
    """Hyperparameters of a stacked recurrent network, named as in ``torch.nn.LSTM``.

    Token inputs go through an ``embedding_dim`` embedding first; numeric inputs
    (time series ``(L, F)``, signals ``(C, L)``) enter the cell directly. ``head``
    pools the outputs for classification (last step or mean over steps); for
    forecasting the head predicts ``horizon`` steps of every feature; for language
    modeling it predicts the next token, optionally tying the output weights to the
    embedding (``tie_weights``, which needs ``embedding_dim == hidden_dim``).
    """

    family: Literal["rnn"] = "rnn"
    cell: Literal["rnn", "lstm", "gru"] = "lstm"
    hidden_dim: PositiveInt = 256
    num_layers: PositiveInt = 2
    bidirectional: bool = False
    dropout: float = Field(default=0.1, ge=0, lt=1)
    embedding_dim: PositiveInt = 128
    head: Literal["last", "mean", "max"] = "last"
    horizon: PositiveInt | None = None
    tie_weights: bool = False

    def check_dataset(self, dataset: DatasetSpec) -> list[str]:
        problems = []
        if dataset.modality not in (Modality.TEXT, Modality.TIME_SERIES, Modality.SIGNAL):
            problems.append(
                f"a recurrent network needs sequences but dataset {dataset.name!r} is "
                f"{dataset.modality.value}; pick a text, time-series or signal dataset"
            )
        language_model = _is_language_modeling(dataset)
        if language_model and self.bidirectional:
            problems.append(
                "a bidirectional RNN sees the future tokens it must predict; "
                "set bidirectional to false for language modeling"
            )
        if self.tie_weights and (self.embedding_dim != self.hidden_dim or self.bidirectional):
            problems.append(
                f"tie_weights needs embedding_dim == hidden_dim and one direction "
                f"(got {self.embedding_dim} and {self.hidden_dim}); set embedding_dim to "
                f"{self.hidden_dim} or tie_weights to false"
            )
        if dataset.modality == Modality.TIME_SERIES:
            problems.extend(self._check_horizon(dataset))
        return problems

    def _check_horizon(self, dataset: DatasetSpec) -> list[str]:
        if dataset.output_shape is None:
            return [f"dataset {dataset.name!r} needs output_shape (horizon, features)"]
        if self.horizon is not None and self.horizon != dataset.output_shape[0]:
            return [
                f"horizon={self.horizon} differs from the dataset's output_shape "
                f"{dataset.output_shape}; make horizon equal output_shape[0]"
            ]
        return []

    def input_size(self, dataset: DatasetSpec) -> int:
        """Features per time step entering the first recurrent layer."""
        if dataset.modality == Modality.TEXT:
            return self.embedding_dim
        if dataset.modality == Modality.SIGNAL:
            return dataset.input_shape[0]
        return dataset.input_shape[-1]

    def estimate_parameters(self, dataset: DatasetSpec) -> int:
        directions = 2 if self.bidirectional else 1
        gates = _GATES[self.cell] * self.hidden_dim
        total = 0
        in_size = self.input_size(dataset)
        for _ in range(self.num_layers):
            total += directions * (gates * in_size + gates * self.hidden_dim + 2 * gates)
            in_size = self.hidden_dim * directions
        if dataset.modality == Modality.TEXT:
            total += (dataset.vocab_size or 10_000) * self.embedding_dim
        return total + self._head_parameters(dataset, in_size)

    def sequence_length(self, dataset: DatasetSpec) -> int:
        """Time steps of one sample: ``L`` of ``(L,)``, ``(L, F)`` or ``(C, L)``."""
        if dataset.modality == Modality.SIGNAL:
            return dataset.input_shape[-1]
        return dataset.input_shape[0]

    def _head_outputs(self, dataset: DatasetSpec) -> int:
        """Output values per sample of the head (per step for a language model)."""
        if _is_language_modeling(dataset):
            return dataset.vocab_size or 10_000
        if dataset.output_shape is not None:
            return dataset.output_shape[0] * dataset.output_shape[-1]
        return dataset.num_classes or 2

    def estimate_flops(self, dataset: DatasetSpec) -> int:
        """Forward FLOPs per sample (a multiply-add counts 2).

        Every step of every layer and direction multiplies the input and the previous
        hidden state by the ``G`` gate matrices: ``2 G H (I + H)`` per step, with
        ``G`` = 1 (RNN), 3 (GRU) or 4 (LSTM). The head adds ``2 D H`` per output value,
        at every step for a language model. Embedding lookups and gate nonlinearities
        are not counted.
        """
        directions = 2 if self.bidirectional else 1
        gates = _GATES[self.cell]
        steps = self.sequence_length(dataset)
        total, in_size = 0, self.input_size(dataset)
        for _ in range(self.num_layers):
            total += directions * steps * 2 * gates * self.hidden_dim * (in_size + self.hidden_dim)
            in_size = self.hidden_dim * directions
        head = 2 * in_size * self._head_outputs(dataset)
        return total + head * (steps if _is_language_modeling(dataset) else 1)

    def estimate_activations(self, dataset: DatasetSpec) -> int:
        """Activation elements kept for the backward pass, per sample (an estimate).

        Per step, layer and direction: the ``G H`` gate pre-activations plus the hidden
        (and LSTM cell) state; plus the step inputs and the head's outputs.
        """
        directions = 2 if self.bidirectional else 1
        states = 2 if self.cell == "lstm" else 1
        steps = self.sequence_length(dataset)
        per_step = directions * (_GATES[self.cell] + states) * self.hidden_dim
        outputs = self._head_outputs(dataset) * (steps if _is_language_modeling(dataset) else 1)
        return self.num_layers * steps * per_step + steps * self.input_size(dataset) + outputs

    def complexity_notes(self, dataset: DatasetSpec) -> list[tuple[str, str]]:
        """Big-O time of the blocks, for batch B, L steps and H hidden units."""
        gates = {"rnn": "1 (tanh RNN)", "lstm": "4 (LSTM)", "gru": "3 (GRU)"}[self.cell]
        notes = [
            (f"recurrent layer, per direction, G = {gates}", "O(B * L * G * H * (I + H))"),
            ("whole encoder", "O(num_layers * D * B * L * H^2)"),
            ("sequential depth (steps that cannot run in parallel)", "O(num_layers * L)"),
        ]
        if _is_language_modeling(dataset):
            notes.append(("output layer over the vocabulary", "O(B * L * H * V)"))
        return notes

    def _head_parameters(self, dataset: DatasetSpec, features: int) -> int:
        if _is_language_modeling(dataset):
            vocab = dataset.vocab_size or 10_000
            return vocab if self.tie_weights else features * vocab + vocab
        if dataset.output_shape is not None:
            outputs = dataset.output_shape[0] * dataset.output_shape[-1]
        else:
            outputs = dataset.num_classes or 2
        return features * outputs + outputs


def _variant(key: str, en: str, zh: str, aliases: tuple[str, ...], **hparams: object) -> Variant:
    return Variant(key=key, names=Names(en=en, zh=zh, aliases=aliases), hparams=dict(hparams))


VARIANTS = (
    _variant(
        "lstm",
        "LSTM",
        "长短期记忆网络",
        (
            "lstm",
            "long short-term memory",
            "long short term memory",
            "长短期记忆",
            "长短时记忆网络",
        ),
        cell="lstm",
        hidden_dim=256,
        num_layers=2,
    ),
    _variant(
        "gru",
        "GRU",
        "门控循环单元",
        ("gru", "gated recurrent unit", "门控循环单元", "门控循环网络"),
        cell="gru",
        hidden_dim=256,
        num_layers=2,
    ),
    _variant(
        "bilstm",
        "BiLSTM",
        "双向LSTM",
        ("bilstm", "bi-lstm", "bidirectional lstm", "双向lstm", "双向长短期记忆网络"),
        cell="lstm",
        hidden_dim=256,
        num_layers=2,
        bidirectional=True,
    ),
    _variant(
        "bigru",
        "BiGRU",
        "双向GRU",
        ("bigru", "bi-gru", "bidirectional gru", "双向gru"),
        cell="gru",
        hidden_dim=256,
        num_layers=2,
        bidirectional=True,
    ),
    _variant(
        "elman",
        "vanilla RNN",
        "普通RNN",
        ("vanilla rnn", "elman rnn", "simple rnn", "简单rnn", "普通rnn", "朴素rnn"),
        cell="rnn",
        hidden_dim=128,
        num_layers=1,
        dropout=0.0,
    ),
    _variant(
        "char_lstm",
        "char-RNN (LSTM)",
        "字符级LSTM",
        (
            "char-rnn",
            "char rnn",
            "charrnn",
            "char-lstm",
            "char lstm",
            "char-level lstm",
            "character-level lstm",
            "character level lstm",
            "字符级lstm",
            "字符级rnn",
        ),
        cell="lstm",
        hidden_dim=512,
        num_layers=3,
        dropout=0.2,
        embedding_dim=64,
    ),
)

FAMILY = ArchitectureFamily(
    key="rnn",
    names=Names(
        en="Recurrent Neural Network",
        zh="循环神经网络",
        aliases=(
            "rnn",
            "recurrent neural network",
            "recurrent network",
            "循环神经网络",
            "递归神经网络",
            "循环网络",
        ),
    ),
    hparams_model=RNNHParams,
    tasks=(
        "sequence_classification",
        "time_series_forecasting",
        "language_modeling",
    ),
    variants=VARIANTS,
    default_variant="lstm",
    default_datasets={
        "sequence_classification": "imdb",
        "time_series_forecasting": "synthetic_series",
        "language_modeling": "tiny_shakespeare",
    },
    paper="Hochreiter & Schmidhuber, Long Short-Term Memory, 1997; Cho et al., "
    "Learning Phrase Representations using RNN Encoder-Decoder, 2014",
    training_defaults={
        "optimizer": "adam",
        "lr": 1e-3,
        "weight_decay": 0.0,
        "scheduler": "cosine",
        "epochs": 20,
        "batch_size": 64,
        "grad_clip": 1.0,
    },
)
