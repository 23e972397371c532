"""One module per task; each defines ``TASK``, a :class:`~dlgen.catalog.base.TaskEntry`.

A task is generatable when ``dlgen/templates/tasks/<key>/`` exists. Adding a task means
adding a module here, its template folder, its example requests and any new datasets:
the analyzer, ``dlgen list``, the prompts, the renderer and the tests read tasks from
the registry in :mod:`dlgen.catalog`.
"""

from __future__ import annotations

# Generic words shared by several tasks: each task that answers to one lists it as a
# signal, and the task's order ranks it among the candidates the modality decides on.
CLASSIFY = r"分类|classif\w*|识别|recogni\w*|classifier"
PREDICT = r"预测|predict\w*"
