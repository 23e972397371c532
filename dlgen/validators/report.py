"""The common result types of validation: findings, per-check results, the report."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["error", "warning", "info"]
CheckStatus = Literal["passed", "failed", "skipped", "error"]


class Finding(BaseModel):
    """One problem a check found, located in the project.

    Attributes:
        check: Name of the check that found it ("english", "docstrings", ...).
        code: Stable code, e.g. "DLG101".
        severity: "error" fails validation; "warning" and "info" do not.
        file: Path relative to the project root, or "" when not about one file.
        line: 1-based line, or 0 when unknown.
        column: 1-based column, or 0 when unknown.
        message: What is wrong.
        hint: What to do about it.
    """

    model_config = ConfigDict(extra="forbid")

    check: str
    code: str
    severity: Severity = "error"
    file: str = ""
    line: int = 0
    column: int = 0
    message: str
    hint: str = ""

    def location(self) -> str:
        """``file:line:col`` with the unknown parts left out."""
        parts = [self.file or "<project>"]
        if self.line:
            parts.append(str(self.line))
            if self.column:
                parts.append(str(self.column))
        return ":".join(parts)


class CheckResult(BaseModel):
    """The outcome of one check.

    Attributes:
        name: The check's name.
        status: passed, failed (it found errors), skipped (not applicable), or
            error (the check itself could not run).
        seconds: Wall time the check took.
        findings: What it found.
        metrics: Figures it measured (parameter count, step time, ...).
        detail: A short human-readable note (why skipped, the tool's last output).
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    status: CheckStatus
    seconds: float = 0.0
    findings: list[Finding] = Field(default_factory=list)
    metrics: dict[str, Any] = Field(default_factory=dict)
    detail: str = ""


class Report(BaseModel):
    """Everything validation found about one project."""

    model_config = ConfigDict(extra="forbid")

    project: str = ""
    checks: list[CheckResult] = Field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when no check failed or errored."""
        return all(c.status in ("passed", "skipped") for c in self.checks)

    @property
    def findings(self) -> list[Finding]:
        """All findings of all checks, in check order."""
        return [f for c in self.checks for f in c.findings]

    @property
    def errors(self) -> list[Finding]:
        """Findings with severity 'error'."""
        return [f for f in self.findings if f.severity == "error"]

    def check(self, name: str) -> CheckResult | None:
        """The result of the named check, if it ran."""
        return next((c for c in self.checks if c.name == name), None)

    def metric(self, name: str, default: Any = None) -> Any:
        """A metric from any check (the first that reports it)."""
        for check in self.checks:
            if name in check.metrics:
                return check.metrics[name]
        return default

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dictionary, including ``ok``."""
        data = self.model_dump(mode="json")
        data["ok"] = self.ok
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """Inverse of :meth:`to_dict` (``ok`` is recomputed)."""
        return cls.model_validate({k: v for k, v in data.items() if k != "ok"})
