"""Readers for the numbers a request states: sizes, counts, rates, shapes.

Every reader works on the normalized request (lowercase, half-width, Chinese
numerals already digits) with catalog names masked out, so "ResNet-50" or
"CIFAR-10" never read as a layer or class count. Slots are named after what they
mean; :mod:`dlgen.agent.offline.fill` maps them onto Spec fields.
"""

from __future__ import annotations

import re

from dlgen.agent.offline.readers import Reader, as_float, as_int, reader

# Optional glue between a keyword and its value: "=", ":", "of", "为", "设为", "(".
SEP = r"\s*(?:[=:]|\bis\b|\bof\b|\bto\b|为|是|设为|设置为|设置成|取|用|大小为|等于)?\s*[(\[]?\s*"
NUM = r"(?P<v>\d+(?:\.\d+)?(?:e[-+]?\d+)?|\.\d+)"
INT = r"(?P<v>\d+)"
# After a keyword a sign is kept, so "lr -0.1" reaches validation instead of vanishing.
SNUM = r"(?P<v>-?(?:\d+(?:\.\d+)?(?:e[-+]?\d+)?|\.\d+))"
SINT = r"(?P<v>-?\d+)"
_NOT_DIGIT_BEFORE = r"(?<![\d.])"
# A list of widths: "256-128-64", "256/128", or "[256, 128, 64]".
_LIST = r"(?:(?P<v>\d+(?:\s*[-/→>]\s*\d+)+)|\[\s*(?P<b>\d+(?:\s*,\s*\d+)+)\s*\])"


def _int_list(match: re.Match[str]) -> list[int] | None:
    values = [int(part) for part in re.findall(r"\d+", match.group("v") or match.group("b"))]
    return values if len(values) >= 2 and all(values) else None


def _long_list(match: re.Match[str]) -> list[int] | None:
    values = _int_list(match)
    return values if values and len(values) >= 3 else None


def _size(match: re.Match[str]) -> tuple[int, int] | None:
    height = int(match.group("v"))
    width = int(match.groupdict().get("w") or height)
    return (height, width) if height >= 8 and width >= 8 else None


def _probability(match: re.Match[str]) -> float | None:
    value = as_float(match)
    return value if value is not None and 0 <= value < 1 else None


def _dims(match: re.Match[str]) -> int:
    word = match.group("v")
    return {"one": 1, "two": 2, "three": 3}.get(word) or int(word)


_LAYER_UNIT = r"(?:层|layers?\b|个?隐藏层|blocks?\b|encoder layers|transformer layers)"
_STEP_UNIT = (
    r"(?:个)?\s*(?:步|时间步|个时间点|个点|steps?\b|time\s*steps?\b|timesteps\b"
    r"|小时|hours?\b|天|days?\b|points?\b)"
)

