"""Parameter-efficient fine-tuning of a pretrained Hugging Face classifier with ``peft``.

The base model is a ``transformers`` ``*ForSequenceClassification`` (RoBERTa, BERT,
DistilBERT or GPT-2). Its weights stay frozen; ``peft`` adds what is trained:

- LoRA (Hu et al., 2021, eq. 3): each target projection computes ``W x + (alpha / r) B A x``
  with ``A`` of shape ``(r, d_in)`` and ``B`` of ``(d_out, r)``; ``B`` starts at zero, so
  training starts from the pretrained model. :meth:`PeftClassifier.merged` folds ``B A``
  into ``W`` (``merge_and_unload``) for export: the merged model is a plain ``transformers``
  model with the same outputs.
- Prompt tuning (Lester et al., 2021) and P-tuning (Liu et al., 2021): ``num_virtual_tokens``
  learned embeddings are prepended to every input (P-tuning computes them with an MLP).

The classifier head (``head_modules``) is new for the task and trained in full (peft's
``modules_to_save``). Where the weights come from is ``pretrained_source``: ``hub`` loads
``from_pretrained(hub_name)`` (the local cache first, then the hub if it answers); when
neither has the files, or with ``config``, the same architecture is built from its config
class (``architecture``) with random weights, and a warning says so.
"""

import copy
import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
from peft import (
    LoraConfig,
    PeftConfig,
    PeftModel,
    PromptEncoderConfig,
    PromptTuningConfig,
    TaskType,
    get_peft_model,
)
from torch import Tensor, nn
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    DistilBertConfig,
    DistilBertForSequenceClassification,
    GPT2Config,
    GPT2ForSequenceClassification,
    PretrainedConfig,
    PreTrainedModel,
    RobertaConfig,
    RobertaForSequenceClassification,
)

from ..utils.logger import LOGGER_NAME
from .registry import is_main_process, register_model

# The config class and the classifier class of every supported model type.
MODEL_CLASSES: dict[str, tuple[type[PretrainedConfig], type[PreTrainedModel]]] = {
    "roberta": (RobertaConfig, RobertaForSequenceClassification),
    "bert": (BertConfig, BertForSequenceClassification),
    "distilbert": (DistilBertConfig, DistilBertForSequenceClassification),
    "gpt2": (GPT2Config, GPT2ForSequenceClassification),
}
METHODS = ("lora", "prompt_tuning", "p_tuning")
SOURCES = ("hub", "config")
# Seconds to wait for the hub before treating it as unreachable.
HUB_TIMEOUT = 3.0
DEFAULT_ENDPOINT = "https://huggingface.co"

LOGGER = logging.getLogger(LOGGER_NAME)


class PretrainedUnavailableError(OSError):
    """The pretrained files of ``hub_name`` are neither cached nor reachable."""


