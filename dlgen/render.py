"""Render a Spec into the files of a project: pure Spec -> ``{relative_path: text}``.

Template folders under :mod:`dlgen.templates` are layered in a fixed order:
``project/`` (every project), ``tasks/<task>/`` (the task's data, losses, metrics and
step), the ``shared/`` folders the task and model declare, ``models/<family>/`` (the
architecture) with the model files of any model folder it declares, then the layer
files the model imports (``from ..layers.<name> import``), transitively, from
``layers/``. Each folder's ``contract.yaml`` (:mod:`dlgen.contracts`) is checked
before rendering and against the rendered configs before formatting. Paths
inside a folder are paths inside the project; ``src/pkg/`` stands for
``src/<package>/`` and ``__dataset__`` in a file name for the dataset key. Files
ending in ``.j2`` are rendered with a sandboxed Jinja environment; others are copied.

The output is canonical: every Python file goes through ruff's import sort and
black, and the same Spec and dlgen version give byte-identical files.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

import black
import yaml
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from dlgen import catalog, contracts
from dlgen.contracts import CONTRACT_FILE, ModelContract, Rendered, TemplateProblem
from dlgen.errors import FamilyNotAvailable
from dlgen.spec import Spec
from dlgen.template_folders import TEMPLATES_ROOT
from dlgen.version import __version__

__all__ = ["TEMPLATES_ROOT", "TemplateProblem", "check_contract", "layered_sources", "render"]
LINE_LENGTH = 100
_PACKAGE_DIR = "src/pkg/"
_DATASET_PLACEHOLDER = "__dataset__"
_SKIPPED_NAMES = {"__pycache__", ".DS_Store"}
_MODEL_FILES = "src/pkg/models"
_LAYER_IMPORT = re.compile(r"^\s*from\s+\.\.layers\.([a-z_][a-z0-9_]*)\s+import\b", re.MULTILINE)
_LAYER_PACKAGE_IMPORT = re.compile(r"^\s*from\s+\.\.layers\s+import\s+([^\n#]+)", re.MULTILINE)
_SIBLING_IMPORT = re.compile(r"^\s*from\s+\.([a-z_][a-z0-9_]*)\s+import\b", re.MULTILINE)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]#|~])")
_BYTES_PER_ELEMENT = {"fp32": 4, "bf16": 2, "fp16": 2}
_FORMAT_WORKERS = 4


@dataclass(frozen=True)
class Source:
    """One template file and where it lands in the project.

    Attributes:
        path: Path inside the project (POSIX, placeholders resolved, ``.j2`` removed).
        origin: The template file on disk.
        jinja: Whether the file is rendered with Jinja.
    """

    path: str
    origin: Path
    jinja: bool


def render(
    spec: Spec,
    *,
    templates: Path | None = None,
    measurements: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Render every file of the project a Spec describes.

    Args:
        spec: The validated Spec.
        templates: Root of the template folders; dlgen's own by default.
        measurements: Figures the smoke check measured (``params``, ``flops``,
            ``step_time_s``, ``peak_memory_mb``, ``device``, ``batch_size``), shown in the
            README's performance notes; None before validation.

    Returns:
        Project-relative POSIX paths mapped to file text, sorted by path.

    Raises:
        FamilyNotAvailable: If the family has no template folder or the task none.
        TemplateProblem: If a template is broken (a contract not kept, a missing layer,
            a Jinja error).
    """
    rendered = _render_checked(spec, templates or TEMPLATES_ROOT, measurements)
    files = {path: file.text for path, file in rendered.items()}
    python = [path for path in files if path.endswith(".py")]
    with ThreadPoolExecutor(max_workers=_FORMAT_WORKERS) as pool:
        formatted = pool.map(
            lambda path: format_python(files[path], path=path, package=spec.package_name), python
        )
        files.update(zip(python, formatted, strict=True))
    files[".dlgen/spec.yaml"] = spec_manifest(spec)
    return dict(sorted(files.items()))


