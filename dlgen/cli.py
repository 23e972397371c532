"""The ``dlgen`` command line.

``dlgen "REQUEST" -o OUT`` is the main job (the ``generate`` command is implied
when the first argument is not a command name). Exit codes: 0 success, 1 the
project was generated but failed validation, 2 a bad request or bad usage.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dlgen import catalog
from dlgen.delivery.names import check_project_name
from dlgen.errors import DlgenError, SpecError
from dlgen.i18n import detect_language, pick
from dlgen.spec import Spec
from dlgen.version import __version__

EXIT_OK = 0
EXIT_FAILED_VALIDATION = 1
EXIT_USAGE = 2

console = Console(stderr=True, highlight=False)
stdout = Console(highlight=False, soft_wrap=True)


class DefaultCommandGroup(click.Group):
    """A group that runs ``generate`` when the first argument is not a command."""

    default_command = "generate"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Insert the default command unless a command or a group option comes first."""
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


def _backend_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """The analysis-backend options shared by ``generate`` and ``spec``."""
    options = [
        click.option(
            "--backend",
            type=click.Choice(["offline", "openai", "anthropic", "auto"]),
            default="offline",
            envvar="DLGEN_BACKEND",
            show_default=True,
            show_envvar=True,
            help="Requirement analyzer: the offline rules (no key, no network), an LLM, "
            "or auto (an LLM when a key is configured, else offline).",
        ),
        click.option("--model", envvar="DLGEN_MODEL", help="LLM model name."),
        click.option("--base-url", help="LLM API base URL (default: OPENAI_BASE_URL etc.)."),
        click.option("--timeout", type=click.FloatRange(min=0.1), help="LLM timeout, seconds."),
        click.option(
            "--max-tokens", type=click.IntRange(min=1), help="Cap on the LLM reply's tokens."
        ),
        click.option(
            "--max-reasks",
            type=click.IntRange(min=0, max=10),
            default=2,
            show_default=True,
            help="Re-asks when the LLM's Spec fails validation.",
        ),
        click.option(
            "--interactive",
            is_flag=True,
            help="Ask up to three questions when task, dataset or input shape were assumed.",
        ),
        click.option("-v", "--verbose", is_flag=True, help="Log the analysis and its costs."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _llm_options(params: dict[str, Any]) -> dict[str, Any]:
    names = ("model", "base_url", "timeout", "max_tokens", "max_reasks", "verbose")
    if params["backend"] == "offline":
        return {}
    return {name: params[name] for name in names if params.get(name) is not None}


@click.group(
    cls=DefaultCommandGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="dlgen")
def main() -> None:
    """Turn a deep-learning request into a complete, runnable, verified PyTorch project.

    \b
    Examples:
      dlgen "实现ViT用于ImageNet" -o vit_imagenet
      dlgen "ResNet-50 on CIFAR-10, batch size 128, AMP" -o resnet_cifar
      dlgen spec "2D Fourier Neural Operator for Darcy flow, 12 modes" --json
      dlgen --spec my_spec.yaml -o my_project
      dlgen list
      dlgen validate ./vit_imagenet

    The request may be Chinese, English or both. Values the request leaves open
    get sound defaults, listed as assumptions. Every project is checked
    (English-only code, docstrings, types, style, a forward/backward pass, its own
    tests) before it is written; one that fails is not delivered (exit 1).
    """


def _run(action: Callable[[], int], language: str = "en") -> None:
    """Run a command body, turning dlgen errors into a message and an exit code."""
    try:
        code = action()
    except DlgenError as error:
        _print_error(error, language)
        sys.exit(error.exit_code)
    sys.exit(code)


def _print_error(error: DlgenError, language: str) -> None:
    label = pick(language, "error", "错误")
    console.print(f"[bold red]{label}:[/] {escape(error.message)}")
    understood = getattr(error, "understood", None)
    if understood:
        items = ", ".join(f"{key}={value}" for key, value in understood.items())
        console.print(pick(language, "understood: ", "已识别: ") + escape(items))
    missing = getattr(error, "missing", None)
    if missing:
        console.print(pick(language, "missing: ", "缺少: ") + escape(", ".join(missing)))
    if error.hint:
        console.print(f"[yellow]{pick(language, 'hint', '提示')}:[/] {escape(error.hint)}")


def _load_spec_file(path: Path) -> Spec:
    """Read a Spec file: a bare Spec, or ``dlgen spec --json`` output (a "spec" key)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SpecError(f"cannot read spec file {path}: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("spec"), dict):
        data = data["spec"]
    if not isinstance(data, dict):
        raise SpecError(f"spec file {path} must hold a mapping of Spec fields")
    return Spec.from_dict(data, origin=str(path))


def _obtain_spec(request: str | None, spec_file: Path | None, params: dict[str, Any]) -> Any:
    """Analyze the request (or load the Spec file) and return an Analysis or a Spec."""
    from dlgen.agent import analyze_detailed

    if spec_file is not None:
        if request:
            raise click.UsageError("give either a REQUEST or --spec FILE, not both")
        return _load_spec_file(spec_file)
    if request is None:
        raise click.UsageError("give a REQUEST (in quotes) or --spec FILE")
    if params.get("verbose"):
        _enable_verbose_logging()
    analysis = analyze_detailed(request, params["backend"], **_llm_options(params))
    if params.get("interactive"):
        analysis = _clarify(request, analysis, params)
    if params.get("verbose"):
        _log_analysis(analysis)
    for note in analysis.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    return analysis


def _enable_verbose_logging() -> None:
    """Show dlgen's INFO logs (LLM model, prompt versions, attempts, tokens) on stderr."""
    from rich.logging import RichHandler

    logger = logging.getLogger("dlgen")
    if not any(isinstance(h, RichHandler) for h in logger.handlers):
        logger.addHandler(RichHandler(console=console, show_time=False, show_path=False))
    logger.setLevel(logging.INFO)


def _clarify(request: str, analysis: Any, params: dict[str, Any]) -> Any:
    """Ask the clarifying questions of :mod:`dlgen.agent.clarify` and re-analyze."""
    try:
        from dlgen.agent.clarify import apply_answers, clarifying_questions
    except ImportError:  # the clarification module is optional
        return analysis
    from dlgen.agent import analyze_detailed

    questions = clarifying_questions(analysis)
    if not questions:
        return analysis
    answers = [
        click.prompt(question.text, default=question.default, err=True) for question in questions
    ]
    augmented = apply_answers(request, questions, answers)
    return analyze_detailed(augmented, params["backend"], **_llm_options(params))


def _log_analysis(analysis: Any) -> None:
    console.print(f"[dim]backend: {analysis.backend}[/]")
    if analysis.usage is not None:
        usage = analysis.usage
        console.print(
            f"[dim]tokens in {usage.input_tokens}, out {usage.output_tokens}, "
            f"{usage.seconds:.2f} s, {usage.requests} request(s)[/]"
        )


def _spec_and_analysis(obtained: Any) -> tuple[Spec, Any]:
    if isinstance(obtained, Spec):
        return obtained, None
    return obtained.spec, obtained


# ---------------------------------------------------------------------------- generate


@main.command("generate")
@click.argument("request", required=False)
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(path_type=Path, file_okay=False),
    help="Output directory (default: ./<project name>). Must be empty unless --force.",
)
@click.option(
    "--spec",
    "spec_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Generate from an edited Spec (YAML or JSON) instead of a request.",
)
@click.option(
    "--name",
    help="Project and package name (lowercase letters, digits, underscores); "
    "default: derived from the request, e.g. vit_imagenet.",
)
@click.option("--force", is_flag=True, help="Replace a non-empty output directory.")
@click.option(
    "--no-validate",
    is_flag=True,
    help="Skip validation (faster). The project is then UNVERIFIED.",
)
@click.option(
    "--keep-failed",
    is_flag=True,
    help="Write a project that failed validation anyway, with its report (exit code stays 1).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result.")
@_backend_options
def generate_command(
    request: str | None,
    output: Path | None,
    spec_file: Path | None,
    name: str | None,
    force: bool,
    no_validate: bool,
    keep_failed: bool,
    as_json: bool,
    **params: Any,
) -> None:
    """Generate a verified project from REQUEST (or --spec FILE)."""
    language = detect_language(request or "")

    def action() -> int:
        from dlgen.api import generate

        spec, analysis = _spec_and_analysis(_obtain_spec(request, spec_file, params))
        if name is not None:
            spec = spec.model_copy(update={"name": check_project_name(name)})
        lang = spec.language
        if no_validate:
            console.print(
                "[bold yellow]"
                + pick(
                    lang,
                    "WARNING: --no-validate: this project is UNVERIFIED — nothing checked "
                    "that it runs.",
                    "警告：--no-validate：该项目未经验证——没有检查它能否运行。",
                )
                + "[/]"
            )
        progress = _Progress(lang, quiet=as_json)
        with progress:
            result = generate(
                spec,
                output,
                force=force,
                validate=not no_validate,
                keep_failed=keep_failed,
                progress=progress.update,
            )
        result.analysis = analysis
        if as_json:
            stdout.print_json(json.dumps(result.to_dict(), ensure_ascii=False))
        else:
            _print_generate_summary(result)
        return EXIT_OK if result.ok else EXIT_FAILED_VALIDATION

    _run(action, language)


class _Progress:
    """A rich status line that follows the pipeline's stages and checks."""

    def __init__(self, language: str, *, quiet: bool) -> None:
        self.language = language
        self.quiet = quiet or not console.is_terminal
        self.status = console.status("") if not self.quiet else None

    def __enter__(self) -> _Progress:
        if self.status is not None:
            self.status.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.status is not None:
            self.status.__exit__(None, None, None)

    def update(self, stage: str, result: Any = None) -> None:
        """Show the stage that starts, or print a line for a finished check."""
        texts = {
            "analyze": pick(self.language, "Analyzing the request…", "分析需求…"),
            "render": pick(self.language, "Rendering the project…", "生成项目文件…"),
            "validate": pick(self.language, "Validating…", "验证中…"),
            "deliver": pick(self.language, "Writing the project…", "写入项目…"),
        }
        if stage.startswith("check:") and result is not None:
            if not self.quiet:
                mark = {"passed": "[green]✓[/]", "skipped": "[dim]-[/]"}.get(
                    result.status, "[red]✗[/]"
                )
                console.print(f"  {mark} {result.name:<11} {result.seconds:6.1f} s")
            return
        if self.status is not None and stage in texts:
            self.status.update(texts[stage])


def _print_generate_summary(result: Any) -> None:
    spec: Spec = result.spec
    lang = spec.language
    _print_assumptions(spec)
    if result.report is not None and not result.report.ok:
        from dlgen.validators import render_report_table

        render_report_table(result.report, console)
    if result.delivered:
        state = (
            pick(lang, "verified", "已验证")
            if result.verified
            else (
                pick(lang, "UNVERIFIED", "未验证")
                if result.report is None
                else pick(lang, "FAILED validation, kept on request", "验证失败，按要求保留")
            )
        )
        stdout.print(
            pick(lang, "Project written to ", "项目已写入 ")
            + f"[bold]{escape(str(result.out_dir))}[/] ({len(result.files)} "
            + pick(lang, "files", "个文件")
            + f", {state})"
        )
        params = result.report.metric("params") if result.report else None
        step = result.report.metric("step_time_s") if result.report else None
        if params is not None:
            line = pick(lang, "parameters: ", "参数量: ") + f"{params:,}"
            if step is not None:
                line += pick(lang, ", one training step: ", "，单步训练: ") + f"{step:.3f} s"
            stdout.print(line)
        stdout.print(
            pick(lang, "Next: ", "下一步: ")
            + f"cd {escape(str(result.out_dir))} && pip install -e . && "
            + "python train.py --fast-dev-run"
        )
    else:
        console.print(
            "[bold red]"
            + pick(
                lang,
                "The project failed validation and was not written "
                "(use --keep-failed to inspect it).",
                "项目未通过验证，未写入（可用 --keep-failed 保留以便检查）。",
            )
            + "[/]"
        )


def _print_assumptions(spec: Spec) -> None:
    if not spec.assumptions:
        return
    lang = spec.language
    stdout.print(f"[bold]{pick(lang, 'Assumptions', '假设')}[/]")
    for assumption in spec.assumptions:
        stdout.print(f"  • {escape(assumption)}")


# ---------------------------------------------------------------------------- spec


@main.command("spec")
@click.argument("request", required=False)
@click.option(
    "--spec",
    "spec_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Check and show an existing Spec file instead.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the Spec and analysis as JSON.")
@click.option("--yaml", "as_yaml", is_flag=True, help="Print only the Spec as YAML (editable).")
@_backend_options
def spec_command(
    request: str | None, spec_file: Path | None, as_json: bool, as_yaml: bool, **params: Any
) -> None:
    """Show the Spec dlgen would build for REQUEST, with its assumptions. Writes nothing."""
    language = detect_language(request or "")

    def action() -> int:
        spec, analysis = _spec_and_analysis(_obtain_spec(request, spec_file, params))
        if as_yaml:
            click.echo(spec.to_yaml(), nl=False)
        elif as_json:
            payload: dict[str, Any] = {"spec": spec.to_dict()}
            if analysis is not None:
                payload["backend"] = analysis.backend
                payload["explicit"] = analysis.explicit
                payload["notes"] = analysis.notes
                payload["usage"] = _usage(analysis)
            click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        else:
            _print_spec_summary(spec)
        return EXIT_OK

    _run(action, language)


def _usage(analysis: Any) -> dict[str, Any] | None:
    if analysis.usage is None:
        return None
    usage = analysis.usage
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "seconds": round(usage.seconds, 3),
        "requests": usage.requests,
    }


