"""Time each validation check on a project, with a cold and then a warm mypy cache.

Usage::

    python benchmarks/validate_checks.py PATH [--jobs N] [--check NAME ...] [--timeout S]

The first run uses a fresh, empty dlgen cache directory (mypy analyses torch from
scratch); the second reuses it. ``--jobs 1`` (the default) runs the checks one after
another so each time is the check's own; the validator's default runs them in parallel.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from dlgen.validators import validate
from dlgen.validators.report import Report


def _row(name: str, cold: Report, warm: Report) -> str:
    """One line of the table: a check's status and seconds in both runs."""
    a, b = cold.check(name), warm.check(name)
    assert a is not None and b is not None
    return f"{name:<12} {a.status:<8} {a.seconds:>8.2f} {b.status:<8} {b.seconds:>8.2f}"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table.

    Args:
        argv: Command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        0 when both runs passed, 1 otherwise.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--check", action="append", dest="checks")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dlgen-bench-cache-") as cache:
        runs = [
            validate(
                args.path,
                checks=args.checks,
                jobs=args.jobs,
                timeout=args.timeout,
                cache_dir=Path(cache),
            )
            for _ in ("cold", "warm")
        ]
    cold, warm = runs
    print(f"{'check':<12} {'cold':<8} {'seconds':>8} {'warm':<8} {'seconds':>8}")
    for check in cold.checks:
        print(_row(check.name, cold, warm))
    print(f"{'total':<12} {'':<8} {cold.seconds:>8.2f} {'':<8} {warm.seconds:>8.2f}")
    for label, report in (("cold", cold), ("warm", warm)):
        mypy = report.metric("mypy_seconds")
        if mypy is not None:
            print(f"mypy alone ({label}): {mypy:.2f} s")
    smoke = warm.check("smoke")
    if smoke is not None and smoke.metrics:
        print("smoke metrics:", {k: v for k, v in smoke.metrics.items()})
    return 0 if cold.ok and warm.ok else 1


if __name__ == "__main__":
    sys.exit(main())
