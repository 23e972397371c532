"""Graph sources: the Planetoid citation graphs, CSV files, networkx's karate club.

Each loader returns a :class:`~.graph.Graph` with its split masks; the planted-partition
generator (the offline ``synthetic`` source) lives in ``graph.py``.
"""

from __future__ import annotations

import csv
import pickle
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .config import DataConfig
from .graph import UNLABELLED, Graph, coalesce, random_masks, to_undirected

# The original Planetoid files (Yang et al. 2016), as PyG's Planetoid dataset downloads them.
PLANETOID_URL = "https://github.com/kimiyoung/planetoid/raw/master/data"
PLANETOID_PARTS = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")
PLANETOID_FOLDERS = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}
# The public split: the labelled training nodes come first, then 500 validation nodes.
PLANETOID_VAL_NODES = 500
EDGE_COLUMNS = ("source", "target")


# Planetoid ---------------------------------------------------------------------------


class _PlanetoidUnpickler(pickle.Unpickler):
    """Unpickles the Planetoid files, refusing every class they do not need.

    The files are Python 2 pickles of scipy sparse matrices, numpy arrays and a
    ``defaultdict`` of adjacency lists; anything else (which could run code) is an error.
    """

    NUMPY = frozenset({"_reconstruct", "ndarray", "dtype", "scalar", "_frombuffer"})
    BUILTINS = frozenset({"object", "list", "dict", "set", "int", "float", "tuple"})

    def find_class(self, module: str, name: str) -> Callable[..., object]:
        """Resolve a class the files use, or refuse it.

        Args:
            module: The class's module.
            name: The class's name.

        Returns:
            The class.

        Raises:
            pickle.UnpicklingError: For a class outside numpy arrays, scipy sparse
                matrices and plain containers.
        """
        allowed = (
            (module.startswith("numpy") and name in self.NUMPY)
            or (module.startswith("scipy.sparse") and name.endswith(("_matrix", "_array")))
            or (module == "collections" and name == "defaultdict")
            or (module in ("copyreg", "copy_reg") and name == "_reconstructor")
            or (module == "_codecs" and name == "encode")  # numpy's bytes in protocol 2
            or (module in ("builtins", "__builtin__") and name in self.BUILTINS)
        )
        if not allowed:
            raise pickle.UnpicklingError(f"refusing {module}.{name} in a Planetoid file")
        found: Callable[..., object] = super().find_class(module, name)
        return found


def planetoid_folder(config: DataConfig) -> Path:
    """Where the raw files of a Planetoid graph live (PyG's layout).

    Args:
        config: ``name`` and ``root``.

    Returns:
        ``<root>/<Name>/raw/``.
    """
    return Path(config.root) / PLANETOID_FOLDERS[config.name] / "raw"


def download_planetoid(config: DataConfig) -> None:
    """Fetch the missing raw files of ``config.name`` from the Planetoid repository.

    Args:
        config: ``name`` and ``root``.

    Raises:
        RuntimeError: If a download fails (the message names the URL).
    """
    folder = planetoid_folder(config)
    folder.mkdir(parents=True, exist_ok=True)
    for part in PLANETOID_PARTS:
        path = folder / f"ind.{config.name}.{part}"
        if path.is_file():
            continue
        url = f"{PLANETOID_URL}/{path.name}"
        try:
            urllib.request.urlretrieve(url, path)  # noqa: S310 - a fixed https URL
        except OSError as exc:
            path.unlink(missing_ok=True)
            raise RuntimeError(f"could not download {url}: {exc}") from exc


def _load(folder: Path, name: str, part: str) -> object:
    with (folder / f"ind.{name}.{part}").open("rb") as handle:
        value: object = _PlanetoidUnpickler(handle, encoding="latin1").load()
    return value


def _read_matrix(folder: Path, name: str, part: str) -> np.ndarray:
    """One of the feature or one-hot label matrices (scipy sparse or numpy), dense."""
    value = _load(folder, name, part)
    todense = getattr(value, "todense", None)
    return np.asarray(todense() if callable(todense) else value, dtype=np.float32)


def _read_adjacency(folder: Path, name: str) -> dict[int, list[int]]:
    """The adjacency lists of ``ind.<name>.graph``."""
    value = _load(folder, name, "graph")
    if not isinstance(value, dict):
        raise ValueError(f"ind.{name}.graph holds {type(value).__name__}, not adjacency lists")
    return {int(node): [int(n) for n in neighbours] for node, neighbours in value.items()}


