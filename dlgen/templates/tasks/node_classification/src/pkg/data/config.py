"""The typed data config: the ``data`` section of the YAML, checked on load."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config import section_kwargs

SOURCES = ("synthetic", "planetoid", "csv", "networkx")
SPLITS = ("public", "random")
PLANETOID_NAMES = ("cora", "citeseer", "pubmed")


@dataclass(frozen=True)
class DataConfig:
    """Every option of ``configs/data/*.yaml``; see that file for what each one does."""

    name: str
    source: str
    root: str = "data"
    download: bool = False
    num_nodes: int = 2708
    num_features: int = 1433
    num_classes: int = 7
    split: str = "public"
    train_fraction: float = 0.1
    val_fraction: float = 0.2
    split_seed: int = 0
    node_batch_size: int | None = None
    normalize_features: bool = True
    undirected: bool = True
    edges_file: str = "edges.csv"
    features_file: str = "features.csv"
    id_column: str = "id"
    label_column: str = "label"
    synthetic_avg_degree: float = 8.0
    synthetic_homophily: float = 0.8
    synthetic_words_per_node: int = 20
    synthetic_feature_signal: float = 0.15
    class_names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        """Check values against each other.

        Raises:
            ValueError: Naming the offending key and what it accepts.
        """
        if self.source not in SOURCES:
            raise ValueError(f"data.source={self.source!r} is not one of {list(SOURCES)}")
        if self.split not in SPLITS:
            raise ValueError(f"data.split={self.split!r} is not one of {list(SPLITS)}")
        if self.source == "planetoid" and self.name not in PLANETOID_NAMES:
            raise ValueError(
                f"data.source=planetoid needs data.name in {list(PLANETOID_NAMES)}, "
                f"got {self.name!r}"
            )
        for name in ("num_nodes", "num_features", "num_classes"):
            if getattr(self, name) < 1:
                raise ValueError(f"data.{name}={getattr(self, name)} must be >= 1")
        if self.num_classes < 2:
            raise ValueError(f"data.num_classes={self.num_classes} must be >= 2")
        fractions = (self.train_fraction, self.val_fraction)
        if not (0 < self.train_fraction < 1 and 0 <= self.val_fraction < 1) or sum(fractions) >= 1:
            raise ValueError(
                f"data.train_fraction={self.train_fraction} and data.val_fraction="
                f"{self.val_fraction} must be in (0, 1) and [0, 1) and leave test nodes "
                "(their sum below 1)"
            )
        if self.node_batch_size is not None and self.node_batch_size < 1:
            raise ValueError(
                f"data.node_batch_size={self.node_batch_size} must be >= 1 (null: every "
                "training node in one batch)"
            )
        if self.synthetic_avg_degree <= 0 or not 0 <= self.synthetic_homophily <= 1:
            raise ValueError(
                "data.synthetic_avg_degree must be > 0 and data.synthetic_homophily in [0, 1]"
            )
        if self.synthetic_words_per_node < 1 or not 0 <= self.synthetic_feature_signal <= 1:
            raise ValueError(
                "data.synthetic_words_per_node must be >= 1 and data.synthetic_feature_signal "
                "in [0, 1]"
            )
        if self.class_names is not None and len(self.class_names) != self.num_classes:
            raise ValueError(
                f"data.class_names has {len(self.class_names)} names for "
                f"{self.num_classes} classes"
            )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> DataConfig:
        """Build from the ``data`` config section.

        Args:
            values: The section (a DictConfig or a dict).

        Returns:
            The checked config.

        Raises:
            ValueError: If a key is unknown or a value is invalid.
        """
        kwargs = section_kwargs(cls, values, "data")
        if kwargs.get("class_names") is not None:
            kwargs["class_names"] = tuple(str(value) for value in kwargs["class_names"])
        return cls(**kwargs)