def check_contract(spec: Spec, *, templates: Path | None = None) -> dict[str, str]:
    """Render a Spec's project without formatting, checking every folder contract.

    Milliseconds per project: what :func:`render` does before its formatting pass.

    Args:
        spec: The validated Spec.
        templates: Root of the template folders; dlgen's own by default.

    Returns:
        Project path -> rendered (unformatted) text.

    Raises:
        FamilyNotAvailable: If the family has no template folder or the task none.
        TemplateProblem: Naming the folder, the file and the key that break a contract.
    """
    rendered = _render_checked(spec, templates or TEMPLATES_ROOT, None)
    return {path: file.text for path, file in rendered.items()}


def _render_checked(
    spec: Spec, root: Path, measurements: Mapping[str, Any] | None
) -> dict[str, Rendered]:
    task_dir, model_dir = _folders(spec, root)
    contracts.check_sources(spec, task_dir, model_dir, root)
    sources = layered_sources(spec, root)
    context = _context(spec, sources, root)
    context["measured"] = dict(measurements) if measurements else None
    environment = _environment(root)
    rendered: dict[str, Rendered] = {}
    for path, source in sources.items():
        text = source.origin.read_text(encoding="utf-8")
        if source.jinja:
            text = _render_text(environment, source, text, context)
        rendered[path] = Rendered(text, source.origin)
    contracts.check_rendered(spec, rendered, task_dir, model_dir)
    return rendered


def _folders(spec: Spec, root: Path) -> tuple[Path, Path]:
    """The task and model template folders of a Spec.

    Raises:
        FamilyNotAvailable: If the family or the task has no template folder.
    """
    model_dir = root / "models" / spec.model.family
    if not model_dir.is_dir():
        raise FamilyNotAvailable(
            f"dlgen has no templates for {spec.family.names.en} ({spec.model.family!r}) yet",
            hint="choose a family with templates; `dlgen list` marks which ones can be generated",
        )
    task_dir = root / "tasks" / spec.task
    if not task_dir.is_dir():
        raise FamilyNotAvailable(
            f"dlgen has no templates for the task {spec.task!r} yet",
            hint="choose a task with templates; `dlgen list` shows the supported tasks",
        )
    return task_dir, model_dir


def layered_sources(spec: Spec, root: Path) -> dict[str, Source]:
    """The template files a Spec's project is made of, keyed by project path.

    Args:
        spec: The validated Spec.
        root: Root of the template folders.

    Returns:
        Project path -> source, for the project, task, shared, model and layer folders.

    Raises:
        FamilyNotAvailable: If the family or the task has no template folder.
        TemplateProblem: If two folders provide the same file or a layer is missing.
    """
    task_dir, model_dir = _folders(spec, root)
    replacements = {_DATASET_PLACEHOLDER: spec.dataset.name}
    sources: dict[str, Source] = {}
    for folder in (root / "project", task_dir, *_shared_folders(task_dir, model_dir, root)):
        _add_folder(sources, folder, spec.package_name, replacements)
    _add_folder(sources, model_dir, spec.package_name, replacements)
    for used in _used_models(model_dir, root):
        _add_folder(sources, used / _MODEL_FILES, spec.package_name, replacements,
                    prefix=f"{_MODEL_FILES}/")  # fmt: skip
    _add_layers(sources, root / "layers", spec.package_name)
    return sources


def _shared_folders(task_dir: Path, model_dir: Path, root: Path) -> list[Path]:
    names = [*contracts.contract_of(task_dir).shared, *contracts.contract_of(model_dir).shared]
    return [root / "shared" / name for name in dict.fromkeys(names)]


def _used_models(model_dir: Path, root: Path) -> list[Path]:
    """Model folders whose model files ``model_dir`` declares it imports, transitively."""
    found: list[Path] = []
    pending = [model_dir]
    while pending:
        contract = contracts.contract_of(pending.pop())
        assert isinstance(contract, ModelContract)
        for name in contract.models:
            folder = root / "models" / name
            if folder != model_dir and folder not in found:
                found.append(folder)
                pending.append(folder)
    return found


