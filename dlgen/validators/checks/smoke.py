"""smoke (DLG5xx): one training step of the real model runs and learns something.

What it catches, by running the project's ``[tool.dlgen] smoke = "module:function"``
entry point in a sandboxed child process (see :mod:`dlgen.validators._smoke_child`):

- the entry point or the model raising (DLG501, located at the deepest frame in the
  project's code), or returning something other than the documented dict (DLG510);
- a loss that is NaN or infinite (DLG502);
- an output whose shape is not ``expected_output_shape`` (DLG503);
- a trainable parameter with a NaN/inf gradient (DLG504), or with no gradient at all:
  it is detached from the graph, reported by name (DLG505); every gradient zero
  (DLG506); some parameters with all-zero gradients (DLG511, a warning);
- a step that runs past the timeout (DLG507), needs more memory than allowed (DLG508),
  or kills the interpreter (DLG509).

It also measures: parameter count, forward FLOPs (``FlopCounterMode``), peak memory
(CUDA max allocated, or the child's resident high-water mark on CPU) and the time of a
second, uninstrumented forward+backward step.

Why: shapes, dtypes and gradient flow are where generated models break, and none of
the static checks run the code. The child works on a copy of the project in a scratch
directory, with a scrubbed environment, a timeout and memory limits, so a broken or
hostile model can neither hang nor crash dlgen nor touch the project.

Projects without a ``[tool.dlgen]`` table get "skipped" with a note on how to opt in.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from dlgen.validators.project import SMOKE_ENTRY, Project, copy_project
from dlgen.validators.registry import CheckOptions, register_check, result_from
from dlgen.validators.report import CheckResult, Finding, Severity
from dlgen.validators.sandbox import (
    ADDRESS_SPACE_HEADROOM_MB,
    Outcome,
    cuda_possible,
    python_cmd,
    run_child,
    scrubbed_env,
)

NAME = "smoke"
CODES = {
    "DLG501": "the smoke entry point or the model raised an exception",
    "DLG502": "loss is not finite",
    "DLG503": "output shape differs from expected_output_shape",
    "DLG504": "a parameter's gradient is not finite",
    "DLG505": "a trainable parameter got no gradient (detached from the graph)",
    "DLG506": "every gradient is zero",
    "DLG507": "smoke step timed out",
    "DLG508": "smoke step exceeded the memory limit",
    "DLG509": "smoke child process died",
    "DLG510": "smoke entry point missing or not following the contract",
    "DLG511": "parameters with all-zero gradients (warning)",
}
OPT_IN = (
    "no [tool.dlgen] smoke entry in pyproject.toml; to opt in, add `[tool.dlgen]` with "
    '`smoke = "<package>.smoke:smoke_case"` (a function taking a torch.device and returning '
    '{model, inputs, expected_output_shape, loss_fn}) and `src = "src"`'
)
CHILD_MODULE = "dlgen.validators._smoke_child"
MAX_PARAM_FINDINGS = 20


def _dlgen_path(scratch: Path) -> Path:
    """A directory holding only ``dlgen`` (a link to this package), for the child's path."""
    package = Path(__file__).resolve().parents[2]  # .../dlgen (this file: dlgen/validators/checks)
    holder = scratch / "_dlgen_path"
    holder.mkdir()
    try:
        (holder / "dlgen").symlink_to(package, target_is_directory=True)
    except OSError:
        return package.parent
    return holder