def load_planetoid(config: DataConfig) -> Graph:
    """Cora, CiteSeer or PubMed with the public split of Yang et al. (as PyG reads it).

    The training nodes are the labelled ones of ``ind.<name>.y`` (20 per class), the next
    500 validate, and ``ind.<name>.test.index`` lists the 1,000 test nodes. Edges are made
    unique and self-loops dropped; CiteSeer's isolated test nodes get zero features and
    no label, as in PyG.

    Args:
        config: ``name``, ``root``, ``download``, ``split`` and the random-split options.

    Returns:
        The graph.

    Raises:
        FileNotFoundError: If a raw file is missing and ``download`` is off.
    """
    folder = planetoid_folder(config)
    missing = [p for p in PLANETOID_PARTS if not (folder / f"ind.{config.name}.{p}").is_file()]
    if missing and config.download:
        download_planetoid(config)
    elif missing:
        raise FileNotFoundError(
            f"{folder} lacks the Planetoid files ind.{config.name}.{{{','.join(missing)}}}; "
            "set data.download=true to fetch them, or data.source=synthetic to train offline"
        )
    x, tx, allx, _, ty, ally = (
        _read_matrix(folder, config.name, part) for part in PLANETOID_PARTS[:6]
    )
    graph = _read_adjacency(folder, config.name)
    test_index = np.loadtxt(folder / f"ind.{config.name}.test.index", dtype=np.int64).reshape(-1)
    sorted_test = np.sort(test_index)
    if config.name == "citeseer":  # isolated test nodes: zero rows where the index skips
        span = int(test_index.max() - test_index.min()) + 1
        tx_full = np.zeros((span, tx.shape[1]), np.float32)
        ty_full = np.zeros((span, ty.shape[1]), np.float32)
        tx_full[sorted_test - test_index.min()] = tx
        ty_full[sorted_test - test_index.min()] = ty
        tx, ty = tx_full, ty_full
    features = np.concatenate([allx, tx])
    features[test_index] = features[sorted_test]
    onehot = np.concatenate([ally, ty])
    labels = np.where(onehot.any(axis=1), onehot.argmax(axis=1), UNLABELLED)
    labels[test_index] = labels[sorted_test]
    nodes = labels.shape[0]
    sources = [node for node, neighbours in graph.items() for _ in neighbours]
    targets = [n for neighbours in graph.values() for n in neighbours]
    edge_index = coalesce(torch.tensor([sources, targets], dtype=torch.long), nodes)
    y = torch.from_numpy(labels).long()
    if config.split == "public":
        labelled = int(x.shape[0])  # the rows of ind.<name>.x and .y: 20 per class
        masks = _index_masks(nodes, range(labelled), test_index)
        masks[1][labelled : labelled + PLANETOID_VAL_NODES] = True
    else:
        masks = list(random_masks(y, config.train_fraction, config.val_fraction, config.split_seed))
    return Graph(torch.from_numpy(features), edge_index, y, masks[0], masks[1], masks[2])


def _index_masks(nodes: int, train: Sequence[int], test: np.ndarray) -> list[Tensor]:
    """Train, (empty) validation and test masks from node indices."""
    masks = [torch.zeros(nodes, dtype=torch.bool) for _ in range(3)]
    masks[0][list(train)] = True
    masks[2][torch.from_numpy(test)] = True
    return masks


# CSV files ----------------------------------------------------------------------------


def _read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = [row for row in csv.reader(handle) if row]
    if not rows:
        raise ValueError(f"{path} is empty; it needs a header row")
    return [name.strip() for name in rows[0]], rows[1:]


def read_csv_graph(folder: Path, config: DataConfig, labels_required: bool = True) -> Graph:
    """A graph from ``<folder>/edges.csv`` and ``<folder>/features.csv``.

    ``edges.csv`` has the columns ``source`` and ``target`` (node ids); ``features.csv``
    has ``id_column``, ``label_column`` (empty: unlabelled) and one column per feature.
    Labels that are integers ``0..C-1`` are used as they are; other labels are class
    names, numbered in the order of ``data.class_names`` (or sorted when it is null).

    Args:
        folder: Holds the two files (named by ``edges_file`` and ``features_file``).
        config: The data config.
        labels_required: Whether ``label_column`` must exist (inference: optional).

    Returns:
        The graph, with random masks over its labelled nodes.

    Raises:
        FileNotFoundError: If a file is missing.
        ValueError: If a column, an id, a number or the sizes disagree with the config.
    """
    features_path = folder / config.features_file
    header, rows = _read_rows(features_path)
    if config.id_column not in header:
        raise ValueError(f"{features_path} has no id column {config.id_column!r}: {header}")
    has_labels = config.label_column in header
    if labels_required and not has_labels:
        raise ValueError(
            f"{features_path} has no label column {config.label_column!r} "
            f"(data.label_column): {header}"
        )
    id_at = header.index(config.id_column)
    label_at = header.index(config.label_column) if has_labels else -1
    feature_at = [i for i in range(len(header)) if i not in (id_at, label_at)]
    if len(feature_at) != config.num_features:
        raise ValueError(
            f"{features_path} has {len(feature_at)} feature columns but data.num_features is "
            f"{config.num_features}; set data.num_features={len(feature_at)}"
        )
    ids = [row[id_at].strip() for row in rows]
    index = {node: position for position, node in enumerate(ids)}
    if len(index) != len(ids):
        raise ValueError(f"{features_path} repeats node ids in {config.id_column!r}")
    try:
        x = np.array([[float(row[i]) for i in feature_at] for row in rows], np.float32)
    except (ValueError, IndexError) as exc:
        raise ValueError(f"{features_path}: a feature is not a number ({exc})") from exc
    raw = [row[label_at].strip() if has_labels else "" for row in rows]
    y, class_names = _labels(raw, config, features_path)
    edges = _read_edges(folder / config.edges_file, index)
    if config.undirected:
        edges = to_undirected(edges, len(ids))
    else:
        edges = coalesce(edges, len(ids))
    if (y >= 0).sum() >= 3:
        train, val, test = random_masks(
            y, config.train_fraction, config.val_fraction, config.split_seed
        )
    else:  # an unlabelled graph to predict
        train, val, test = (torch.zeros(len(ids), dtype=torch.bool) for _ in range(3))
    return Graph(torch.from_numpy(x), edges, y, train, val, test, ids, class_names)