def _add_folder(
    sources: dict[str, Source],
    folder: Path,
    package: str,
    replacements: dict[str, str],
    prefix: str = "",
) -> None:
    for origin in sorted(folder.rglob("*")):
        relative = origin.relative_to(folder)
        if origin.is_dir() or _SKIPPED_NAMES.intersection(relative.parts):
            continue
        if origin.suffix in {".pyc", ".pyo"} or relative.as_posix() == CONTRACT_FILE:
            continue
        path = _project_path(prefix + relative.as_posix(), package, replacements)
        _add(sources, Source(path.removesuffix(".j2"), origin, origin.suffix == ".j2"))


def _project_path(relative: str, package: str, replacements: dict[str, str]) -> str:
    if relative.startswith(_PACKAGE_DIR):
        relative = f"src/{package}/{relative[len(_PACKAGE_DIR):]}"
    for placeholder, value in replacements.items():
        relative = relative.replace(placeholder, value)
    return relative


def _add(sources: dict[str, Source], source: Source) -> None:
    if source.path in sources:
        raise TemplateProblem(
            f"two template folders provide {source.path}: {sources[source.path].origin} "
            f"and {source.origin}; a project file must come from exactly one folder"
        )
    sources[source.path] = source


def _add_layers(sources: dict[str, Source], layers_dir: Path, package: str) -> None:
    """Add the layer files that model and layer files import, transitively."""
    layer_prefix = f"src/{package}/layers/"
    model_prefix = f"src/{package}/models/"
    pending = [s for p, s in sources.items() if p.startswith((model_prefix, layer_prefix))]
    while pending:
        source = pending.pop()
        text = source.origin.read_text(encoding="utf-8")
        in_layers = source.path.startswith(layer_prefix)
        for name in sorted(_imported_layers(text, in_layers)):
            path = f"{layer_prefix}{name}.py"
            if path in sources:
                continue
            origin = _find_layer(layers_dir, name, source)
            sources[path] = Source(path, origin, origin.suffix == ".j2")
            pending.append(sources[path])


def _imported_layers(text: str, in_layers: bool) -> set[str]:
    names = set(_LAYER_IMPORT.findall(text))
    for group in _LAYER_PACKAGE_IMPORT.findall(text):
        names.update(
            part.split(" as ")[0].strip() for part in group.strip("()\\ ").split(",") if part
        )
    if in_layers:
        names.update(_SIBLING_IMPORT.findall(text))
    names.discard("__init__")
    return {name for name in names if name}


def _find_layer(layers_dir: Path, name: str, importer: Source) -> Path:
    for candidate in (layers_dir / f"{name}.py", layers_dir / f"{name}.py.j2"):
        if candidate.is_file():
            return candidate
    raise TemplateProblem(
        f"{importer.origin} imports layer {name!r} but {layers_dir} has no {name}.py; "
        "add the layer file or fix the import"
    )


# Jinja ---------------------------------------------------------------------------------


