"""Showing a report: a rich table for terminals, a Markdown table for READMEs and PRs."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dlgen.validators.report import CheckResult, Finding, Report

STATUS_STYLE = {"passed": "green", "failed": "red", "skipped": "dim", "error": "yellow"}
STATUS_MARK = {
    "passed": "✓ passed",
    "failed": "✗ failed",
    "skipped": "- skipped",
    "error": "! error",
}
MAX_FINDINGS_SHOWN = 20


def _human(value: float, unit: str = "") -> str:
    """1234567 -> '1.23M' (with an optional unit)."""
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.2f}{suffix}{unit}"
    return f"{value:g}{unit}"


def format_metrics(metrics: dict[str, Any]) -> str:
    """The figures a check measured, in one short line.

    Args:
        metrics: ``CheckResult.metrics``.

    Returns:
        E.g. ``params 86.57M · 35.14 GFLOPs · peak 1.20 GiB · step 0.850 s · cpu``.
    """
    parts = []
    if "params" in metrics:
        parts.append(f"params {_human(float(metrics['params']))}")
    if "flops" in metrics:
        parts.append(f"{_human(float(metrics['flops']), 'FLOPs')}")
    if "peak_memory_mb" in metrics:
        parts.append(f"peak {float(metrics['peak_memory_mb']) / 1024:.2f} GiB")
    if "step_time_s" in metrics:
        parts.append(f"step {float(metrics['step_time_s']):.3f} s")
    if metrics.get("device"):
        parts.append(str(metrics["device"]))
    if "mypy_seconds" in metrics:
        parts.append(f"mypy {float(metrics['mypy_seconds']):.1f} s")
    counts = [
        f"{metrics[k]} {k}" for k in ("passed", "failed", "errors", "skipped") if k in metrics
    ]
    parts.extend(counts)
    return " · ".join(parts)


def _notes(check: CheckResult) -> str:
    """The Notes column: the detail, or the metrics."""
    metrics = format_metrics(check.metrics)
    return " — ".join(part for part in (metrics, check.detail) if part)


def _finding_line(finding: Finding) -> str:
    """``file:line:col CODE message`` for one finding."""
    return f"{finding.location()} {finding.code} {finding.message}"


def render_report_table(report: Report, console: Console) -> None:
    """Print a report: one row per check, then the findings of each check.

    Args:
        report: The report.
        console: Where to print.
    """
    table = Table(title=f"Validation of {escape(report.project or 'project')}", expand=False)
    for column in ("Check", "Status", "Time", "Findings", "Notes"):
        table.add_column(column, overflow="fold")
    for check in report.checks:
        style = STATUS_STYLE.get(check.status, "")
        table.add_row(
            check.name,
            f"[{style}]{STATUS_MARK.get(check.status, check.status)}[/]",
            f"{check.seconds:.1f} s",
            str(len(check.findings)),
            escape(_notes(check)),
        )
    console.print(table)
    for check in report.checks:
        if not check.findings:
            continue
        console.print(f"[bold]{check.name}[/]")
        for finding in check.findings[:MAX_FINDINGS_SHOWN]:
            color = "red" if finding.severity == "error" else "yellow"
            console.print(f"  [{color}]{escape(_finding_line(finding))}[/]", soft_wrap=True)
        hidden = len(check.findings) - MAX_FINDINGS_SHOWN
        if hidden > 0:
            console.print(f"  ... and {hidden} more")
    verdict = "[green]passed[/]" if report.ok else "[red]failed[/]"
    console.print(f"{verdict} in {report.seconds:.1f} s")


def _md(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def report_to_markdown(report: Report) -> str:
    """A report as Markdown: a table of checks, then the findings as a list.

    Args:
        report: The report.

    Returns:
        Markdown text ending with a newline.
    """
    lines = [
        "| Check | Status | Time | Findings | Notes |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    for check in report.checks:
        lines.append(
            f"| {check.name} | {STATUS_MARK.get(check.status, check.status)} | "
            f"{check.seconds:.1f} s | {len(check.findings)} | {_md(_notes(check))} |"
        )
    lines.append("")
    lines.append(f"**{'Passed' if report.ok else 'Failed'}** in {report.seconds:.1f} s.")
    for check in report.checks:
        if not check.findings:
            continue
        lines.extend(["", f"### {check.name}", ""])
        for finding in check.findings:
            lines.append(
                f"- `{finding.location()}` **{finding.code}** "
                f"({finding.severity}) {_md(finding.message)}"
            )
    return "\n".join(lines) + "\n"