def _print_spec_summary(spec: Spec) -> None:
    lang = spec.language
    family = spec.family
    variant = family.variant(spec.model.variant).names.en if spec.model.variant else None
    table = Table(show_header=False, box=None, padding=(0, 2))
    rows = [
        (pick(lang, "project", "项目"), spec.name),
        (pick(lang, "task", "任务"), spec.task),
        (
            pick(lang, "architecture", "架构"),
            family.names.display(lang) + (f" ({variant})" if variant else ""),
        ),
        (pick(lang, "dataset", "数据集"), spec.dataset.name),
        (pick(lang, "input shape", "输入形状"), str(tuple(spec.dataset.input_shape))),
    ]
    if spec.dataset.num_classes:
        rows.append((pick(lang, "classes", "类别数"), str(spec.dataset.num_classes)))
    hparams = spec.model.model_dump(exclude={"family", "variant"})
    rows.append(
        (pick(lang, "model", "模型参数"), ", ".join(f"{k}={v}" for k, v in hparams.items()))
    )
    training = spec.training
    rows.append(
        (
            pick(lang, "training", "训练"),
            f"{training.optimizer} lr={training.lr:g} wd={training.weight_decay:g} "
            f"{training.scheduler} epochs={training.epochs} batch={training.batch_size} "
            f"precision={training.precision}",
        )
    )
    rows.append(
        (pick(lang, "parameters (est.)", "参数量(估计)"), f"{spec.estimated_parameters():,}")
    )
    if family.template is None:
        rows.append(
            (
                pick(lang, "status", "状态"),
                pick(lang, "templates not available yet", "该架构的模板尚未提供"),
            )
        )
    for key, value in rows:
        table.add_row(f"[bold]{key}[/]", escape(value))
    stdout.print(table)
    _print_assumptions(spec)