def _environment(root: Path) -> SandboxedEnvironment:
    environment = SandboxedEnvironment(
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    environment.filters.update(_FILTERS)
    return environment


def _render_text(
    environment: SandboxedEnvironment, source: Source, text: str, context: dict[str, Any]
) -> str:
    try:
        return environment.from_string(text).render(context)
    except TemplateError as exc:
        raise TemplateProblem(f"cannot render template {source.origin}: {exc}") from exc


def yaml_value(value: Any) -> str:
    """A value as one inline YAML scalar or flow collection (safe for untrusted text).

    Args:
        value: A primitive, list or mapping.

    Returns:
        YAML text without a trailing newline, e.g. ``'it''s'`` or ``[1, 2]``.
    """
    if isinstance(value, tuple):
        value = list(value)
    text: str = yaml.safe_dump(
        value, default_flow_style=True, allow_unicode=True, width=10**6, sort_keys=False
    )
    return text.removesuffix("\n").removesuffix("\n...").strip()


def markdown_escape(value: Any) -> str:
    """Text safe to place in Markdown prose: specials backslashed, HTML neutralised.

    Emphasis, code, links and images (``* _ ` [ ]``), headings (``#``), tables (``|``)
    and strike-through (``~``) are backslashed; ``& < >`` become entities; newlines become
    spaces so the text stays in its paragraph or list item.

    Args:
        value: Untrusted text (the request, an assumption).

    Returns:
        The escaped text on one line.
    """
    text = " ".join(str(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def python_literal(value: Any) -> str:
    """A typed primitive as a Python literal (only for validated Spec values).

    Args:
        value: None, bool, int, float, str, or a list/tuple of those.

    Returns:
        The literal's source text.

    Raises:
        TemplateProblem: If the value is not a primitive.
    """
    if value is None or isinstance(value, bool | int | float | str):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(python_literal(v) for v in value) + "]"
    raise TemplateProblem(f"refusing to render {type(value).__name__} into Python code")


def human_count(value: int | None) -> str:
    """A count with an SI suffix: 86567656 -> '86.57 M'; None -> 'n/a'."""
    if value is None:
        return "n/a"
    for divisor, suffix in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K")):
        if abs(value) >= divisor:
            return f"{value / divisor:.2f} {suffix}"
    return str(value)


def human_bytes(value: int | None) -> str:
    """A byte size in binary units: 1536 -> '1.50 KiB'; None -> 'n/a'."""
    if value is None:
        return "n/a"
    for divisor, suffix in ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if value >= divisor:
            return f"{value / divisor:.2f} {suffix}"
    return f"{value} B"


def json_string(value: Any) -> str:
    """A value as JSON text, which is also a valid TOML basic string or array."""
    return json.dumps(value, ensure_ascii=False)


_FILTERS: dict[str, Callable[..., str]] = {
    "yaml": yaml_value,
    "json": json_string,
    "md": markdown_escape,
    "py": python_literal,
    "count": human_count,
    "bytes": human_bytes,
}


# Context -------------------------------------------------------------------------------


def _context(spec: Spec, sources: dict[str, Source], root: Path) -> dict[str, Any]:
    package = spec.package_name
    template = spec.model.family
    paths = sorted(sources)
    task_dir, model_dir = _folders(spec, root)
    folders = [root / "project", task_dir, model_dir, *_used_models(model_dir, root)]
    dependencies, extras = contracts.requirements(spec, folders)
    return {
        "spec": spec,
        "package": package,
        "lang": spec.language,
        "version": __version__,
        "template": template,
        "family": spec.family,
        "task": spec.task_entry,
        "recipe": spec.family.recipe_for(
            spec.model.model_dump(mode="json"), spec.dataset.model_dump(mode="json")
        ),
        "model_modules": _modules(paths, f"src/{package}/models/", {"registry"}),
        "layer_modules": _modules(paths, f"src/{package}/layers/", set()),
        "debug_image_size": spec.model.debug_image_size(spec.dataset),
        "dependencies": dependencies,
        "extras": extras,
        "performance": performance(spec),
        "file_tree": file_tree([*paths, ".dlgen/spec.yaml"]),
        "training": spec.training.model_dump(mode="json"),
    }


def _modules(paths: Iterable[str], prefix: str, excluded: set[str]) -> list[str]:
    names = []
    for path in paths:
        if path.startswith(prefix) and path.endswith(".py") and "/" not in path[len(prefix) :]:
            name = path[len(prefix) : -len(".py")]
            if name != "__init__" and name not in excluded:
                names.append(name)
    return sorted(names)


def performance(spec: Spec) -> dict[str, Any]:
    """Figures the README reports, computed from the Spec alone.

    The family's hyperparameter model supplies them through the hooks declared on
    :class:`~dlgen.spec.hparams.ArchitectureHParams`: ``estimate_flops(dataset)`` (forward
    FLOPs per sample), ``estimate_activations(dataset)`` (activation elements kept for the
    backward pass, per sample) and ``complexity_notes(dataset)`` (block -> big-O); a family
    that does not estimate returns None (the README shows "n/a").

    Args:
        spec: The validated Spec.

    Returns:
        ``parameters``, ``trainable_parameters`` (None: all of them), ``input_shape`` and
        ``output_shape`` (one sample's, without the
        batch axis), ``flops_per_sample``, ``flops_per_step`` (forward and backward,
        about 3x forward, per device batch), ``activation_bytes`` (at the configured
        batch size and precision), ``weights_bytes``, ``training_state_bytes`` and
        ``complexity`` (a list of ``(block, big_o)``).
    """
    model, dataset, training = spec.model, spec.dataset, spec.training
    parameters = spec.estimated_parameters()
    trainable = model.estimate_trainable_parameters(dataset)
    trained = parameters if trainable is None else trainable
    flops = model.estimate_flops(dataset)
    activations = model.estimate_activations(dataset)
    notes = model.complexity_notes(dataset)
    element = _BYTES_PER_ELEMENT[training.precision]
    output = model.output_shape(catalog.task(spec.task).output_shape(dataset))
    return {
        "parameters": parameters,
        "trainable_parameters": trainable,
        "input_shape": tuple(dataset.input_shape),
        "output_shape": output,
        "flops_per_sample": flops,
        "flops_per_step": None if flops is None else 3 * flops * training.batch_size,
        "activation_bytes": (
            None if activations is None else activations * training.batch_size * element
        ),
        "weights_bytes": parameters * 4,
        # fp32 weights, plus gradients and two AdamW moments (SGD keeps one buffer) of the
        # trained parameters only.
        "training_state_bytes": (parameters + trained * (3 if training.optimizer != "sgd" else 2))
        * 4,
        "complexity": [tuple(note) for note in notes],
    }


def file_tree(paths: Iterable[str]) -> str:
    """An indented tree of project paths (directories first, then files).

    Args:
        paths: Project-relative POSIX paths.

    Returns:
        One entry per line, two spaces per level, directories ending in '/'.
    """
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        parts = PurePosixPath(path).parts
        for part in parts[:-1]:
            node = node.setdefault(part + "/", {})
        node[parts[-1]] = None
    lines: list[str] = []
    _tree_lines(tree, 0, lines)
    return "\n".join(lines)


def _tree_lines(node: dict[str, Any], depth: int, lines: list[str]) -> None:
    directories = sorted(k for k, v in node.items() if v is not None)
    files = sorted(k for k, v in node.items() if v is None)
    for name in directories:
        lines.append("  " * depth + name)
        _tree_lines(node[name], depth + 1, lines)
    lines.extend("  " * depth + name for name in files)


# Formatting ----------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def format_python(text: str, *, path: str, package: str) -> str:
    """Canonical Python: ruff's import sort, then black, with the project's settings.

    Args:
        text: Rendered Python source.
        path: Its project path (for messages and first-party detection).
        package: The project's package name (first-party for import sorting).

    Returns:
        The formatted source.

    Raises:
        TemplateProblem: If the source does not parse.
    """
    try:
        compile(text, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise TemplateProblem(f"rendered {path} is not valid Python: {exc}") from exc
    text = _sort_imports(text, path=path, package=package)
    mode = black.Mode(line_length=LINE_LENGTH, target_versions={black.TargetVersion.PY310})
    try:
        return black.format_str(text, mode=mode)
    except black.InvalidInput as exc:  # pragma: no cover - compile() above catches these
        raise TemplateProblem(f"black cannot format {path}: {exc}") from exc


def _sort_imports(text: str, *, path: str, package: str) -> str:
    command = [
        _ruff_binary(),
        "check",
        "--isolated",
        "--select",
        "I",
        "--fix",
        "--exit-zero",
        "--quiet",
        "--line-length",
        str(LINE_LENGTH),
        "--target-version",
        "py310",
        "--config",
        f"lint.isort.known-first-party = [{package!r}]",
        "--stdin-filename",
        path,
        "-",
    ]
    result = subprocess.run(command, input=text, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise TemplateProblem(f"ruff could not sort the imports of {path}: {result.stderr}")
    return result.stdout


@cache
def _ruff_binary() -> str:
    from ruff.__main__ import find_ruff_bin

    return str(find_ruff_bin())


# Manifest ------------------------------------------------------------------------------


def spec_manifest(spec: Spec) -> str:
    """The text of ``.dlgen/spec.yaml``: dlgen's version and the Spec.

    Args:
        spec: The validated Spec.

    Returns:
        YAML with two keys, ``dlgen_version`` and ``spec`` (loadable with ``Spec.from_dict``).
    """
    document = {"dlgen_version": __version__, "spec": spec.to_dict()}
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
