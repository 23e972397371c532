"""Time-series forecasting: the next steps of every feature from a window of the past."""

from __future__ import annotations

from dlgen.catalog.base import Names, Signal, TaskEntry
from dlgen.catalog.tasks import PREDICT
from dlgen.spec.common import Modality

TASK = TaskEntry(
    key="time_series_forecasting",
    names=Names("time-series forecasting", "时间序列预测"),
    signals=(
        Signal(
            r"时间序列预测|时序预测|time[\s-]*series\s*forecast\w*|forecast\w*|时间序列"
            r"|time[\s-]*series|负荷预测|销量预测|多步预测",
            order=70,
        ),
        Signal(PREDICT, order=950, strong=False),
    ),
    modalities=(Modality.TIME_SERIES,),
    default_datasets={Modality.TIME_SERIES: "synthetic_series"},
    default_family="rnn",
    requires=("output_shape",),
    monitor="mse",
    monitor_mode="min",
    metrics=("mse", "mae", "mse_vs_naive", "loss"),
    output_shape=lambda data: tuple(data.output_shape or data.input_shape),
    inference_examples={
        Modality.TIME_SERIES: ("path/to/recent_steps.csv", "path/to/series/ --output forecasts.csv")
    },
    description="the next H steps of every feature; (L, F) -> (H, F)",
)