# ---------------------------------------------------------------------------- list


@main.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the catalog as JSON.")
@click.option(
    "--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True, help="Language."
)
def list_command(as_json: bool, lang: str) -> None:
    """List the supported tasks, architectures (with their variants) and datasets."""
    if as_json:
        click.echo(json.dumps(_catalog_dict(), ensure_ascii=False, indent=2))
        sys.exit(EXIT_OK)
    tasks = Table(title=pick(lang, "Tasks", "任务"))
    for column, zh in (("key", "键"), ("name", "名称"), ("data", "数据"), ("default", "默认"),
                       ("generate", "可生成")):  # fmt: skip
        tasks.add_column(pick(lang, column, zh), no_wrap=column == "key")
    for task in catalog.all_tasks():
        tasks.add_row(
            task.key,
            task.names.display(lang),
            ", ".join(m.value for m in task.modalities),
            f"{task.default_family}, {task.default_dataset}",
            "✓" if task.template else pick(lang, "not yet", "暂不支持"),
        )
    stdout.print(tasks)
    table = Table(title=pick(lang, "Architectures", "架构"))
    for column in ("key", "name", "tasks", "variants", "generate"):
        table.add_column(
            pick(
                lang,
                column,
                {
                    "key": "键",
                    "name": "名称",
                    "tasks": "任务",
                    "variants": "变体",
                    "generate": "可生成",
                }[column],
            )
        )
    for family in catalog.all_families():
        table.add_row(
            family.key,
            family.names.display(lang),
            ", ".join(family.tasks),
            ", ".join(v.names.en for v in family.variants),
            "✓" if family.template else pick(lang, "not yet", "暂不支持"),
        )
    stdout.print(table)
    datasets = Table(title=pick(lang, "Datasets", "数据集"))
    for column in ("key", "name", "task", "shape", "classes"):
        datasets.add_column(column)
    for entry in catalog.all_datasets():
        datasets.add_row(
            entry.key,
            entry.names.display(lang),
            entry.task,
            "x".join(str(d) for d in entry.input_shape),
            str(entry.num_classes or "-"),
        )
    stdout.print(datasets)
    sys.exit(EXIT_OK)


