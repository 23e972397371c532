"""Readers for the task a request asks for ("分割", "forecast", "language model", ...).

Each reading is an intent: a set of candidate tasks (the modality decides among
them, e.g. "classification" of images, text or graph nodes) and a strength. A
strong intent is enforced: a family that does not serve it is an error. A weak
intent ("预测", "predict") only picks among the tasks the family already serves.

The words come from the tasks' catalog entries (:attr:`TaskEntry.signals`); this
module only orders them into readers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from dlgen import catalog
from dlgen.agent.offline.readers import Reader, constant, reader


@dataclass(frozen=True)
class Intent:
    """The task(s) a keyword points to.

    Attributes:
        tasks: Candidate task keys, most likely first.
        strong: Whether the keyword names the task unambiguously.
    """

    tasks: tuple[str, ...]
    strong: bool = True


@cache
def intent_readers() -> tuple[Reader, ...]:
    """One reader per distinct signal pattern of the catalog's tasks, in signal order.

    Tasks sharing a pattern (the generic "classify") share its reader; their own
    orders rank them among its candidates.

    Returns:
        The readers, most specific first.
    """
    groups: dict[tuple[str, bool], list[tuple[int, str]]] = {}
    for task in catalog.all_tasks():
        for signal in task.signals:
            groups.setdefault((signal.pattern, signal.strong), []).append((signal.order, task.key))
    ordered = sorted(groups.items(), key=lambda item: min(order for order, _ in item[1]))
    return tuple(
        reader("task", pattern, constant(Intent(tuple(k for _, k in sorted(ranked)), strong)))
        for (pattern, strong), ranked in ordered
    )
