"""Readers for training switches and named choices: AMP, DDP, EMA, schedulers, optimizers,
activations and model switches (bidirectional, pooling, normalization, weight tying).

Switches named without a value get a documented default (e.g. "早停" -> patience
10); the analyzer records that default as an assumption.
"""

from __future__ import annotations

from dlgen.agent.offline.readers import UNSET, Reader, constant, reader

# Defaults for switches the request names without a value.
FLAG_DEFAULTS: dict[str, object] = {
    "warmup_epochs": 5,
    "early_stopping_patience": 10,
    "label_smoothing": 0.1,
    "mixup_alpha": 0.2,
    "cutmix_alpha": 1.0,
    "grad_accum_steps": 4,
}

OPTION_READERS: tuple[Reader, ...] = (
    # Noise schedules first: "cosine noise schedule" is not a learning-rate schedule.
    reader(
        "beta_schedule",
        r"(?:cosine|余弦)\s*(?:beta|noise|variance|噪声|方差)\s*(?:schedul\w*|调度|表)?",
        constant("cosine"),
    ),
    reader(
        "beta_schedule",
        r"(?:linear|线性)\s*(?:beta|noise|variance|噪声|方差)\s*(?:schedul\w*|调度|表)?",
        constant("linear"),
    ),
    reader("precision", r"\bbf16\b|bfloat16", constant("bf16")),
    reader("precision", r"\bfp16\b|float16|半精度", constant("fp16")),
    reader("precision", r"\bfp32\b|float32|单精度|全精度", constant("fp32")),
    reader("amp", r"混合精度|mixed[\s-]*precision|\bamp\b|autocast|自动混合精度", constant(True)),
    # FSDP before DDP: "fully sharded data parallel" also reads as data parallel.
    reader(
        "distributed",
        r"\bfsdp2?\b|fully[\s_-]*shard\w*|完全分片|全分片|zero[\s-]*3\b",
        constant("fsdp"),
    ),
    reader(
        "distributed",
        r"\bddp\b|distributed(?:\s*data\s*parallel)?|分布式|多卡|多gpu|多显卡|multi[\s-]*gpu|torchrun|数据并行|多机",
        constant("ddp"),
    ),
    reader(
        "ema", r"\bema\b|指数移动平均|exponential\s*moving\s*average|权重滑动平均", constant(True)
    ),
    reader("scheduler", r"one[\s-]*cycle|单周期", constant("onecycle")),
    reader("scheduler", r"cosine|余弦", constant("cosine")),
    reader(
        "scheduler",
        r"step[\s_-]*lr|steplr|multi[\s-]*step|step\s*decay|阶梯|分段常数|(?:每|every)\s*\d+\s*(?:个)?\s*(?:epochs?|轮)",
        constant("step"),
    ),
    reader("scheduler", r"plateau|reducelronplateau", constant("plateau")),
    reader(
        "scheduler",
        r"constant\s*(?:lr|learning\s*rate)|固定学习率|no\s*(?:lr\s*)?scheduler|不用(?:学习率)?调度",
        constant("none"),
    ),
    reader("warmup_epochs", r"warm[\s-]*up|预热|热身", constant(UNSET)),
    reader(
        "early_stopping_patience",
        r"early[\s_-]*stop(?:ping)?|早停|提前停止|提前终止",
        constant(UNSET),
    ),
    reader("label_smoothing", r"label[\s_-]*smoothing|标签平滑", constant(UNSET)),
    reader("mixup_alpha", r"\bmixup\b", constant(UNSET)),
    reader("cutmix_alpha", r"\bcutmix\b", constant(UNSET)),
    reader(
        "grad_accum_steps",
        r"梯度累积|梯度累加|gradient[\s_-]*accumulation|grad[\s_-]*accum\w*",
        constant(UNSET),
    ),
    reader(
        "compile",
        r"torch\.compile|torch\s*compile|\bcompile\b|模型编译|编译加速|编译优化|编译",
        constant(True),
    ),
    reader(
        "gradient_checkpointing",
        r"(?:gradient|activation)[\s_-]*checkpoint\w*|梯度检查点|激活检查点|激活重计算|重计算",
        constant(True),
    ),
    reader("deterministic", r"\bdeterministic\b|确定性|可复现|reproducib\w*", constant(True)),
    reader("optimizer", r"\badam\s*w\b|\badamw\b", constant("adamw")),
    reader("optimizer", r"\badam\b", constant("adam")),
    reader("optimizer", r"\bsgd\b|随机梯度下降|nesterov", constant("sgd")),
    reader(
        "unknown_optimizer",
        r"\b(?P<v>lion|lamb|adagrad|rmsprop|adafactor|adadelta|nadam|radam|l-?bfgs|sophia|shampoo|muon|adabelief)\b",
        lambda m: m.group("v"),
    ),
    reader("activation", r"leaky[\s_-]*relu|\blrelu\b", constant("leaky_relu")),
    reader("activation", r"\bgelu\b", constant("gelu")),
    reader("activation", r"\bsilu\b|\bswish\b", constant("silu")),
    reader("activation", r"\brelu\b(?!\s*6)", constant("relu")),
    reader("activation", r"\btanh\b", constant("tanh")),
    reader("activation", r"\belu\b", constant("elu")),
    reader("activation", r"\bsigmoid\b", constant("sigmoid")),
    reader(
        "unknown_activation",
        r"\b(?P<v>mish|prelu|selu|relu6|relu\s*6|hard[\s_-]*swish|softplus|swiglu|geglu|glu)\b",
        lambda m: m.group("v"),
    ),
    reader("bidirectional", r"bi-?directional|双向", constant(True)),
    reader("bidirectional", r"uni-?directional|单向", constant(False)),
    reader("pool", r"mean[\s-]*pool\w*|average[\s-]*pool\w*|平均池化|均值池化", constant("mean")),
    reader("pool", r"\[?cls\]?\s*token|cls池化", constant("cls")),
    reader("norm", r"batch[\s_-]*norm\w*|批归一化|批标准化|\bbn\b", constant("batch")),
    reader("norm", r"layer[\s_-]*norm\w*|层归一化|\bln\b", constant("layer")),
    reader(
        "tie_weights",
        r"tie[sd]?[\s_-]*(?:the\s*)?(?:input\s*and\s*output\s*)?(?:embedding\s*)?weights|weight[\s_-]*tying|权重绑定|权重共享|共享(?:输入输出)?(?:嵌入)?权重",
        constant(True),
    ),
    reader("bilinear", r"bilinear|双线性", constant(True)),
    reader(
        "residual", r"residual\s*(?:connections?|blocks?)|skip[\s_-]*connections?|残差连接", constant(True)
    ),
    reader("bias", r"no\s*bias|without\s*bias(?:es)?|不(?:使用|用|带)偏置|无偏置", constant(False)),
    # Parameter-efficient fine-tuning methods (family peft); P-tuning before prompt tuning,
    # both before "pretrained" (their "微调" is theirs).
    reader("peft_method", r"\bp[\s_-]*tuning|prompt[\s_-]*encoder", constant("p_tuning")),
    reader(
        "peft_method",
        r"prompt[\s_-]*tuning|soft[\s_-]*prompts?|提示微调|提示词微调|软提示",
        constant("prompt_tuning"),
    ),
    reader("pretrained", r"pre-?trained|预训练|fine-?tun\w*|微调", constant(True)),
)