class _Interpreter:
    """Turns the child's result (or its death) into findings."""

    def __init__(self, project: Project, copy_root: Path) -> None:
        self.project = project
        self.copy_root = copy_root.resolve()
        self.findings: list[Finding] = []

    def where(self, file: str | None) -> str:
        """A file the child reported, as a project-relative path ("" when outside)."""
        if not file:
            return ""
        try:
            return Path(file).resolve().relative_to(self.copy_root).as_posix()
        except ValueError:
            return ""

    def add(
        self,
        code: str,
        message: str,
        *,
        file: str = "",
        line: int = 0,
        severity: Severity = "error",
        hint: str = "",
    ) -> None:
        """Record a finding."""
        self.findings.append(
            Finding(
                check=NAME,
                code=code,
                severity=severity,
                file=file,
                line=line,
                message=message,
                hint=hint,
            )
        )

    def died(self, outcome: Outcome, options: CheckOptions, phase: str) -> None:
        """The child ended without a result."""
        during = f" during {phase}" if phase else ""
        cause = outcome.cause(options.timeout, options.memory_limit_mb)
        if outcome.timed_out:
            self.add(
                "DLG507",
                f"smoke step {cause}{during}",
                hint="Make the step faster or raise --timeout.",
            )
        elif outcome.memory_exceeded:
            self.add(
                "DLG508",
                f"smoke step {cause}{during}",
                hint="Reduce the model or batch size in smoke_case.",
            )
        else:
            tail = outcome.stderr.strip().splitlines()[-5:]
            what = cause or f"exited with status {outcome.returncode}"
            self.add("DLG509", f"smoke child {what}{during} without a result: " + " | ".join(tail))

    def error(self, error: dict[str, Any], phase: str) -> None:
        """The step raised."""
        frames = [f for f in error.get("frames", []) if self.where(f.get("file"))]
        last = frames[-1] if frames else {}
        file, line = self.where(last.get("file")), int(last.get("line") or 0)
        if not file and phase == "import entry point":
            file = "pyproject.toml"
        text = f"{error.get('type')}: {error.get('message', '')}".strip()
        if error.get("memory"):
            self.add(
                "DLG508",
                f"out of memory during {phase}: {text}",
                file=file,
                line=line,
                hint="Reduce the model or batch size in smoke_case.",
            )
        elif error.get("type") == "SmokeFailure":
            self.add(
                "DLG510",
                f"{text}",
                file=file,
                line=line,
                hint="smoke_case(device) must return a dict with model, inputs (a tuple "
                "of tensors), expected_output_shape and loss_fn.",
            )
        else:
            self.add("DLG501", f"{phase} raised {text}", file=file, line=line)

    def params(self, code: str, names: list[str], what: str, locations: dict[str, Any]) -> None:
        """One finding per parameter (capped)."""
        for name in names[:MAX_PARAM_FINDINGS]:
            inside = [(f, n) for f, n in locations.get(name, []) if self.where(f)]
            file, line = inside[0] if inside else ("", 0)
            self.add(code, f"parameter `{name}` {what}", file=self.where(file), line=line)
        if len(names) > MAX_PARAM_FINDINGS:
            self.add(code, f"... and {len(names) - MAX_PARAM_FINDINGS} more parameters {what}")

    def step(self, result: dict[str, Any]) -> None:
        """The step ran: check loss, shape and gradients."""
        file, line = result.get("model_location") or [None, 0]
        at: dict[str, Any] = {"file": self.where(file), "line": int(line or 0)}
        expected, got = result.get("expected_output_shape"), result.get("output_shape")
        if got is None:
            self.add(
                "DLG503",
                f"the model returned a {result.get('output_type')}, not a tensor "
                f"of shape {tuple(expected or ())}",
                **at,
            )
        elif list(got) != list(expected or []):
            self.add(
                "DLG503", f"output shape {tuple(got)} != expected {tuple(expected or ())}", **at
            )
        if not result.get("loss_finite", False):
            self.add("DLG502", f"loss is not finite: {result.get('loss')}", **at)
        grads, where = result.get("gradients", {}), result.get("locations", {})
        self.params("DLG504", grads.get("nonfinite", []), "has a NaN/inf gradient", where)
        self.params(
            "DLG505",
            grads.get("none", []),
            "got no gradient: it is detached from the graph (unused in forward, or "
            "used under no_grad/.detach())",
            where,
        )
        zero, total = grads.get("zero", []), int(grads.get("total", 0))
        if total and len(zero) == total:
            self.add("DLG506", f"all {total} trainable parameters have all-zero gradients", **at)
        elif zero:
            shown = ", ".join(f"`{n}`" for n in zero[:10])
            self.add(
                "DLG511",
                f"{len(zero)} parameter(s) have all-zero gradients: {shown}",
                severity="warning",
            )


