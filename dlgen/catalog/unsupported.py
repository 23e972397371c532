"""Architectures and tasks dlgen recognises but does not generate, with the closest alternative.

The analyzer refuses a request naming one of these rather than silently building
something else; the message names the closest supported family.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dlgen.catalog.base import Names


@dataclass(frozen=True)
class UnsupportedEntry:
    """Something users ask for that is outside the catalog.

    Attributes:
        key: Stable identifier.
        names: Display names and the aliases the analyzer recognises.
        what: What it is, in English and Chinese.
        closest: Key of the closest supported family, or None when nothing is close.
        kind: "architecture" (or task) the catalog lacks, or "dataset" it has no loader for.
    """

    key: str
    names: Names
    what: tuple[str, str]
    closest: str | None = None
    kind: Literal["architecture", "dataset"] = "architecture"


def _entry(
    key: str, en: str, zh: str, aliases: tuple[str, ...], what: tuple[str, str], closest: str | None
) -> UnsupportedEntry:
    return UnsupportedEntry(key, Names(en=en, zh=zh, aliases=aliases), what, closest)


def _dataset(
    key: str, en: str, aliases: tuple[str, ...], what: tuple[str, str]
) -> UnsupportedEntry:
    return UnsupportedEntry(key, Names(en=en, zh=en, aliases=aliases), what, kind="dataset")


_DETECTION = ("object detection", "目标检测")
_LLM = ("a large pretrained language model", "大语言模型")

UNSUPPORTED: tuple[UnsupportedEntry, ...] = (
    _entry(
        "mamba",
        "Mamba",
        "Mamba",
        ("mamba", "s4 model", "state space model", "状态空间模型"),
        ("a state-space sequence model", "状态空间序列模型"),
        "gpt",
    ),
    _entry(
        "yolo",
        "YOLO",
        "YOLO",
        ("yolo", "yolov3", "yolov5", "yolov7", "yolov8", "yolox"),
        _DETECTION,
        "resnet",
    ),
    _entry(
        "rcnn",
        "Faster R-CNN",
        "Faster R-CNN",
        (
            "faster r-cnn",
            "faster rcnn",
            "fast r-cnn",
            "r-cnn",
            "rcnn",
            "retinanet",
            "detr",
            "ssd detector",
        ),
        _DETECTION,
        "resnet",
    ),
    _entry(
        "mask_rcnn",
        "Mask R-CNN",
        "Mask R-CNN",
        ("mask r-cnn", "mask rcnn", "maskrcnn"),
        ("instance segmentation", "实例分割"),
        "deeplabv3plus",
    ),
    _entry(
        "object_detection",
        "object detection",
        "目标检测",
        ("object detection", "目标检测", "物体检测", "object detector"),
        _DETECTION,
        "resnet",
    ),
    _entry(
        "instance_segmentation",
        "instance segmentation",
        "实例分割",
        ("instance segmentation", "实例分割", "panoptic segmentation", "全景分割"),
        ("instance segmentation", "实例分割"),
        "deeplabv3plus",
    ),
    _entry(
        "stable_diffusion",
        "Stable Diffusion",
        "Stable Diffusion",
        ("stable diffusion", "latent diffusion", "sdxl", "稳定扩散", "潜在扩散模型"),
        ("latent text-to-image diffusion", "潜空间文生图扩散模型"),
        "ddpm",
    ),
    _entry(
        "gan",
        "GAN",
        "生成对抗网络",
        (
            "gan",
            "gans",
            "dcgan",
            "stylegan",
            "stylegan2",
            "wgan",
            "wgan-gp",
            "cyclegan",
            "pix2pix",
            "generative adversarial network",
            "生成对抗网络",
            "对抗生成网络",
        ),
        ("a generative adversarial network", "生成对抗网络"),
        "ddpm",
    ),
    _entry(
        "nerf",
        "NeRF",
        "NeRF",
        (
            "nerf",
            "neural radiance field",
            "neural radiance fields",
            "神经辐射场",
            "gaussian splatting",
            "3d gaussian splatting",
            "3dgs",
        ),
        ("neural rendering", "神经渲染"),
        "mlp",
    ),
    _entry(
        "llm",
        "LLaMA-style LLM",
        "大语言模型",
        (
            "llama",
            "llama2",
            "llama 2",
            "llama3",
            "llama 3",
            "qwen",
            "chatglm",
            "mistral",
            "mixtral",
            "gpt-3",
            "gpt3",
            "gpt-4",
            "gpt4",
            "chatgpt",
            "大语言模型",
            "大模型",
        ),
        _LLM,
        "gpt",
    ),
    # LoRA and prompt tuning generate (family "peft"); QLoRA's 4-bit base weights need
    # bitsandbytes' CUDA kernels, which a CPU-validated project cannot run or test.
    _entry(
        "qlora",
        "QLoRA (4-bit quantized LoRA)",
        "QLoRA（4比特量化LoRA）",
        ("qlora", "q-lora", "4-bit lora", "4bit lora", "4比特lora", "4位量化lora"),
        ("LoRA on a 4-bit quantized base model (bitsandbytes)", "4比特量化基座模型上的LoRA"),
        "peft",
    ),
    _entry(
        "t5",
        "T5 / BART",
        "T5 / BART",
        ("t5", "mt5", "bart", "mbart", "pegasus"),
        ("a pretrained encoder-decoder language model", "预训练编码器-解码器语言模型"),
        "seq2seq",
    ),
    _entry(
        "clip",
        "CLIP",
        "CLIP",
        ("clip model", "openai clip", "clip模型", "clip vit"),
        ("a contrastive image-text model", "图文对比学习模型"),
        "vit",
    ),
    _entry(
        "swin",
        "Swin Transformer",
        "Swin Transformer",
        ("swin", "swin transformer", "swin-t", "swin-b", "swinv2"),
        ("a hierarchical vision Transformer", "层级式视觉Transformer"),
        "vit",
    ),
    _entry(
        "modern_cnn",
        "ConvNeXt / EfficientNet / MobileNet / VGG / DenseNet",
        "现代CNN骨干",
        (
            "convnext",
            "efficientnet",
            "mobilenet",
            "mobilenetv2",
            "mobilenetv3",
            "vgg",
            "vgg16",
            "vgg19",
            "densenet",
            "densenet121",
            "inception",
            "inceptionv3",
            "googlenet",
            "alexnet",
            "regnet",
            "shufflenet",
            "squeezenet",
            "resnext",
            "wide resnet",
            "wideresnet",
        ),
        ("a CNN backbone outside the catalog", "目录外的CNN骨干网络"),
        "resnet",
    ),
    _entry(
        "temporal_cnn",
        "WaveNet / TCN",
        "WaveNet / TCN",
        ("wavenet", "tcn", "temporal convolutional network", "时间卷积网络"),
        ("a dilated temporal CNN", "扩张时间卷积网络"),
        "cnn",
    ),
    _entry(
        "point_cloud",
        "PointNet",
        "PointNet",
        ("pointnet", "pointnet++", "point cloud", "点云"),
        ("point-cloud learning", "点云学习"),
        "mlp",
    ),
    _entry(
        "ts_transformer",
        "Informer / Autoformer / FEDformer",
        "Informer / Autoformer / FEDformer",
        ("informer", "autoformer", "fedformer", "timesnet", "itransformer"),
        ("a time-series Transformer", "时间序列Transformer"),
        "transformer",
    ),
    _entry(
        "speech",
        "speech recognition",
        "语音识别",
        (
            "speech recognition",
            "语音识别",
            "asr",
            "whisper",
            "wav2vec",
            "wav2vec2",
            "text-to-speech",
            "tts",
            "语音合成",
        ),
        ("speech processing", "语音处理"),
        None,
    ),
    _entry(
        "reinforcement",
        "reinforcement learning",
        "强化学习",
        ("reinforcement learning", "强化学习", "dqn", "ppo", "actor-critic", "a2c"),
        ("reinforcement learning", "强化学习"),
        None,
    ),
    _entry(
        "pose",
        "pose estimation",
        "姿态估计",
        ("pose estimation", "姿态估计", "keypoint detection", "关键点检测", "openpose"),
        ("pose estimation", "姿态估计"),
        None,
    ),
    _entry(
        "classical_ml",
        "classical machine learning",
        "传统机器学习",
        (
            "xgboost",
            "lightgbm",
            "random forest",
            "随机森林",
            "svm",
            "支持向量机",
            "logistic regression",
            "逻辑回归",
            "决策树",
            "decision tree",
        ),
        ("classical machine learning (not deep learning)", "传统机器学习（非深度学习）"),
        "mlp",
    ),
    _dataset(
        "coco",
        "MS COCO",
        ("coco", "ms coco", "mscoco", "coco2017"),
        ("detection and captioning images", "检测与描述图像数据集"),
    ),
    _dataset(
        "laion",
        "LAION",
        ("laion", "laion-5b", "laion-400m"),
        ("web-scale image-text pairs", "网络规模图文对"),
    ),
    _dataset(
        "kitti",
        "KITTI",
        ("kitti",),
        ("driving scenes for detection and depth", "自动驾驶检测与深度数据"),
    ),
    _dataset(
        "librispeech", "LibriSpeech", ("librispeech", "libri speech"), ("speech audio", "语音音频")
    ),
    _dataset(
        "openwebtext",
        "OpenWebText",
        ("openwebtext", "open web text", "the pile", "c4"),
        ("a web-scale text corpus", "网络规模文本语料"),
    ),
)