NUMBER_READERS: tuple[Reader, ...] = (
    # Training ---------------------------------------------------------------
    reader(
        "batch_size",
        rf"(?:batch[\s_-]*size|\bbs\b|mini-?batch(?:[\s_-]*size)?|批大小|批量大小|批次大小|批处理大小|批量|批次|\bbatch\b){SEP}{SINT}",
        as_int,
    ),
    reader("batch_size", rf"{INT}\s*(?:的)?\s*(?:batch[\s_-]*size|批大小|批量大小)", as_int),
    reader(
        "warmup_epochs",
        rf"(?:warm[\s-]*up|预热|热身){SEP}(?:for\s*)?{INT}\s*(?:个)?\s*(?:epochs?|轮)?",
        as_int,
    ),
    reader(
        "warmup_epochs",
        rf"{INT}\s*(?:个)?\s*(?:epochs?|轮)\s*(?:of\s*)?(?:的)?\s*(?:linear\s*)?(?:warm[\s-]*up|预热)",
        as_int,
    ),
    reader("step_size", rf"(?:每|every)\s*{INT}\s*(?:个)?\s*(?:epochs?|轮)", as_int),
    reader("step_size", rf"step[\s_-]*size{SEP}{SINT}", as_int),
    reader("epochs", rf"{INT}\s*(?:个|轮)?\s*(?:epochs?\b|轮次|轮训练|轮)", as_int),
    reader(
        "epochs",
        rf"(?:epochs?|训练轮数|轮数|num[\s_-]*epochs|max[\s_-]*epochs|训练轮次){SEP}{SINT}",
        as_int,
    ),
    reader("lr", rf"(?:learning[\s_-]*rate|\blr\b|初始学习率|学习率){SEP}{SNUM}", as_float),
    reader(
        "weight_decay",
        rf"(?:weight[\s_-]*decay|\bwd\b|权重衰减|l2\s*正则(?:化)?(?:系数)?){SEP}{SNUM}",
        as_float,
    ),
    reader("momentum", rf"(?:momentum|动量){SEP}{SNUM}", _probability),
    reader("gamma", rf"(?:\bgamma|衰减系数|衰减因子|衰减为原来的|乘以){SEP}{SNUM}", _probability),
    reader(
        "seed",
        rf"(?:random[\s_-]*seed|\bseed|随机种子|种子){SEP}{SINT}",
        lambda m: int(m.group("v")),
    ),
    reader(
        "grad_accum_steps",
        rf"(?:gradient[\s_-]*accumulation(?:[\s_-]*steps)?|grad[\s_-]*accum(?:ulation)?(?:[\s_-]*steps)?|accumulat(?:e|ing)\s*(?:gradients?\s*)?(?:over|every|for|across)?|梯度累积(?:步数)?|梯度累加(?:步数)?){SEP}{SINT}",
        as_int,
    ),
    reader(
        "grad_accum_steps",
        rf"{INT}\s*(?:个)?\s*(?:步|steps?)\s*(?:的)?\s*(?:梯度累积|梯度累加|gradient\s*accumulation)",
        as_int,
    ),
    reader(
        "early_stopping_patience",
        rf"(?:patience|耐心(?:值)?|早停(?:耐心)?|early[\s_-]*stopping(?:\s*with)?(?:\s*patience)?){SEP}{SINT}",
        as_int,
    ),
    reader(
        "num_nodes",
        rf"{INT}\s*(?:个|台)?\s*(?:nodes?\b|节点(?!分类)|台机器|机(?=\s*\d+\s*卡))",
        as_int,
    ),
    reader(
        "num_gpus",
        rf"{INT}\s*(?:x\s*)?(?:张|块|个)?\s*(?:gpus?\b|卡|显卡|a100s?\b|h100s?\b|v100s?\b)",
        as_int,
    ),
    reader("num_gpus", rf"(?:gpus?|显卡数|gpu数量|nproc[_-]per[_-]node){SEP}{SINT}", as_int),
    reader(
        "label_smoothing",
        rf"(?:label[\s_-]*smoothing|标签平滑){SEP}(?:系数\s*)?{NUM}",
        _probability,
    ),
    reader("mixup_alpha", rf"mixup(?:[\s_-]*alpha)?{SEP}{SNUM}", as_float),
    reader("cutmix_alpha", rf"cutmix(?:[\s_-]*alpha)?{SEP}{SNUM}", as_float),
    reader(
        "ema_decay",
        rf"(?:\bema(?:[\s_-]*decay)?|指数移动平均(?:衰减)?){SEP}(?P<v>0\.\d+)",
        _probability,
    ),
    reader(
        "grad_clip",
        rf"(?:grad(?:ient)?[\s_-]*clip(?:ping)?(?:[\s_-]*(?:norm|value))?|梯度裁剪|梯度截断|clip[\s_-]*grad(?:[\s_-]*norm)?|max[\s_-]*grad[\s_-]*norm){SEP}{SNUM}",
        as_float,
    ),
    reader(
        "num_workers",
        rf"(?:num[\s_-]*workers|\bworkers|数据加载线程数?|加载进程数?){SEP}{SINT}",
        lambda m: int(m.group("v")),
    ),
    # Model ------------------------------------------------------------------
    reader(
        "kernel_size",
        rf"(?:kernel[\s_-]*size|\bkernel|卷积核(?:大小|尺寸)?|核大小){SEP}{SINT}",
        as_int,
    ),
    reader(
        "kernel_size",
        rf"{_NOT_DIGIT_BEFORE}{INT}\s*[x×*]\s*(?P=v)\s*(?:的)?\s*(?:conv|卷积|kernel|核)",
        as_int,
    ),
    reader("patch_size", rf"patch(?:[\s_-]*size)?(?:大小|尺寸)?{SEP}{SINT}", as_int),
    reader(
        "patch_size",
        rf"{_NOT_DIGIT_BEFORE}{INT}\s*[x×*]\s*(?P=v)\s*(?:的)?\s*(?:patch|图像块)",
        as_int,
    ),
    reader("channels", rf"(?:channels|通道数|卷积通道|filters){SEP}{_LIST}", _int_list),
    reader(
        "hidden_list",
        rf"(?:hidden(?:[\s_-]*(?:dims?|sizes?|units|layers?))?|隐藏层(?:维度|大小)?|隐层){SEP}{_LIST}",
        _int_list,
    ),
    reader("hidden_list", r"\[\s*(?P<v>\d+(?:\s*,\s*\d+){2,})\s*\]", _long_list),
    reader(
        "hidden_list",
        rf"{_NOT_DIGIT_BEFORE}(?P<v>\d+(?:\s*[-→>]\s*\d+){{2,}})(?![\d.]|\s*[x×])",
        _long_list,
    ),
    reader(
        "embedding",
        rf"(?:embed(?:ding)?[\s_-]*(?:dim(?:ension)?|size)|词向量维度|嵌入维度|词嵌入维度|\bn[\s_]*embd){SEP}{SINT}",
        as_int,
    ),
    reader(
        "latent",
        rf"(?:latent(?:[\s_-]*(?:dim(?:ension)?|size|space(?:\s*dim(?:ension)?)?|code))?|潜在(?:空间)?(?:维度|大小)|潜变量维度|隐变量维度|隐空间维度|潜空间维度|编码维度|bottleneck(?:\s*(?:dim|size))?|\bz[\s_-]*dim){SEP}{SINT}",
        as_int,
    ),
    reader(
        "latent",
        rf"{INT}\s*(?:维|-?d(?:im(?:ensional)?)?)\s*(?:的)?\s*(?:latent|潜在|隐空间|潜空间|隐变量|潜变量)",
        as_int,
    ),
    reader(
        "layers_hidden",
        rf"{INT}\s*(?:个)?\s*(?:hidden\s*layers?|隐藏层|隐层)\s*(?:of|,|各|每层|，)?\s*(?:size\s*|大小\s*|维度\s*|宽度\s*)?(?P<w>\d+)",
        lambda m: (int(m.group("v")), int(m.group("w"))),
    ),
    reader(
        "hidden",
        rf"(?:hidden(?:[\s_-]*(?:dim(?:ension)?|size|units?|layer(?:\s*size)?|state(?:\s*size)?|channels))?|隐藏层(?:维度|大小|单元数?|神经元数?)?|隐层(?:维度|大小)?|隐藏维度|隐藏单元数?|隐状态维度|\bd[\s_]*model|模型维度|嵌入宽度){SEP}{SINT}",
        as_int,
    ),
    reader("hidden", rf"(?:每层|each\s*layer\s*(?:has|with|of)?)\s*{INT}\s*(?:个)?", as_int),
    reader(
        "hidden",
        rf"{INT}\s*(?:个)?\s*(?:维|-?dim(?:ensional)?)?\s*(?:的)?\s*"
        r"(?:hidden(?:\s*(?:units|size|dim))?|隐藏(?:单元|维度|层)|神经元|units\b)",
        as_int,
    ),
    reader(
        "heads", rf"(?:num[\s_-]*heads|\bn[\s_]*heads?|注意力头数|头数|\bheads?){SEP}{SINT}", as_int
    ),
    reader("heads", rf"{INT}[\s-]*(?:个)?\s*(?:attention\s*)?(?:heads?\b|头|注意力头)", as_int),
    reader(
        "modes",
        rf"(?:\bnum[\s_-]*modes|\bmodes?\b|模态数|傅里叶模态数?|傅立叶模态数?|截断模态数?|频率截断){SEP}{SINT}",
        as_int,
    ),
    reader(
        "modes",
        rf"{INT}\s*(?:个)?\s*(?:fourier\s*|傅里叶\s*|傅立叶\s*|频率\s*|spectral\s*)?(?:modes?\b|模态|模式)",
        as_int,
    ),
    reader(
        "width", rf"(?:\bwidth|宽度|通道宽度|lifting[\s_-]*(?:dim|channels)){SEP}{SINT}", as_int
    ),
    reader(
        "base_channels",
        rf"(?:base[\s_-]*(?:channels|width|dim)|基础通道数?|初始通道数?){SEP}{SINT}",
        as_int,
    ),
    reader(
        "dropout",
        rf"(?:dropout|丢弃率|随机失活(?:率)?|drop[\s_-]*rate){SEP}(?:rate\s*|率\s*|概率\s*|of\s*|p\s*=?\s*)?(?P<v>0?\.\d+|0)(?!\d)",
        _probability,
    ),
    reader("dropout", r"(?P<v>0?\.\d+)\s*(?:的)?\s*dropout", _probability),
    reader("mlp_ratio", rf"mlp[\s_-]*ratio{SEP}{SNUM}", as_float),
    reader(
        "timesteps",
        rf"(?:diffusion[\s_-]*steps|\btimesteps|noise[\s_-]*steps|扩散步数|加噪步数|时间步数){SEP}{SINT}",
        as_int,
    ),
    reader("timesteps", rf"\bt\s*=\s*{INT}", as_int),
    reader(
        "timesteps",
        rf"{INT}\s*(?:个)?\s*(?:(?:diffusion\s*|扩散\s*|noise\s*|加噪\s*)(?:steps|timesteps|步)"
        r"|步\s*(?:的)?\s*(?:扩散|加噪))",
        as_int,
    ),
    reader(
        "output_stride",
        rf"(?:output[\s_-]*stride|\bos|输出步幅|输出步长){SEP}(?P<v>8|16|32)\b",
        as_int,
    ),
    reader(
        "beta",
        rf"(?:β|\bbeta\b)(?![\s_-]*(?:schedule|调度|start|end))\s*(?:[=:]|为)?\s*{NUM}",
        as_float,
    ),
    # Data ---------------------------------------------------------------------
    reader(
        "context",
        rf"(?:block[\s_-]*size|context[\s_-]*(?:length|size|window|len)|上下文(?:长度|窗口)|max[\s_-]*(?:seq(?:uence)?[\s_-]*)?len(?:gth)?|最大(?:序列)?长度){SEP}{SINT}",
        as_int,
    ),
    reader(
        "horizon",
        rf"(?:预测|forecast(?:ing)?|predict(?:ing)?)\s*(?:未来|接下来|之后|后|the\s*next|next|the\s*following|ahead)?\s*{INT}\s*{_STEP_UNIT}",
        as_int,
    ),
    reader(
        "horizon",
        rf"(?:horizon|预测长度|预测步长|预测步数|预测窗口|output[\s_-]*length|pred[\s_-]*len(?:gth)?){SEP}{SINT}",
        as_int,
    ),
    reader("horizon", rf"(?:未来|next)\s*{INT}\s*{_STEP_UNIT}", as_int),
    reader("horizon", rf"{INT}[\s-]*(?:steps?|步)[\s-]*(?:ahead|预测)", as_int),
    reader(
        "seq_len",
        rf"(?:输入序列长度|输入长度|序列长度|输入窗口(?:长度)?|回看窗口|历史窗口|窗口长度|滑动窗口(?:长度)?|seq(?:uence)?[\s_-]*len(?:gth)?|input[\s_-]*(?:length|window|len|steps)|look[\s_-]*back(?:\s*window)?|history\s*length|文本长度|句子长度){SEP}{SINT}",
        as_int,
    ),
    reader("seq_len", rf"(?:过去|历史|最近|输入)\s*{INT}\s*{_STEP_UNIT}", as_int),
    reader("seq_len", rf"(?:past|last|previous)\s*{INT}\s*{_STEP_UNIT}", as_int),
    reader(
        "features",
        rf"(?:特征数|特征维度|特征个数|变量数|变量个数|输入特征数?|num[\s_-]*features|n[\s_-]*features|\bfeatures?|input[\s_-]*(?:dim(?:ension)?|features)|输入维度){SEP}{SINT}",
        as_int,
    ),
    reader(
        "features",
        rf"{INT}\s*(?:个)?\s*(?:维)?\s*(?:数值型?|numeric(?:al)?\s+)?"
        r"(?:特征|features?\b|variables?\b|变量|input features|列特征|维输入)",
        as_int,
    ),
    reader(
        "num_classes",
        rf"(?:num[\s_-]*classes|\bn[\s_-]*classes|类别数(?:量)?|分类数|类数|\bclasses){SEP}{SINT}",
        as_int,
    ),
    reader(
        "num_classes",
        rf"{INT}\s*(?:个)?\s*(?:classes\b|类别|categories\b|labels\b|个类|类(?!型))",
        as_int,
    ),
    reader(
        "num_classes", rf"{INT}\s*-?\s*(?:分类|class\s*classification|way\s*classification)", as_int
    ),
    reader(
        "vocab",
        rf"(?:vocab(?:ulary)?(?:[\s_-]*size)?|词表(?:大小)?|词汇表(?:大小)?|词典大小){SEP}{SINT}",
        as_int,
    ),
    reader(
        "in_channels",
        rf"{INT}\s*(?:个)?\s*(?:input\s*)?(?:通道|channels?\b)(?!\s*[-,/]\s*\d)",
        as_int,
    ),
    reader(
        "in_channels", r"(?P<v>单通道|灰度|grayscale|greyscale|single[\s-]*channel)", lambda m: 1
    ),
    reader(
        "image_size",
        rf"(?:image[\s_-]*size|img[\s_-]*size|input[\s_-]*(?:size|resolution)|image[\s_-]*resolution|grid[\s_-]*size|\bresolution|分辨率|网格大小|网格分辨率|图像大小|图片大小|图像尺寸|图片尺寸|输入大小|输入尺寸|输入图片大小|输入图像大小|输入图片尺寸|尺寸){SEP}{SINT}(?:\s*[x×*]\s*(?P<w>\d+))?",
        _size,
    ),
    reader(
        "image_size", rf"{_NOT_DIGIT_BEFORE}{INT}\s*[x×*]\s*(?P<w>\d+)(?:\s*[x×*]\s*\d+)?", _size
    ),
    reader("image_size", rf"{INT}\s*(?:px\b|pixels?\b|像素)", _size),
    reader(
        "image_size",
        rf"\bat\s+{INT}\b(?!\s*(?:epochs?|layers?|steps?|gpus?|%|classes|heads))",
        _size,
    ),
    reader(
        "dims", rf"{_NOT_DIGIT_BEFORE}(?<![a-z])(?P<v>[123])\s*-?\s*(?:d\b|维)(?!特征|输入)", _dims
    ),
    reader("dims", r"\b(?P<v>one|two|three)[\s-]*dimensional\b", _dims),
    reader("layers", rf"{INT}[\s-]*(?:个)?\s*{_LAYER_UNIT}", as_int),
    reader(
        "layers",
        rf"(?:num[\s_-]*layers|\bn[\s_]*layers?|层数|\bdepth|深度|\blayers){SEP}{SINT}",
        as_int,
    ),
)
