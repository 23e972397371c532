"""Every sentence the offline analyzer writes, in English and Chinese.

Assumptions and errors are written in the user's language; templates are
``str.format`` strings keyed by a message id.
"""

from __future__ import annotations

from typing import Any

from dlgen import catalog

MESSAGES: dict[str, tuple[str, str]] = {
    "family_from_dataset": (
        "No architecture given; using {family}, the usual choice for {dataset}.",
        "未指定模型架构，按数据集 {dataset} 的常用选择使用 {family}。",
    ),
    "family_from_task": (
        "No architecture given; using {family} for {task}.",
        "未指定模型架构，{task}任务默认使用 {family}。",
    ),
    "family_redirect": (
        "{family_asked} does not do {task}; using {family} instead.",
        "{family_asked} 不支持{task}，改用 {family}。",
    ),
    "several_families": (
        "The request names several architectures ({names}); using the first, {family}.",
        "请求提到了多个模型架构（{names}），使用首先出现的 {family}。",
    ),
    "several_datasets": (
        "The request names several datasets ({names}); using the first, {dataset}.",
        "请求提到了多个数据集（{names}），使用首先出现的 {dataset}。",
    ),
    "backbone": (
        "{variant} is read as the backbone of {family}.",
        "将 {variant} 理解为 {family} 的骨干网络。",
    ),
    "default_dataset": (
        "No dataset given; using {dataset} ({facts}).",
        "未指定数据集，默认使用 {dataset}（{facts}）。",
    ),
    "dataset_facts": (
        "Dataset settings for {dataset}: {facts}.",
        "数据集 {dataset} 的设置：{facts}。",
    ),
    "default_task": (
        "No task given; {family} defaults to {task}.",
        "未指定任务，{family} 默认用于{task}。",
    ),
    "default_variant": (
        "No variant given; using {variant} ({config}).",
        "未指定变体，默认使用 {variant}（{config}）。",
    ),
    "dataset_variant": (
        "No variant given; using {variant} ({config}), the usual configuration for {dataset}.",
        "未指定变体，使用 {dataset} 上常用的 {variant}（{config}）。",
    ),
    "variant_modified": (
        "Starting from {variant} but with {changes} as requested, so this is a custom "
        "configuration rather than the standard {variant}.",
        "以 {variant} 为基础，按请求修改为 {changes}，因此不再是标准的 {variant} 配置。",
    ),
    "fuzzy": (
        'Read "{text}" as {name}.',
        "将“{text}”理解为 {name}。",
    ),
    "ignored": (
        '"{text}" does not apply to {family}; ignored.',
        "“{text}”不适用于 {family}，已忽略。",
    ),
    "model_defaults": (
        "Other {family} hyperparameters keep their defaults: {settings}.",
        "{family} 的其余超参数取默认值：{settings}。",
    ),
    "training_defaults": (
        "Training settings not in the request follow the {family} recipe: {settings}.",
        "请求未指定的训练设置采用 {family} 的常用方案：{settings}。",
    ),
    "training_recipe": (
        "Training settings not in the request follow the {recipe} recipe ({source}): "
        "{settings}.",
        "请求未指定的训练设置采用 {recipe} 方案（{source}）：{settings}。",
    ),
    "flag_default": (
        "{option} is on with the default {field}={value}.",
        "已启用{option}，{field} 取默认值 {value}。",
    ),
    "amp_default": (
        "Mixed precision uses bf16 (set precision to fp16 on GPUs without bf16 support).",
        "混合精度默认使用 bf16（若 GPU 不支持 bf16，请将 precision 改为 fp16）。",
    ),
    "ddp_gpus": (
        "DDP is on; the number of GPUs per node is chosen at launch "
        "(torchrun --nproc_per_node); num_gpus stays {gpus} for the effective batch size.",
        "已启用 DDP；每台机器的 GPU 数在启动时由 torchrun --nproc_per_node 指定，"
        "num_gpus 暂记为 {gpus}（用于计算有效 batch size）。",
    ),
    "fsdp_gpus": (
        "FSDP2 shards weights, gradients and optimizer state over the processes torchrun "
        "starts (--nproc_per_node); num_gpus stays {gpus} for the effective batch size.",
        "已启用 FSDP2：权重、梯度与优化器状态分片到 torchrun 启动的各进程"
        "（--nproc_per_node）；num_gpus 暂记为 {gpus}（用于计算有效 batch size）。",
    ),
    "pretrained": (
        "Generated projects train from random initialization; no pretrained weights are "
        "downloaded.",
        "生成的项目从随机初始化开始训练，不会下载预训练权重。",
    ),
    "warmup_clamped": (
        "Warmup of {old} epochs does not fit in {epochs} epochs; using {new}.",
        "{epochs} 个 epoch 容不下 {old} 个 epoch 的预热，改为 {new}。",
    ),
    "name": (
        "Project name: {name}.",
        "项目名称：{name}。",
    ),
    # Adjustments by family ---------------------------------------------------
    "vit_resize": (
        "Images of {old} are resized to {new} so that patch size {patch} divides them.",
        "图像从 {old} 缩放到 {new}，使其能被 patch 大小 {patch} 整除。",
    ),
    "resnet_small_stem": (
        "{size}x{size} images use the 3x3 stride-1 stem without max-pooling (stem='small'), "
        "as is usual for CIFAR-sized inputs.",
        "{size}x{size} 的小图像使用 3x3、步长 1、无最大池化的输入层（stem='small'），"
        "这是 CIFAR 尺寸输入的常见做法。",
    ),
    "fno_modes": (
        "modes lowered from {old} to {new}, the most a {size}-point grid resolves.",
        "modes 从 {old} 降为 {new}，这是 {size} 点网格能表示的上限。",
    ),
    "context_from_model": (
        "Sequences are {length} tokens long, the model's context length.",
        "序列长度取模型的上下文长度 {length}。",
    ),
    "max_len_raised": (
        "max_len raised to {length} to fit the sequences.",
        "max_len 提高到 {length} 以容纳输入序列。",
    ),
    "latent_lowered": (
        "latent_dim lowered from {old} to {new} so that it compresses the {features} inputs.",
        "latent_dim 从 {old} 降为 {new}，使其小于 {features} 维输入。",
    ),
    "vocab_for_tokenizer": (
        "The {tokenizer} tokenizer gets a vocabulary of {size} tokens (the model's "
        "embedding rows; set vocab_size to change it).",
        "{tokenizer} 分词器的词表大小取 {size}（即模型嵌入的行数；可通过 vocab_size 修改）。",
    ),
    "task_fact": (
        'Read "{text}" as {field}={value}.',
        "将“{text}”理解为 {field}={value}。",
    ),
    "unet_valid_resize": (
        "Images of {old} are resized to {new}, the nearest size an unpadded U-Net takes "
        "(its output is smaller: the masks are centre-cropped to it).",
        "图像从 {old} 调整为 {new}，这是无填充 U-Net 可接受的最近尺寸"
        "（输出更小，掩码按中心裁剪与之对齐）。",
    ),
    "resize_multiple": (
        "Images of {old} are resized to {new}, a multiple of {factor} as the network's "
        "down-sampling needs.",
        "图像从 {old} 调整为 {new}，以满足网络下采样所需的 {factor} 的倍数。",
    ),
    # Errors ------------------------------------------------------------------
    "empty": (
        "The request is empty. Describe the model to build, e.g. "
        '"ResNet-50 on CIFAR-10" or "实现ViT用于ImageNet".',
        "请求为空。请描述要实现的模型，例如“ResNet-50 on CIFAR-10”或“实现ViT用于ImageNet”。",
    ),
    "not_understood": (
        "Could not place the request in dlgen's catalog: no architecture, task or dataset "
        "was recognised{understood}. Name a model (e.g. ResNet, ViT, LSTM, FNO, U-Net, GPT), "
        "a task (image classification, segmentation, forecasting, ...) or a dataset "
        "(CIFAR-10, ImageNet, IMDB, Darcy flow, ...); `dlgen list` shows everything supported.",
        "无法将请求对应到 dlgen 的目录：没有识别出模型架构、任务或数据集{understood}。"
        "请说明模型（如 ResNet、ViT、LSTM、FNO、U-Net、GPT）、任务（图像分类、分割、"
        "时间序列预测等）或数据集（CIFAR-10、ImageNet、IMDB、Darcy flow 等）；"
        "`dlgen list` 列出全部支持的内容。",
    ),
    "unsupported": (
        "{name} ({what}) is not supported by dlgen. {closest}",
        "dlgen 不支持 {name}（{what}）。{closest}",
    ),
    "unsupported_dataset": (
        "{name} ({what}) is not a dataset dlgen can load; `dlgen list` shows those it can. "
        "For your own images or tables, use custom_folder or custom_csv and set their facts.",
        "dlgen 无法加载数据集 {name}（{what}）；`dlgen list` 列出可用的数据集。"
        "自己的图片或表格数据请使用 custom_folder 或 custom_csv，并设置其参数。",
    ),
    "closest": (
        "The closest supported family is {family} ({key}).",
        "最接近的受支持架构是 {family}（{key}）。",
    ),
    "no_closest": (
        "Nothing in the catalog is close; run `dlgen list` to see what is supported.",
        "目录中没有相近的架构；运行 `dlgen list` 查看支持的内容。",
    ),
    "task_not_served": (
        "{family} does not do {task}. Families that do: {families}.",
        "{family} 不支持{task}。支持该任务的架构：{families}。",
    ),
    "task_data_mismatch": (
        "{dataset} holds {modality} data but {task} needs {needs} data; pick a dataset of "
        "that kind or another task.",
        "数据集 {dataset} 是 {modality} 数据，而{task}需要 {needs} 数据；"
        "请换用合适的数据集或任务。",
    ),
    "unknown_optimizer": (
        "Optimizer '{name}' is not supported (training.optimizer accepts {accepted}).",
        "不支持优化器“{name}”（training.optimizer 可选 {accepted}）。",
    ),
    "unknown_activation": (
        "Activation '{name}' is not supported (model.activation accepts {accepted}).",
        "不支持激活函数“{name}”（model.activation 可选 {accepted}）。",
    ),
    "invalid_spec": (
        "The request contradicts itself or the catalog:\n{problems}",
        "请求自相矛盾或与目录不符：\n{problems}",
    ),
}

OPTION_NAMES: dict[str, tuple[str, str]] = {
    "warmup_epochs": ("Warmup", "学习率预热"),
    "early_stopping_patience": ("Early stopping", "早停"),
    "label_smoothing": ("Label smoothing", "标签平滑"),
    "mixup_alpha": ("Mixup", "Mixup"),
    "cutmix_alpha": ("CutMix", "CutMix"),
    "grad_accum_steps": ("Gradient accumulation", "梯度累积"),
}


def say(message_id: str, language: str, **values: Any) -> str:
    """The message ``message_id`` in ``language`` with ``values`` filled in."""
    english, chinese = MESSAGES[message_id]
    return (chinese if language == "zh" else english).format(**values)


def task_name(task: str, language: str) -> str:
    """A task's name in ``language``."""
    return catalog.task(task).names.display(language)


def join(items: list[str], language: str) -> str:
    """Items joined with the language's list separator."""
    return ("、" if language == "zh" else ", ").join(items)