@dataclass
class PeftClassifierConfig:
    """Hyperparameters of the fine-tuned classifier (field names as in the project config).

    Attributes:
        backbone: Catalog key of the base model (``roberta_base``, ``bert_base``, ...).
        hub_name: Hugging Face hub id or local folder ``from_pretrained`` loads.
        pretrained_source: ``hub`` (the published weights) or ``config`` (random weights).
        allow_random_init: Whether a run on real data may go on with random weights and a
            locally trained tokenizer when the pretrained files cannot be found (read by
            the data config; the model always falls back, with a warning).
        model_type: ``transformers`` model type: roberta, bert, distilbert or gpt2.
        architecture: Keyword arguments of the model type's config class: the sizes of the
            published checkpoint, or tiny ones in the debug preset.
        num_labels: Number of classes ``K`` of the classifier head.
        head_modules: Modules of the new head, trained in full (``modules_to_save``).
        method: ``lora``, ``prompt_tuning`` or ``p_tuning``.
        lora_r: LoRA rank ``r``.
        lora_alpha: LoRA scale numerator: the update is multiplied by ``alpha / r``.
        lora_dropout: Dropout on the input of the LoRA branch.
        init_lora_weights: True: ``B = 0`` (the paper's start); False: random ``B``.
        target_modules: Names of the linear layers that get LoRA (null: peft's default for
            the model type).
        num_virtual_tokens: Learned prompt embeddings (prompt tuning and P-tuning).
        variant: Name of the catalog variant, for reference only.
    """

    backbone: str = "roberta_base"
    hub_name: str = "roberta-base"
    pretrained_source: str = "hub"
    allow_random_init: bool = False
    model_type: str = "roberta"
    architecture: dict[str, Any] = field(default_factory=dict)
    num_labels: int = 2
    head_modules: list[str] = field(default_factory=lambda: ["classifier"])
    method: str = "lora"
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    init_lora_weights: bool = True
    target_modules: list[str] | None = None
    num_virtual_tokens: int = 20
    variant: str | None = None

    def __post_init__(self) -> None:
        """Check the values.

        Raises:
            ValueError: Naming the offending key and what it accepts.
        """
        problems = []
        if self.model_type not in MODEL_CLASSES:
            problems.append(f"model_type={self.model_type!r} is not one of {list(MODEL_CLASSES)}")
        if self.method not in METHODS:
            problems.append(f"method={self.method!r} is not one of {list(METHODS)}")
        if self.pretrained_source not in SOURCES:
            problems.append(
                f"pretrained_source={self.pretrained_source!r} is not one of {list(SOURCES)}"
            )
        for name in ("num_labels", "lora_r", "lora_alpha", "num_virtual_tokens"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.lora_dropout < 1.0:
            problems.append(f"lora_dropout must be in [0, 1), got {self.lora_dropout}")
        if problems:
            raise ValueError("invalid model config: " + "; ".join(problems))
        self.architecture = dict(self.architecture)
        self.head_modules = list(self.head_modules)
        if self.target_modules is not None:
            self.target_modules = list(self.target_modules)

    @property
    def pad_token_id(self) -> int:
        """The id the padded positions carry (RoBERTa: 1, BERT: 0, GPT-2: <|endoftext|>)."""
        return int(self.architecture.get("pad_token_id") or 0)


def hub_reachable(timeout: float = HUB_TIMEOUT) -> bool:
    """Whether the Hugging Face hub answers (one TCP connection; no retries).

    Args:
        timeout: Seconds to wait.

    Returns:
        False when ``HF_HUB_OFFLINE`` is set or the endpoint cannot be reached.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    url = urlparse(os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def from_config(config: PeftClassifierConfig) -> PreTrainedModel:
    """The base classifier built from its config class, with random weights (no hub).

    Args:
        config: The model config (``model_type``, ``architecture``, ``num_labels``).

    Returns:
        The ``*ForSequenceClassification`` model.
    """
    config_class, model_class = MODEL_CLASSES[config.model_type]
    kwargs: dict[str, Any] = {**config.architecture, "num_labels": config.num_labels}
    hf_config = config_class(**kwargs)
    return model_class(hf_config)


def from_pretrained(config: PeftClassifierConfig) -> PreTrainedModel:
    """The published classifier weights: a local folder, the cache, or the hub.

    Args:
        config: The model config (``hub_name``, ``num_labels``, ``model_type``).

    Returns:
        The model; its new head (``head_modules``) is randomly initialised.

    Raises:
        PretrainedUnavailableError: If the files are neither local nor reachable.
        ValueError: If the files hold another model type than ``model_type``.
    """
    # The model type's own class, not an Auto class: nothing else (an adapter config) is
    # looked up on the hub, and the files must hold that architecture.
    model_class = MODEL_CLASSES[config.model_type][1]
    name = config.hub_name
    kwargs: dict[str, Any] = {"num_labels": config.num_labels}
    try:
        model = model_class.from_pretrained(name, local_files_only=True, **kwargs)
    except OSError as cached:
        if Path(name).exists() or not hub_reachable():
            raise PretrainedUnavailableError(
                f"the pretrained files of {name!r} are not in the local cache and the hub "
                f"cannot be reached ({str(cached).splitlines()[0]})"
            ) from cached
        model = model_class.from_pretrained(name, **kwargs)
    if model.config.model_type != config.model_type:
        raise ValueError(
            f"{name} is a {model.config.model_type} model but model_type={config.model_type!r}; "
            "set model.hub_name to a checkpoint of that type"
        )
    if model.config.pad_token_id is None:  # GPT-2: <|endoftext|> pads
        model.config.pad_token_id = config.pad_token_id
    return model.float()


def load_base_model(config: PeftClassifierConfig) -> tuple[PreTrainedModel, str]:
    """The base classifier and a note on where its weights came from.

    Args:
        config: The model config.

    Returns:
        ``(model, weights)``, ``weights`` being ``pretrained <hub_name>`` or ``random``.
    """
    building_on_meta = torch.empty(0).device.type == "meta"  # parameter counts, no weights
    if config.pretrained_source == "config" or building_on_meta:
        return from_config(config), "random"
    try:
        return from_pretrained(config), f"pretrained {config.hub_name}"
    except PretrainedUnavailableError as exc:
        config_class = MODEL_CLASSES[config.model_type][0].__name__
        opt_in = "allowed" if config.allow_random_init else "NOT allowed for real data"
        LOGGER.warning(
            "pretrained weights were not found: %s. Using RANDOM weights: the same "
            "architecture built from %s(...). A training run on real data stops at the "
            "tokenizer unless model.allow_random_init=true (now: %s); connect to the hub "
            "or set model.hub_name to a local folder to fine-tune the pretrained model.",
            exc,
            config_class,
            opt_in,
        )
        return from_config(config), "random"


def adapter_config(config: PeftClassifierConfig) -> PeftConfig:
    """The peft config of ``config.method`` for sequence classification.

    Args:
        config: The model config.

    Returns:
        A ``LoraConfig``, ``PromptTuningConfig`` or ``PromptEncoderConfig``.
    """
    heads = list(config.head_modules)
    if config.method == "lora":
        return LoraConfig(
            task_type=TaskType.SEQ_CLS,
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules=config.target_modules,
            init_lora_weights=config.init_lora_weights,
            modules_to_save=heads,
        )
    if config.method == "prompt_tuning":
        return PromptTuningConfig(
            task_type=TaskType.SEQ_CLS,
            num_virtual_tokens=config.num_virtual_tokens,
            modules_to_save=heads,
        )
    return PromptEncoderConfig(
        task_type=TaskType.SEQ_CLS,
        num_virtual_tokens=config.num_virtual_tokens,
        modules_to_save=heads,
    )


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """Trainable and total parameters.

    Args:
        model: Any module.

    Returns:
        ``(trainable, total)``.
    """
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())


class PeftClassifier(nn.Module):
    """Token ids and lengths to class logits, through a peft-adapted ``transformers`` model.

    Args:
        network: The ``PeftModel`` (or, after :meth:`merged`, the plain merged model).
        pad_token_id: Id written into the padded positions, as the base model expects.
        weights: Where the base weights came from (``pretrained <name>`` or ``random``).
    """

    def __init__(self, network: nn.Module, pad_token_id: int, weights: str) -> None:
        super().__init__()
        self.network = network
        self.pad_token_id = pad_token_id
        self.weights = weights

    def forward(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        """Classify a padded batch.

        Args:
            tokens: ``(B, T)`` int64 token ids; positions at or after a sample's length are
                padding, whatever they hold.
            lengths: ``(B,)`` real lengths.

        Returns:
            ``(B, num_labels)`` logits.
        """
        positions = torch.arange(tokens.shape[1], device=tokens.device)  # (T,)
        mask = positions[None, :] < lengths[:, None]  # (B, T), True on real tokens
        input_ids = tokens.masked_fill(~mask, self.pad_token_id)
        output = self.network(input_ids=input_ids, attention_mask=mask.long())
        logits: Tensor = output.logits  # (B, K)
        return logits

    def merged(self) -> "PeftClassifier":
        """A copy with the LoRA updates folded into the base weights (``merge_and_unload``).

        Prompt methods cannot be merged (their prompts are inputs, not weights): the copy
        keeps the adapter.

        Returns:
            A new classifier with the same outputs (up to float rounding).
        """
        network = copy.deepcopy(self.network)
        if isinstance(network, PeftModel) and isinstance(network.peft_config, dict):
            config = network.peft_config[network.active_adapter]
            if isinstance(config, LoraConfig):
                network = network.merge_and_unload()
        return PeftClassifier(network, self.pad_token_id, self.weights).eval()

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute the base model's activations in the backward pass (saves memory).

        Args:
            enable: Turn it on or off.
        """
        base = self.network
        if isinstance(base, PeftModel):
            base = base.get_base_model()
        if not isinstance(base, PreTrainedModel):
            return
        if enable:
            base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        else:
            base.gradient_checkpointing_disable()


def build_peft_model(config: PeftClassifierConfig) -> PeftClassifier:
    """Load the base model, wrap it with the adapter and report what trains.

    Args:
        config: The model config.

    Returns:
        The classifier, in train mode; only the adapter and the head require gradients.
    """
    base, weights = load_base_model(config)
    network = get_peft_model(base, adapter_config(config))
    model = PeftClassifier(network, config.pad_token_id, weights).train()
    trainable, total = count_parameters(model)
    if is_main_process() and torch.empty(0).device.type != "meta":
        print(
            f"peft: {config.method} on {config.hub_name} ({weights} weights): trainable "
            f"{trainable:,} of {total:,} parameters ({100.0 * trainable / max(total, 1):.3f}%)",
            flush=True,
        )
    return model


@register_model("peft")
def build_peft(cfg: dict[str, Any]) -> nn.Module:
    """Build the fine-tuned classifier from the resolved ``model`` config section.

    Args:
        cfg: The config mapping; its keys are :class:`PeftClassifierConfig` fields plus
            ``name``.

    Returns:
        The model, in train mode, on the CPU.

    Raises:
        TypeError: If ``cfg`` has a key that is not a :class:`PeftClassifierConfig` field.
        ValueError: If a value is invalid.
    """
    fields = {key: value for key, value in cfg.items() if key != "name"}
    return build_peft_model(PeftClassifierConfig(**fields))
