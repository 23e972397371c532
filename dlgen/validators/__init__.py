"""Validation: nothing dlgen delivers is unchecked.

>>> from dlgen.validators import validate, exit_code
>>> report = validate("./vit_imagenet")          # doctest: +SKIP
>>> exit_code(report)                            # doctest: +SKIP
0

See :mod:`dlgen.validators.runner` for what runs on which projects, and the module of
each check under :mod:`dlgen.validators.checks` for what it catches and its codes.
"""

from dlgen.validators.display import format_metrics, render_report_table, report_to_markdown
from dlgen.validators.registry import CHECKS, Check, CheckOptions, register_check
from dlgen.validators.report import CheckResult, Finding, Report
from dlgen.validators.runner import exit_code, validate

__all__ = [
    "CHECKS",
    "Check",
    "CheckOptions",
    "CheckResult",
    "Finding",
    "Report",
    "exit_code",
    "format_metrics",
    "register_check",
    "render_report_table",
    "report_to_markdown",
    "validate",
]
