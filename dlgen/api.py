"""The public verbs: analyze, generate, validate.

``generate`` runs the whole pipeline: analyze -> render -> stage -> validate ->
deliver. Only a project that passed validation (or one the caller explicitly
asked to keep, or to skip validation for) reaches the output directory.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlgen.agent import Analysis, analyze, analyze_detailed
from dlgen.delivery.writer import check_output_dir, commit_staging, discard, stage_files
from dlgen.spec import Spec
from dlgen.validators.report import CheckResult, Report

__all__ = ["GenerateResult", "analyze", "analyze_detailed", "generate", "validate"]

REPORT_PATH = ".dlgen/report.json"

# A progress callback receives a stage name ("analyze", "render", "validate",
# "deliver", or "check:<name>") and, for checks, the finished CheckResult.
Progress = Callable[[str, CheckResult | None], None]


@dataclass
class GenerateResult:
    """What :func:`generate` did.

    Attributes:
        spec: The Spec the project was rendered from.
        analysis: How the Spec was obtained (None when a Spec was given).
        out_dir: Where the project now is, or None when it was not delivered.
        files: Project-relative paths of the rendered files.
        report: The validation report, or None with ``validate=False``.
        delivered: Whether the project was written to ``out_dir``.
    """

    spec: Spec
    analysis: Analysis | None
    out_dir: Path | None
    files: list[str] = field(default_factory=list)
    report: Report | None = None
    delivered: bool = False

    @property
    def ok(self) -> bool:
        """True when validation passed (or was skipped on request)."""
        return self.report is None or self.report.ok

    @property
    def verified(self) -> bool:
        """True only when validation ran and passed."""
        return self.report is not None and self.report.ok

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible summary for ``--json`` output and the PR bot."""
        report = self.report
        return {
            "ok": self.ok,
            "verified": self.verified,
            "delivered": self.delivered,
            "out_dir": str(self.out_dir) if self.out_dir else None,
            "spec": self.spec.to_dict(),
            "files": self.files,
            "parameters": report.metric("params") if report else None,
            "flops": report.metric("flops") if report else None,
            "step_seconds": report.metric("step_time_s") if report else None,
            "report": report.to_dict() if report else None,
            "backend": self.analysis.backend if self.analysis else None,
            "usage": _usage_dict(self.analysis),
            "notes": list(self.analysis.notes) if self.analysis else [],
        }


def _usage_dict(analysis: Analysis | None) -> dict[str, Any] | None:
    if analysis is None or analysis.usage is None:
        return None
    usage = analysis.usage
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "seconds": round(usage.seconds, 3),
        "requests": usage.requests,
    }


def _noop(stage: str, result: CheckResult | None) -> None:
    del stage, result


def generate(
    spec_or_request: Spec | str,
    out_dir: str | Path | None = None,
    *,
    force: bool = False,
    validate: bool = True,
    keep_failed: bool = False,
    backend: str = "offline",
    progress: Progress | None = None,
    checks: Sequence[str] | None = None,
    **analyze_options: Any,
) -> GenerateResult:
    """Generate a verified project from a request or a Spec.

    Args:
        spec_or_request: A request in Chinese or English, or a ready Spec.
        out_dir: Destination directory; defaults to ``./<spec.name>``.
        force: Replace a non-empty destination.
        validate: Run the validation pipeline before delivery.
        keep_failed: Deliver a project that failed validation (with its report).
        backend: Analysis backend for a request ("offline", "openai", ...).
        progress: Called as each stage starts and each check ends.
        checks: Run only these validation checks (default: all).
        **analyze_options: Passed to the analysis backend.

    Returns:
        The result; ``result.delivered`` says whether files reached ``out_dir``.

    Raises:
        UsageError: For a request that cannot be analyzed, an invalid Spec, a
            family without templates, or a non-empty destination without force.
    """
    from dlgen.render import render

    report_progress = progress or _noop
    analysis: Analysis | None = None
    if isinstance(spec_or_request, Spec):
        spec = spec_or_request
    else:
        report_progress("analyze", None)
        analysis = analyze_detailed(spec_or_request, backend, **analyze_options)
        spec = analysis.spec
    destination = Path(out_dir) if out_dir is not None else Path.cwd() / spec.name
    check_output_dir(destination, force=force)

    report_progress("render", None)
    files = render(spec)
    staging = stage_files(files, destination)
    try:
        report = _validate_staging(staging, validate, checks, report_progress)
        result = GenerateResult(spec, analysis, None, sorted(files), report)
        if report is not None:
            _write_measured_readme(spec, staging, report)
            _write_report(staging, report)
        if result.ok or keep_failed:
            report_progress("deliver", None)
            result.out_dir = commit_staging(staging, destination, force=force)
            result.delivered = True
        return result
    finally:
        if staging.exists():
            discard(staging)


def _validate_staging(
    staging: Path,
    enabled: bool,
    checks: Sequence[str] | None,
    progress: Progress,
) -> Report | None:
    if not enabled:
        return None
    from dlgen.validators import validate as run_validation

    progress("validate", None)
    report = run_validation(
        staging,
        checks=checks,
        progress=lambda name, result: progress(f"check:{name}", result),
    )
    report.project = staging.name
    return report


def _write_measured_readme(spec: Spec, project: Path, report: Report) -> None:
    """Re-render the README with the figures the smoke check measured."""
    from dlgen.render import render

    smoke = report.check("smoke")
    if smoke is None or smoke.status != "passed" or "params" not in smoke.metrics:
        return
    keys = (
        "params",
        "trainable_params",
        "flops",
        "step_time_s",
        "peak_memory_mb",
        "device",
        "batch_size",
    )
    measured = {key: smoke.metrics.get(key) for key in keys}
    readme = render(spec, measurements=measured)["README.md"]
    (project / "README.md").write_text(readme, encoding="utf-8", newline="\n")


def _write_report(project: Path, report: Report) -> None:
    path = project / REPORT_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")


def validate(
    path: str | Path,
    *,
    checks: Sequence[str] | None = None,
    progress: Callable[[str, CheckResult], None] | None = None,
    **options: Any,
) -> Report:
    """Validate any project directory (see :mod:`dlgen.validators`).

    Args:
        path: The project root.
        checks: Run only these checks (default: all that apply).
        progress: Called with each check's name and result as it ends.
        **options: Passed to the validation runner (timeout, memory_limit_mb, ...).

    Returns:
        The report; ``report.ok`` says whether it passed.
    """
    from dlgen.validators import validate as run_validation

    return run_validation(Path(path), checks=checks, progress=progress, **options)
