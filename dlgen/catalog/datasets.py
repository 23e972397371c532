"""Datasets dlgen knows and the facts that naming one implies."""

from __future__ import annotations

from dlgen.catalog.base import DatasetEntry, Names
from dlgen.spec.common import Modality, Task

_IMG = Modality.IMAGE
_CLS = Task.IMAGE_CLASSIFICATION
_SEG = Task.SEMANTIC_SEGMENTATION

DATASETS: tuple[DatasetEntry, ...] = (
    DatasetEntry(
        "imagenet", Names("ImageNet-1k", "ImageNet", ("imagenet", "imagenet-1k", "ilsvrc",
                                                    "ilsvrc2012", "in1k", "image net")),
        _CLS, _IMG, "imagefolder", (3, 224, 224), num_classes=1000,
        splits={"train": 1_281_167, "val": 50_000}, default_architecture="resnet",
        notes="ImageFolder layout: root/train/<class>/*.JPEG and root/val/<class>/*.JPEG",
    ),
    DatasetEntry(
        "cifar10", Names("CIFAR-10", "CIFAR-10", ("cifar10", "cifar-10", "cifar 10")),
        _CLS, _IMG, "torchvision", (3, 32, 32), num_classes=10,
        splits={"train": 50_000, "test": 10_000}, default_architecture="resnet", downloadable=True,
    ),
    DatasetEntry(
        "cifar100", Names("CIFAR-100", "CIFAR-100", ("cifar100", "cifar-100", "cifar 100")),
        _CLS, _IMG, "torchvision", (3, 32, 32), num_classes=100,
        splits={"train": 50_000, "test": 10_000}, default_architecture="resnet", downloadable=True,
    ),
    DatasetEntry(
        "mnist", Names("MNIST", "MNIST手写数字", ("mnist", "手写数字", "手写数字识别")),
        _CLS, _IMG, "torchvision", (1, 28, 28), num_classes=10,
        splits={"train": 60_000, "test": 10_000}, default_architecture="cnn", downloadable=True,
    ),
    DatasetEntry(
        "fashion_mnist", Names("Fashion-MNIST", "Fashion-MNIST",
                               ("fashion-mnist", "fashionmnist", "fashion mnist", "fmnist",
                                "服装mnist")),
        _CLS, _IMG, "torchvision", (1, 28, 28), num_classes=10,
        splits={"train": 60_000, "test": 10_000}, default_architecture="cnn", downloadable=True,
    ),
    DatasetEntry(
        "digits", Names("scikit-learn digits", "scikit-learn手写数字(8x8)",
                        ("sklearn digits", "digits", "load_digits", "8x8 digits")),
        _CLS, _IMG, "sklearn", (1, 8, 8), num_classes=10,
        splits={"train": 1_257, "test": 540}, default_architecture="cnn",
        notes="Ships with scikit-learn: trains offline with no download",
    ),
    DatasetEntry(
        "cityscapes", Names("Cityscapes", "Cityscapes城市街景", ("cityscapes", "城市街景")),
        _SEG, _IMG, "cityscapes", (3, 512, 1024), num_classes=19,
        splits={"train": 2_975, "val": 500}, default_architecture="deeplabv3plus",
    ),
    DatasetEntry(
        "ade20k", Names("ADE20K", "ADE20K", ("ade20k", "ade-20k", "ade 20k", "ade")),
        _SEG, _IMG, "ade20k", (3, 512, 512), num_classes=150,
        splits={"train": 20_210, "val": 2_000}, default_architecture="segformer",
    ),
    DatasetEntry(
        "pascal_voc", Names("Pascal VOC 2012", "Pascal VOC",
                            ("pascal voc", "voc2012", "voc 2012", "pascal", "voc")),
        _SEG, _IMG, "torchvision", (3, 512, 512), num_classes=21,
        splits={"train": 1_464, "val": 1_449}, default_architecture="deeplabv3plus",
        downloadable=True,
    ),
    DatasetEntry(
        "oxford_pet", Names("Oxford-IIIT Pet", "Oxford-IIIT宠物",
                            ("oxford-iiit pet", "oxford pet", "oxford pets", "oxfordiiitpet",
                             "oxford-iiit", "宠物数据集")),
        _SEG, _IMG, "torchvision", (3, 256, 256), num_classes=3,
        splits={"trainval": 3_680, "test": 3_669}, default_architecture="unet", downloadable=True,
        notes="Trimap segmentation: pet, background, border",
    ),
    DatasetEntry(
        "cora", Names("Cora", "Cora引文网络", ("cora",)),
        Task.NODE_CLASSIFICATION, Modality.GRAPH, "planetoid", (2_708, 1_433), num_classes=7,
        splits={"train": 140, "val": 500, "test": 1_000}, default_architecture="gnn",
    ),
    DatasetEntry(
        "citeseer", Names("CiteSeer", "CiteSeer引文网络", ("citeseer", "cite seer")),
        Task.NODE_CLASSIFICATION, Modality.GRAPH, "planetoid", (3_327, 3_703), num_classes=6,
        splits={"train": 120, "val": 500, "test": 1_000}, default_architecture="gnn",
    ),
    DatasetEntry(
        "pubmed", Names("PubMed", "PubMed引文网络", ("pubmed", "pub med")),
        Task.NODE_CLASSIFICATION, Modality.GRAPH, "planetoid", (19_717, 500), num_classes=3,
        splits={"train": 60, "val": 500, "test": 1_000}, default_architecture="gnn",
    ),
    DatasetEntry(
        "karate_club", Names("Zachary's karate club", "空手道俱乐部",
                             ("karate club", "karate", "空手道俱乐部")),
        Task.NODE_CLASSIFICATION, Modality.GRAPH, "networkx", (34, 34), num_classes=2,
        splits={"train": 4, "test": 30}, default_architecture="gnn",
        notes="Ships with networkx: trains offline with no download",
    ),
    DatasetEntry(
        "darcy", Names("Darcy flow", "达西流", ("darcy", "darcy flow", "达西流", "达西")),
        Task.OPERATOR_LEARNING, Modality.FIELD, "generator", (1, 85, 85),
        output_shape=(1, 85, 85), splits={"train": 1_000, "test": 200},
        default_architecture="fno",
        notes="2-D Darcy flow; reference .mat files (coeff/sol) or the shipped finite-difference solver",
    ),
    DatasetEntry(
        "burgers", Names("Burgers' equation", "Burgers方程",
                         ("burgers", "burgers equation", "burgers' equation", "伯格斯方程",
                          "burgers方程")),
        Task.OPERATOR_LEARNING, Modality.FIELD, "generator", (1, 1024),
        output_shape=(1, 1024), splits={"train": 1_000, "test": 200},
        default_architecture="fno",
        notes="1-D viscous Burgers; reference .mat files (a/u) or the shipped spectral solver",
    ),
    DatasetEntry(
        "navier_stokes", Names("Navier-Stokes", "纳维-斯托克斯方程",
                               ("navier-stokes", "navier stokes", "ns equation", "纳维斯托克斯",
                                "纳维-斯托克斯", "n-s方程")),
        Task.OPERATOR_LEARNING, Modality.FIELD, "mat", (10, 64, 64),
        output_shape=(10, 64, 64), splits={"train": 1_000, "test": 200},
        default_architecture="fno",
        notes="2-D vorticity over time; the first 10 steps predict the next 10",
    ),
    DatasetEntry(
        "wikitext2", Names("WikiText-2", "WikiText-2", ("wikitext-2", "wikitext2", "wikitext 2",
                                                        "wiki text 2")),
        Task.LANGUAGE_MODELING, Modality.TEXT, "text", (256,), vocab_size=33_278,
        splits={"train": 2_088_628, "val": 217_646, "test": 245_569},
        default_architecture="gpt",
    ),
    DatasetEntry(
        "wikitext103", Names("WikiText-103", "WikiText-103",
                             ("wikitext-103", "wikitext103", "wikitext 103")),
        Task.LANGUAGE_MODELING, Modality.TEXT, "text", (512,), vocab_size=267_735,
        splits={"train": 103_227_021, "val": 217_646, "test": 245_569},
        default_architecture="gpt",
    ),
    DatasetEntry(
        "tiny_shakespeare", Names("Tiny Shakespeare", "莎士比亚小数据集",
                                  ("tiny shakespeare", "tinyshakespeare", "shakespeare",
                                   "莎士比亚")),
        Task.LANGUAGE_MODELING, Modality.TEXT, "text", (256,), vocab_size=65,
        splits={"train": 1_003_854, "val": 111_540}, default_architecture="gpt",
        notes="Character level, 65 symbols",
    ),
    DatasetEntry(
        "imdb", Names("IMDB reviews", "IMDB影评", ("imdb", "imdb reviews", "imdb影评")),
        Task.SEQUENCE_CLASSIFICATION, Modality.TEXT, "text", (512,), num_classes=2,
        vocab_size=30_000, splits={"train": 25_000, "test": 25_000},
        default_architecture="rnn",
    ),
    DatasetEntry(
        "sst2", Names("SST-2", "SST-2情感", ("sst-2", "sst2", "sst 2", "stanford sentiment treebank")),
        Task.SEQUENCE_CLASSIFICATION, Modality.TEXT, "text", (128,), num_classes=2,
        vocab_size=30_000, splits={"train": 67_349, "val": 872}, default_architecture="transformer",
    ),
    DatasetEntry(
        "ag_news", Names("AG News", "AG新闻", ("ag news", "ag_news", "agnews", "ag-news",
                                             "ag新闻")),
        Task.SEQUENCE_CLASSIFICATION, Modality.TEXT, "text", (128,), num_classes=4,
        vocab_size=30_000, splits={"train": 120_000, "test": 7_600},
        default_architecture="transformer",
    ),
    DatasetEntry(
        "ett", Names("ETT (electricity transformer temperature)", "ETT电力变压器温度",
                     ("ett", "etth1", "etth2", "ettm1", "electricity transformer")),
        Task.TIME_SERIES_FORECASTING, Modality.TIME_SERIES, "csv", (96, 7),
        output_shape=(24, 7), splits={"train": 8_545, "val": 2_881, "test": 2_881},
        default_architecture="rnn",
    ),
    DatasetEntry(
        "synthetic_series", Names("synthetic seasonal series", "合成季节性时间序列",
                                  ("synthetic series", "sine", "正弦", "合成时间序列")),
        Task.TIME_SERIES_FORECASTING, Modality.TIME_SERIES, "generator", (96, 1),
        output_shape=(24, 1), splits={"train": 4_000, "val": 500, "test": 500},
        default_architecture="rnn",
        notes="Sine mixtures with trend and noise, generated offline",
    ),
    DatasetEntry(
        "ptb_xl", Names("PTB-XL 12-lead ECG", "PTB-XL十二导联心电",
                        ("ptb-xl", "ptbxl", "ecg", "心电", "心电图", "12-lead ecg", "十二导联")),
        Task.SEQUENCE_CLASSIFICATION, Modality.SIGNAL, "npy", (12, 1000), num_classes=5,
        splits={"train": 17_418, "val": 2_183, "test": 2_198}, default_architecture="cnn",
    ),
    DatasetEntry(
        "multi30k", Names("Multi30k (de-en)", "Multi30k德英翻译",
                          ("multi30k", "multi 30k", "wmt", "wmt14", "德英翻译")),
        Task.SEQUENCE_TO_SEQUENCE, Modality.TEXT, "text", (64,), vocab_size=10_000,
        splits={"train": 29_000, "val": 1_014, "test": 1_000}, default_architecture="seq2seq",
    ),
    DatasetEntry(
        "iris", Names("Iris", "鸢尾花", ("iris", "鸢尾花", "鸢尾")),
        Task.TABULAR_CLASSIFICATION, Modality.TABULAR, "sklearn", (4,), num_classes=3,
        splits={"train": 120, "test": 30}, default_architecture="mlp",
        notes="Ships with scikit-learn",
    ),
    DatasetEntry(
        "diabetes", Names("Diabetes regression", "糖尿病回归", ("diabetes", "糖尿病")),
        Task.TABULAR_REGRESSION, Modality.TABULAR, "sklearn", (10,), output_shape=(1,),
        splits={"train": 353, "test": 89}, default_architecture="mlp",
        notes="Ships with scikit-learn",
    ),
    DatasetEntry(
        "custom_folder", Names("custom image folder", "自定义图片文件夹",
                               ("custom folder", "image folder", "imagefolder", "自定义数据集",
                                "自己的数据", "自定义图片")),
        _CLS, _IMG, "imagefolder", (3, 224, 224), num_classes=10,
        default_architecture="resnet",
        notes="root/<split>/<class>/<image>; set num_classes to your class count",
    ),
    DatasetEntry(
        "custom_csv", Names("custom CSV", "自定义CSV", ("custom csv", "csv", "csv文件", "表格数据")),
        Task.TABULAR_CLASSIFICATION, Modality.TABULAR, "csv", (16,), num_classes=2,
        default_architecture="mlp",
        notes="One row per sample, a 'target' column; set the feature count and classes",
    ),
)