def _labels(
    raw: list[str], config: DataConfig, path: Path
) -> tuple[Tensor, tuple[str, ...] | None]:
    """Label indices (``-1`` where empty) and the class names they stand for."""
    given = [label for label in raw if label]
    if all(label.lstrip("-").isdigit() for label in given) and config.class_names is None:
        values = [int(label) if label else UNLABELLED for label in raw]
        bad = sorted({v for v in values if v != UNLABELLED and not 0 <= v < config.num_classes})
        if bad:
            raise ValueError(
                f"{path}: labels {bad[:5]} are outside 0..{config.num_classes - 1} "
                f"(data.num_classes={config.num_classes})"
            )
        return torch.tensor(values, dtype=torch.long), None
    names = config.class_names or tuple(sorted(set(given)))
    unknown = sorted(set(given) - set(names))
    if unknown or len(names) > config.num_classes:
        raise ValueError(
            f"{path}: {len(set(given))} classes {sorted(set(given))[:8]} for "
            f"data.num_classes={config.num_classes}"
            + (f" (not in data.class_names: {unknown[:5]})" if unknown else "")
            + f"; set data.num_classes={len(set(given) | set(names))}"
        )
    number = {name: position for position, name in enumerate(names)}
    values = [number[label] if label else UNLABELLED for label in raw]
    return torch.tensor(values, dtype=torch.long), tuple(names)


def _read_edges(path: Path, index: dict[str, int]) -> Tensor:
    header, rows = _read_rows(path)
    missing = [column for column in EDGE_COLUMNS if column not in header]
    if missing:
        raise ValueError(f"{path} needs the columns source,target; it has {header}")
    at = [header.index(column) for column in EDGE_COLUMNS]
    pairs = []
    for line, row in enumerate(rows, start=2):
        try:
            pairs.append([index[row[at[0]].strip()], index[row[at[1]].strip()]])
        except (KeyError, IndexError) as exc:
            raise ValueError(
                f"{path}, line {line}: node {exc} is not an id of the features file"
            ) from exc
    if not pairs:
        return torch.zeros(2, 0, dtype=torch.long)
    return torch.tensor(pairs, dtype=torch.long).t()


def load_csv(config: DataConfig) -> Graph:
    """The user's graph: ``<root>/edges.csv`` and ``<root>/features.csv``.

    Args:
        config: The data config.

    Returns:
        The graph with seeded random masks.

    Raises:
        FileNotFoundError: If a file is missing.
        ValueError: If the files disagree with the config.
    """
    return read_csv_graph(Path(config.root), config)


# networkx -----------------------------------------------------------------------------


def load_karate_club(config: DataConfig) -> Graph:
    """Zachary's karate club (networkx): 34 members, the two clubs it split into.

    Features are one-hot node ids (``num_features`` 34), as in Kipf & Welling's demo.

    Args:
        config: The data config (``num_features`` and ``num_classes`` must be 34 and 2).

    Returns:
        The graph with seeded random masks.

    Raises:
        ValueError: If the config's sizes are not the club's.
    """
    import networkx as nx  # the networkx source's dependency

    club = nx.karate_club_graph()
    nodes = club.number_of_nodes()
    if (config.num_features, config.num_classes) != (nodes, 2):
        raise ValueError(
            f"the karate club has {nodes} one-hot features and 2 classes; set "
            f"data.num_features={nodes} data.num_classes=2"
        )
    names = ("Mr. Hi", "Officer")
    y = torch.tensor([names.index(club.nodes[n]["club"]) for n in range(nodes)])
    edges = torch.tensor(list(club.edges()), dtype=torch.long).t()
    train, val, test = random_masks(
        y, config.train_fraction, config.val_fraction, config.split_seed
    )
    x = torch.eye(nodes)
    return Graph(x, to_undirected(edges, nodes), y, train, val, test, None, names)