def _catalog_dict() -> dict[str, Any]:
    return {
        "tasks": [
            {
                "key": t.key,
                "name": {"en": t.names.en, "zh": t.names.zh},
                "modalities": [m.value for m in t.modalities],
                "default_family": t.default_family,
                "default_dataset": t.default_dataset,
                "monitor": t.monitor,
                "metrics": list(t.metrics),
                "available": t.template is not None,
            }
            for t in catalog.all_tasks()
        ],
        "architectures": [
            {
                "key": f.key,
                "name": {"en": f.names.en, "zh": f.names.zh},
                "aliases": list(f.names.aliases),
                "tasks": list(f.tasks),
                "variants": [
                    {
                        "key": v.key,
                        "name": v.names.en,
                        "hparams": v.hparams,
                        "reference_params": v.reference_params,
                        "reference": v.reference,
                    }
                    for v in f.variants
                ],
                "available": f.template is not None,
            }
            for f in catalog.all_families()
        ],
        "datasets": [
            {
                "key": d.key,
                "name": {"en": d.names.en, "zh": d.names.zh},
                "task": d.task,
                "modality": d.modality.value,
                "input_shape": list(d.input_shape),
                "num_classes": d.num_classes,
            }
            for d in catalog.all_datasets()
        ],
    }


# ---------------------------------------------------------------------------- validate


