"""docstrings (DLG2xx): every public module, class, function and method has a complete
Google-style docstring.

What it catches:

- from ruff's pydocstyle rules with ``convention = "google"`` (run with its own
  configuration, whatever the project configures): missing docstrings (D1xx, DLG201),
  malformed ones (DLG202), an ``Args:`` section missing some parameters (D417, DLG203);
- with :mod:`ast`, what pydocstyle does not check:
  - a public function with parameters but no ``Args:`` section at all (DLG203;
    ``__init__`` arguments may be documented in the class docstring instead),
  - an ``Args:`` entry naming a parameter the function does not have (DLG204),
  - a function returning a value (a value-returning ``return`` or a non-None return
    annotation) without ``Returns:``, a generator without ``Yields:`` (DLG205),
  - an exception the body raises directly that ``Raises:`` does not name (DLG206;
    ``NotImplementedError`` and raises caught by a surrounding ``try`` are exempt),
  - a function taking or returning tensors (an annotation mentions ``Tensor``) whose
    docstring gives no shape: neither a parenthesized shape like ``(B, C, H, W)`` or
    ``(N,)`` nor the word "shape" (DLG207).

Why: the generated code is the product users read; a docstring that lists arguments
that do not exist or hides the shapes of tensors is worse than none. ``forward``
methods are held to the same rule although they override ``nn.Module.forward``.
Test functions and pytest fixtures need a docstring but no sections; so do
``@overload`` stubs and the method declarations of a ``Protocol``. As the Google style
guide allows, a docstring whose summary starts with "Returns"/"Yields" needs no
``Returns:`` section, and properties document their value in the summary.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

from dlgen.validators.project import Project
from dlgen.validators.registry import CheckOptions, register_check, result_from
from dlgen.validators.report import CheckResult, Finding
from dlgen.validators.tools import DOCSTRING_RULES, GOOGLE_CONVENTION, python_targets, ruff_json

NAME = "docstrings"
CODES = {
    "DLG201": "missing docstring (ruff D1xx)",
    "DLG202": "docstring does not follow the Google style (other ruff D rules)",
    "DLG203": "Args: does not document every parameter (ruff D417, or no Args: at all)",
    "DLG204": "Args: documents a parameter the function does not have",
    "DLG205": "Returns:/Yields: missing for a function that returns or yields a value",
    "DLG206": "Raises: does not name an exception the body raises",
    "DLG207": "tensor shapes not documented for a function taking or returning tensors",
    "DLG208": "file cannot be parsed",
}
_MISSING = {"D100", "D101", "D102", "D103", "D104", "D106"}
_SECTION = re.compile(r"^(\s*)([A-Z][A-Za-z ]*):\s*$")
_ARGS_SECTIONS = {"Args", "Arguments", "Parameters", "Params", "Keyword Args", "Keyword Arguments"}
_RETURNS_SECTIONS = {"Returns", "Return"}
_YIELDS_SECTIONS = {"Yields", "Yield"}
_RAISES_SECTIONS = {"Raises"}
_ENTRY = re.compile(r"^\s*(\*{0,2}[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)\s*(\([^)]*\))?\s*:")
_SHAPE = re.compile(
    r"\bshapes?\b|[(\[]\s*[\w*+\-/.]+\s*,(?:\s*[\w*+\-/.]+\s*,?)*\s*[)\]]", re.IGNORECASE
)
_TENSOR = re.compile(r"\bTensor\b")
_NO_VALUE = {"None", "NoReturn", "Never", "typing.NoReturn", "typing.Never"}
_EXEMPT_RAISES = {"NotImplementedError"}
# Google style: "Returns:" may be left out when the summary starts with "Returns"/"Yields".
_RETURNS_SUMMARY = re.compile(r"^\s*(Returns?|Yields?)\b")


def parse_sections(doc: str) -> dict[str, list[str]]:
    """Split a Google-style docstring into its sections' entry names.

    Args:
        doc: The cleaned docstring (``inspect.cleandoc`` form, as ``ast`` returns it).

    Returns:
        Section title -> the names its entries document (for ``Args:`` the parameter
        names, for ``Raises:`` the exception names; other sections: first words).
    """
    sections: dict[str, list[str]] = {}
    current: str | None = None
    entry_indent: int | None = None
    for line in doc.splitlines():
        header = _SECTION.match(line)
        if header and len(header.group(1)) == 0:
            current, entry_indent = header.group(2).strip(), None
            sections.setdefault(current, [])
            continue
        if current is None or not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if indent == 0:
            current = None
            continue
        if entry_indent is None:
            entry_indent = indent
        if indent == entry_indent:
            match = _ENTRY.match(line)
            if match:
                sections[current].extend(n.strip() for n in match.group(1).split(","))
    return sections


def _entries(sections: dict[str, list[str]], titles: set[str]) -> list[str] | None:
    """Entry names of the first present section among ``titles`` (None: no section)."""
    found = [sections[title] for title in titles if title in sections]
    return [name for names in found for name in names] if found else None


@dataclass(frozen=True)
class _Scope:
    """Where a function sits: its class (if a method) and whether it is public."""

    cls: ast.ClassDef | None
    public: bool
    in_tests: bool


def _params(fn: ast.FunctionDef | ast.AsyncFunctionDef, is_method: bool) -> list[str]:
    """Documentable parameter names, ``*args``/``**kwargs`` bare, self/cls skipped."""
    args = fn.args
    names = [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]
    if args.vararg:
        names.append(args.vararg.arg)
    if args.kwarg:
        names.append(args.kwarg.arg)
    if (
        is_method
        and names
        and names[0] in ("self", "cls")
        and not _has_decorator(fn, "staticmethod")
    ):
        names = names[1:]
    return names


def _has_decorator(fn: ast.FunctionDef | ast.AsyncFunctionDef, *names: str) -> bool:
    """Whether a decorator's last dotted name (``pytest.fixture`` -> ``fixture``) matches."""
    for decorator in fn.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        text = ast.unparse(target)
        if text.split(".")[-1] in names or text in names:
            return True
    return False