def _run_child(
    project: Project, options: CheckOptions, scratch: Path
) -> tuple[Outcome, dict[str, Any] | None, Path]:
    """Copy the project, run the child, read its result."""
    copy = scratch / "project"
    copy_project(project, copy)
    work = scratch / "work"
    work.mkdir()
    src = project.src_dir
    src_copy = (
        copy / src.relative_to(project.root) if src and src.is_relative_to(project.root) else copy
    )
    result_path = scratch / "result.json"
    cuda = cuda_possible()
    limit = options.memory_limit_mb
    cmd = [
        *python_cmd(),
        "-m",
        CHILD_MODULE,
        "--entry",
        str(project.smoke_entry),
        "--result",
        str(result_path),
        "--device",
        "auto" if cuda else "cpu",
        "--memory-limit-mb",
        str(limit or 0),
    ]
    pythonpath = os.pathsep.join([str(src_copy), str(_dlgen_path(scratch))])
    outcome = run_child(
        cmd,
        cwd=work,
        timeout=options.timeout,
        env=scrubbed_env({"PYTHONPATH": pythonpath, "MPLBACKEND": "Agg"}),
        memory_limit_mb=limit,
        address_space_mb=None if cuda or limit is None else limit + ADDRESS_SPACE_HEADROOM_MB,
    )
    result = None
    if result_path.is_file():
        try:
            loaded = json.loads(result_path.read_text(encoding="utf-8"))
            result = loaded if isinstance(loaded, dict) else None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            result = None  # reported as a child that died without a result
    phase_path = result_path.with_suffix(".phase")
    if result is None and phase_path.is_file():
        result = {"phase": phase_path.read_text(encoding="utf-8"), "missing": True}
    return outcome, result, copy


@register_check(NAME, order=50, codes=CODES, cost=6)
def run(project: Project, options: CheckOptions) -> CheckResult:
    """Run the smoke step in a sandboxed child and check what it reports.

    Args:
        project: The project.
        options: Timeout and memory limit for the child.

    Returns:
        The check result, with metrics (params, flops, peak_memory_mb, step_time_s).
    """
    entry = project.smoke_entry
    if project.pyproject_error:
        finding = Finding(
            check=NAME, code="DLG510", file="pyproject.toml", message=project.pyproject_error
        )
        return result_from(NAME, [finding])
    if entry is None:
        return CheckResult(name=NAME, status="skipped", detail=OPT_IN)
    if not SMOKE_ENTRY.match(entry):
        finding = Finding(
            check=NAME,
            code="DLG510",
            file="pyproject.toml",
            message=f"[tool.dlgen] smoke = {entry!r} is not 'module:function'",
        )
        return result_from(NAME, [finding])
    with tempfile.TemporaryDirectory(prefix="dlgen-smoke-") as tmp:
        outcome, result, copy = _run_child(project, options, Path(tmp))
        judge = _Interpreter(project, copy)
        phase = (result or {}).get("phase", "")
        if result is None or result.get("missing") or outcome.timed_out or outcome.memory_exceeded:
            judge.died(outcome, options, phase)
        elif "error" in result:
            judge.error(result["error"], phase)
        else:
            judge.step(result)
    metrics = dict((result or {}).get("metrics", {}))
    metrics["device"] = (result or {}).get("device", "")
    metrics["child_seconds"] = round(outcome.seconds, 2)
    metrics["phase_seconds"] = dict((result or {}).get("phase_seconds", {}))
    return result_from(NAME, judge.findings, metrics=metrics, detail=f"entry {entry}")