@main.command("validate")
@click.argument("path", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option(
    "--check",
    "checks",
    multiple=True,
    help="Run only this check (repeatable): english, docstrings, types, style, smoke, tests.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=600,
    show_default=True,
    help="Seconds allowed to each check that runs project code.",
)
@click.option(
    "--memory-limit",
    "memory_limit_mb",
    type=click.IntRange(min=256),
    default=8192,
    show_default=True,
    help="Memory allowed to project code (MiB).",
)
@click.option(
    "--jobs", type=click.IntRange(min=1), help="Checks run in parallel (default: CPU count)."
)
def validate_command(
    path: Path,
    checks: tuple[str, ...],
    as_json: bool,
    timeout: float,
    memory_limit_mb: int,
    jobs: int | None,
) -> None:
    """Validate the project at PATH (exit 0 clean, 1 findings, 2 bad usage).

    A dlgen project gets every check. A hand-written project gets the static checks,
    its tests when it has a tests/ folder, and the smoke check when its
    pyproject.toml names an entry point in a [tool.dlgen] table (see README).
    """

    def action() -> int:
        from dlgen.api import validate
        from dlgen.validators import CHECKS, exit_code, render_report_table

        unknown = [name for name in checks if name not in CHECKS]
        if unknown:
            raise click.BadParameter(
                f"unknown check(s) {', '.join(unknown)}; known: {', '.join(CHECKS)}",
                param_hint="--check",
            )
        progress = _Progress("en", quiet=as_json)
        with progress:
            report = validate(
                path,
                checks=list(checks) or None,
                progress=lambda name, result: progress.update(f"check:{name}", result),
                timeout=timeout,
                memory_limit_mb=memory_limit_mb,
                jobs=jobs,
            )
        if as_json:
            click.echo(json.dumps(report.to_dict(), indent=2))
        else:
            render_report_table(report, stdout)
        return exit_code(report)

    _run(action)


def _register_optional_commands() -> None:
    """Add commands that live in their own packages (the PR bot)."""
    try:
        if importlib.util.find_spec("dlgen.delivery.pr.cli") is None:
            return
    except ModuleNotFoundError:
        return
    from dlgen.delivery.pr.cli import pr_command

    main.add_command(pr_command, "pr")


_register_optional_commands()


if __name__ == "__main__":  # pragma: no cover
    main(prog_name=os.path.basename(sys.argv[0]))