def _own_nodes(fn: ast.AST) -> Iterator[ast.AST]:
    """Nodes of a function body, not descending into nested functions, classes, lambdas."""
    stack = list(ast.iter_child_nodes(fn))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def _returns_value(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether the function returns a value (by its annotation or a ``return x``)."""
    if fn.returns is not None:
        return ast.unparse(fn.returns).strip("'\"") not in _NO_VALUE
    return any(
        isinstance(node, ast.Return)
        and node.value is not None
        and not (isinstance(node.value, ast.Constant) and node.value.value is None)
        for node in _own_nodes(fn)
    )


def _is_generator(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether the function body yields."""
    return any(isinstance(node, (ast.Yield, ast.YieldFrom)) for node in _own_nodes(fn))


def _exception_name(node: ast.Raise) -> str | None:
    """The class name a ``raise`` statement raises, or None (re-raise, variable)."""
    exc = node.exc
    if exc is None:
        return None
    target = exc.func if isinstance(exc, ast.Call) else exc
    if isinstance(target, ast.Name):
        name = target.id
    elif isinstance(target, ast.Attribute):
        name = target.attr
    else:
        return None
    return name if name[:1].isupper() else None


def _handler_names(handler: ast.ExceptHandler) -> set[str]:
    """Exception names an ``except`` clause catches ("*" for a broad one)."""
    if handler.type is None:
        return {"*"}
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    names = {ast.unparse(t).split(".")[-1] for t in types}
    return {"*"} if names & {"Exception", "BaseException"} else names


def direct_raises(fn: ast.AST) -> dict[str, int]:
    """Exceptions the body of ``fn`` raises itself and does not catch.

    Args:
        fn: A function node.

    Returns:
        Exception class name -> line of its first ``raise``.
    """
    found: dict[str, int] = {}

    def visit(node: ast.AST, caught: frozenset[str]) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            return
        if isinstance(node, ast.Raise):
            name = _exception_name(node)
            if name and name not in caught and "*" not in caught:
                found.setdefault(name, node.lineno)
        if isinstance(node, ast.Try):
            inner = caught | {n for h in node.handlers for n in _handler_names(h)}
            for statement in node.body:
                visit(statement, frozenset(inner))
            for other in [*node.handlers, *node.orelse, *node.finalbody]:
                visit(other, caught)
            return
        for sub in ast.iter_child_nodes(node):
            visit(sub, caught)

    for top in ast.iter_child_nodes(fn):
        visit(top, frozenset())
    return found


def _is_protocol(cls: ast.ClassDef | None) -> bool:
    """Whether a class derives from ``Protocol`` (its methods are declarations)."""
    if cls is None:
        return False
    for base in cls.bases:
        target = base.value if isinstance(base, ast.Subscript) else base
        if ast.unparse(target).split(".")[-1] == "Protocol":
            return True
    return False


def _mentions_tensor(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether a parameter or return annotation mentions ``Tensor``."""
    args = fn.args
    annotations = [a.annotation for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]
    annotations += [args.vararg.annotation if args.vararg else None]
    annotations += [args.kwarg.annotation if args.kwarg else None, fn.returns]
    return any(a is not None and _TENSOR.search(ast.unparse(a)) for a in annotations)


class _Visitor:
    """Walks one module and collects the ast-based findings."""

    def __init__(self, rel: str, in_tests: bool) -> None:
        self.rel = rel
        self.in_tests = in_tests
        self.findings: list[Finding] = []

    def add(self, code: str, node: ast.AST, message: str, hint: str) -> None:
        """Record a finding at a node."""
        self.findings.append(
            Finding(
                check=NAME,
                code=code,
                file=self.rel,
                line=getattr(node, "lineno", 0),
                column=getattr(node, "col_offset", -1) + 1,
                message=message,
                hint=hint,
            )
        )

    def visit_body(self, body: list[ast.stmt], cls: ast.ClassDef | None, public: bool) -> None:
        """Visit the functions and classes of a module or class body."""
        for node in body:
            if isinstance(node, ast.ClassDef):
                self.check_class(node, public and not node.name.startswith("_"))
                self.visit_body(node.body, node, public and not node.name.startswith("_"))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.check_function(node, _Scope(cls, public, self.in_tests))

    def check_class(self, node: ast.ClassDef, public: bool) -> None:
        """Class docstring ``Args:`` must name ``__init__`` parameters only."""
        doc = ast.get_docstring(node)
        init = next(
            (n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"),
            None,
        )
        if doc is None or init is None:
            return
        documented = _entries(parse_sections(doc), _ARGS_SECTIONS)
        if documented is not None:
            self.check_extra(node, documented, _params(init, True), f"class {node.name}")

    def check_extra(
        self, node: ast.AST, documented: list[str], params: list[str], what: str
    ) -> None:
        """DLG204 for documented names that are not parameters."""
        extra = [name for name in documented if name.lstrip("*") not in params]
        if extra:
            names = ", ".join(f"`{name}`" for name in extra)
            self.add(
                "DLG204",
                node,
                f"Args: of {what} documents {names}, which {what} does not take",
                "Remove the entry or fix its name; parameters: " + (", ".join(params) or "(none)"),
            )

    def check_function(self, fn: ast.FunctionDef | ast.AsyncFunctionDef, scope: _Scope) -> None:
        """All ast-based rules for one function or method."""
        doc = ast.get_docstring(fn)
        params = _params(fn, scope.cls is not None)
        sections = parse_sections(doc or "")
        documented = _entries(sections, _ARGS_SECTIONS)
        if fn.name == "__init__" and scope.public:
            self.check_init(fn, scope, params, documented)
        if doc is None:
            return
        what = f"`{fn.name}`"
        if documented is not None:
            self.check_extra(fn, documented, params, what)
        public = scope.public and not fn.name.startswith("_")
        if not public or _has_decorator(fn, "overload") or _is_protocol(scope.cls):
            return
        exempt = (scope.in_tests and fn.name.startswith("test")) or _has_decorator(fn, "fixture")
        if exempt:
            return
        prop = _has_decorator(fn, "property", "cached_property", "setter", "getter")
        if not prop and params and documented is None:
            self.add(
                "DLG203",
                fn,
                f"{what} has parameters ({', '.join(params)}) but no Args: section",
                "Add an Args: section with one `name: description` line per parameter.",
            )
        if not prop and not _RETURNS_SUMMARY.match(doc):
            self.check_returns(fn, sections, what)
        self.check_raises(fn, sections, what)
        self.check_shapes(fn, doc, what)

    def check_init(
        self,
        fn: ast.FunctionDef | ast.AsyncFunctionDef,
        scope: _Scope,
        params: list[str],
        documented: list[str] | None,
    ) -> None:
        """``__init__`` parameters are documented in its docstring or the class's."""
        if documented is not None or not params or scope.cls is None:
            return
        class_doc = ast.get_docstring(scope.cls) or ""
        if _entries(parse_sections(class_doc), _ARGS_SECTIONS) is None:
            self.add(
                "DLG203",
                fn,
                f"`{scope.cls.name}.__init__` has parameters ({', '.join(params)}) "
                "but neither it nor the class docstring has an Args: section",
                "Document the constructor arguments under Args: in the class docstring.",
            )

    def check_returns(
        self, fn: ast.FunctionDef | ast.AsyncFunctionDef, sections: dict[str, list[str]], what: str
    ) -> None:
        """DLG205: Returns:/Yields: for functions producing values."""
        if _is_generator(fn):
            if not (set(sections) & (_YIELDS_SECTIONS | _RETURNS_SECTIONS)):
                self.add(
                    "DLG205",
                    fn,
                    f"{what} yields values but has no Yields: section",
                    "Add a Yields: section saying what is yielded.",
                )
        elif _returns_value(fn) and not (set(sections) & _RETURNS_SECTIONS):
            self.add(
                "DLG205",
                fn,
                f"{what} returns a value but has no Returns: section",
                "Add a Returns: section saying what is returned.",
            )

    def check_raises(
        self, fn: ast.FunctionDef | ast.AsyncFunctionDef, sections: dict[str, list[str]], what: str
    ) -> None:
        """DLG206: every directly raised exception is named under Raises:."""
        named = {name.split(".")[-1] for name in _entries(sections, _RAISES_SECTIONS) or []}
        for exc, line in direct_raises(fn).items():
            if exc not in named and exc not in _EXEMPT_RAISES:
                self.add(
                    "DLG206",
                    fn,
                    f"{what} raises {exc} (line {line}) but Raises: " "does not name it",
                    f"Add `{exc}: when ...` under Raises:.",
                )

    def check_shapes(self, fn: ast.FunctionDef | ast.AsyncFunctionDef, doc: str, what: str) -> None:
        """DLG207: tensor-handling functions document shapes."""
        if _mentions_tensor(fn) and not _SHAPE.search(doc):
            self.add(
                "DLG207",
                fn,
                f"{what} takes or returns tensors but its docstring " "gives no shape",
                "Give each tensor's shape, e.g. `x: Images of "
                "shape (B, C, H, W).` and `Returns: Logits of shape (B, num_classes).`",
            )


def check_source(text: str, rel: str) -> list[Finding]:
    """The ast-based findings for one Python source.

    Args:
        text: The source.
        rel: Its path as shown in findings.

    Returns:
        DLG203-DLG208 findings.
    """
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        return [
            Finding(
                check=NAME,
                code="DLG208",
                file=rel,
                line=exc.lineno or 0,
                column=exc.offset or 0,
                message=f"cannot parse: {exc.msg}",
            )
        ]
    parts = rel.split("/")
    in_tests = "tests" in parts[:-1] or parts[-1].startswith("test_") or parts[-1] == "conftest.py"
    visitor = _Visitor(rel, in_tests)
    visitor.visit_body(tree.body, None, True)
    return visitor.findings


def _ruff_findings(project: Project, options: CheckOptions) -> list[Finding]:
    """Ruff's pydocstyle findings, as DLG201-DLG203."""
    args = ["--isolated", *DOCSTRING_RULES, "--config", GOOGLE_CONVENTION, *python_targets(project)]
    findings = []
    for item in ruff_json(args, project=project, options=options):
        code = str(item.get("code") or "")
        dlg = "DLG201" if code in _MISSING else "DLG203" if code == "D417" else "DLG202"
        location = item.get("location") or {}
        findings.append(
            Finding(
                check=NAME,
                code=dlg,
                file=project.rel(str(item.get("filename", ""))),
                line=int(location.get("row") or 0),
                column=int(location.get("column") or 0),
                message=f"{item.get('message', '')} (ruff {code})",
                hint="Write a Google-style docstring: a one-line summary ending with a "
                "period, then Args:, Returns:, Raises: sections as they apply.",
            )
        )
    return findings


@register_check(NAME, order=20, codes=CODES, cost=2)
def run(project: Project, options: CheckOptions) -> CheckResult:
    """Run ruff's pydocstyle rules and the ast-based rules on every Python file.

    Args:
        project: The project.
        options: For the ruff timeout.

    Returns:
        The check result.
    """
    if not project.python_files:
        return result_from(NAME, [], detail="no Python files")
    findings = _ruff_findings(project, options)
    for path in project.python_files:
        try:
            text = (project.root / path).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # reported by the english check
        findings.extend(check_source(text, path.as_posix()))
    findings.sort(key=lambda f: (f.file, f.line, f.column, f.code))
    return result_from(NAME, findings, metrics={"files": len(project.python_files)})
