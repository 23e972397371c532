"""The check registry: each check module registers itself with a decorator.

Adding a check means writing one module under ``dlgen/validators/checks/`` that
decorates its entry function with :func:`register_check`, and importing it from
``checks/__init__.py``. The runner reads :data:`CHECKS`; there is no list of checks
anywhere else.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dlgen.errors import UsageError
from dlgen.validators.project import Project
from dlgen.validators.report import CheckResult, Finding


@dataclass(frozen=True)
class CheckOptions:
    """Options every check receives.

    Attributes:
        timeout: Seconds allowed to each subprocess a check starts.
        memory_limit_mb: Memory allowed to a child running project code (None: no limit).
        cache_dir: dlgen's cache root (mypy's cache lives under ``mypy/`` in it).
    """

    timeout: float = 300.0
    memory_limit_mb: int | None = 8192
    cache_dir: Path | None = None


CheckFn = Callable[[Project, CheckOptions], CheckResult]


@dataclass(frozen=True)
class Check:
    """A registered check.

    Attributes:
        name: Short name ("english", ...), used on the command line and in reports.
        order: Position in the report (checks run in parallel, report in this order).
        codes: Finding codes the check emits, with a one-line meaning each.
        run: The function doing the work.
        cost: Scheduling hint; costlier checks are started first.
        summary: First line of the check module's docstring.
    """

    name: str
    order: int
    codes: Mapping[str, str]
    run: CheckFn = field(compare=False)
    cost: int = 1
    summary: str = ""


CHECKS: dict[str, Check] = {}


def register_check(
    name: str, *, order: int, codes: Mapping[str, str], cost: int = 1
) -> Callable[[CheckFn], CheckFn]:
    """Register the decorated function as the check ``name``.

    Args:
        name: The check's name.
        order: Its position in reports (lower first).
        codes: The finding codes it emits and what each means.
        cost: Scheduling hint (higher starts first).

    Returns:
        A decorator that registers the function and returns it unchanged.

    Raises:
        ValueError: When a check of that name or one of its codes is already registered.
    """

    def decorator(fn: CheckFn) -> CheckFn:
        if name in CHECKS:
            raise ValueError(f"check {name!r} is registered twice")
        taken = {code for check in CHECKS.values() for code in check.codes}
        if taken & set(codes):
            raise ValueError(f"check {name!r} reuses codes {sorted(taken & set(codes))}")
        doc = (sys.modules[fn.__module__].__doc__ or "").strip()
        summary = doc.splitlines()[0] if doc else ""
        CHECKS[name] = Check(name, order, dict(codes), fn, cost, summary)
        ordered = sorted(CHECKS.values(), key=lambda check: check.order)
        CHECKS.clear()
        CHECKS.update((check.name, check) for check in ordered)
        return fn

    return decorator


def select_checks(names: Sequence[str] | None) -> list[Check]:
    """The checks to run, in report order.

    Args:
        names: Check names, or None for all.

    Returns:
        The registered checks named, in their report order.

    Raises:
        UsageError: When a name is not a registered check.
    """
    if names is None:
        return list(CHECKS.values())
    unknown = [name for name in names if name not in CHECKS]
    if unknown:
        raise UsageError(
            f"unknown check(s): {', '.join(unknown)}",
            hint=f"known checks: {', '.join(CHECKS)}",
        )
    wanted = set(names)
    return [check for check in CHECKS.values() if check.name in wanted]


def result_from(
    name: str,
    findings: list[Finding],
    *,
    metrics: dict[str, object] | None = None,
    detail: str = "",
) -> CheckResult:
    """A result whose status follows from its findings (failed when any is an error).

    Args:
        name: The check's name.
        findings: What it found.
        metrics: What it measured.
        detail: A short note.

    Returns:
        The check result.
    """
    failed = any(f.severity == "error" for f in findings)
    return CheckResult(
        name=name,
        status="failed" if failed else "passed",
        findings=findings,
        metrics=dict(metrics or {}),
        detail=detail,
    )
