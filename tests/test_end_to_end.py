"""End to end through the user's entry point: request -> verified project on disk.

Each case runs the whole pipeline, including every validation check (mypy, the
smoke forward/backward, the project's own tests), so these are the slowest tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dlgen.cli import main

REQUESTS = {
    "vit_imagenet_zh": "实现ViT用于ImageNet",
    "resnet50_cifar10": "ResNet-50 on CIFAR-10",
    "lenet5_mnist": "LeNet-5 for MNIST",
    "fno_darcy": "Generate a 2D Fourier Neural Operator for solving Darcy flow PDEs, "
    "using GeLU activation, 12 Fourier modes",
    "bilstm_imdb_zh": "实现一个双向LSTM做情感分类，数据集IMDB，隐藏层256，两层，dropout 0.3",
    "gru_forecast_zh": "时间序列预测：用GRU预测未来24步，输入序列长度96，特征数7",
    "char_lstm_lm": "Character-level LSTM language model on tiny shakespeare, 3 layers, hidden 512",
    "unet_binary_satellite": "U-Net for binary segmentation of 512x512 satellite images",
    "seq2seq_zh_en": "用Transformer做中英翻译，编码器和解码器各4层，d_model 256",
    "gcn_citeseer_zh": "用三层GCN在CiteSeer上做节点分类",
    "mlp_label_csv": "MLP classifier for a CSV with a 'label' column, hidden layers 512-256",
    "mlp_price_regression_zh": "用MLP做回归，CSV里有20个数值特征，目标列是price",
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(REQUESTS))
def test_request_becomes_a_verified_project(case: str, tmp_path: Path) -> None:
    out = tmp_path / case
    result = CliRunner().invoke(
        main, [REQUESTS[case], "-o", str(out), "--json"], catch_exceptions=False
    )
    payload = json.loads(result.stdout)
    failures = [
        f"{f['check']} {f['file']}:{f['line']} {f['message']}"
        for check in payload["report"]["checks"]
        for f in check["findings"]
    ] + [
        f"{c['name']}: {c['status']} {c['detail']}"
        for c in payload["report"]["checks"]
        if c["status"] not in ("passed", "skipped")
    ]
    assert result.exit_code == 0, "\n".join(failures[:40])
    assert payload["verified"] and payload["delivered"]
    statuses = {c["name"]: c["status"] for c in payload["report"]["checks"]}
    assert statuses == {
        name: "passed"
        for name in ("english", "docstrings", "types", "style", "smoke", "tests", "extras")
    }
    assert payload["parameters"] > 0
    assert (out / ".dlgen" / "spec.yaml").is_file()
    assert (out / ".dlgen" / "report.json").is_file()
    assert (out / "train.py").is_file() and (out / "README.md").is_file()
