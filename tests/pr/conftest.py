"""Fixtures of the PR bot tests: a real bare ``origin``, a fake GitHub API, fake stages."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from dlgen.delivery.pr.bot import PrHooks
from dlgen.spec import Spec
from dlgen.validators.report import CheckResult, Finding, Report
from tests.factories import make_spec

TOKEN = "ghs_TESTtoken0123456789abcdefSECRET"
REPO = "octo/demo"


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` and return its stripped stdout (fails the test on error)."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout.strip()


@pytest.fixture(autouse=True)
def isolated_git(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user or system git config: the bot's own identity applies unless a test sets one."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / "gitconfig"))
    for name in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
    ):
        monkeypatch.delenv(name, raising=False)
    for name in ("GITHUB_TOKEN", "GITHUB_REPOSITORY", "GITHUB_API_URL", "DLGEN_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@dataclass
class Checkout:
    """A bare ``origin`` and a clone of it with ``main`` holding two files."""

    bare: Path
    clone: Path

    def remote_tree(self, ref: str) -> list[str]:
        """Files of ``ref`` in the bare repository."""
        return git(self.bare, "ls-tree", "-r", "--name-only", ref).splitlines()

    def remote_sha(self, ref: str) -> str:
        """The commit ``ref`` points at in the bare repository."""
        return git(self.bare, "rev-parse", ref)


@pytest.fixture
def checkout(tmp_path: Path) -> Checkout:
    """A bare repository as origin and a clone with an initial commit on main."""
    bare = tmp_path / "origin.git"
    clone = tmp_path / "work"
    git(tmp_path, "init", "--bare", "--initial-branch=main", str(bare))
    git(tmp_path, "clone", "--quiet", str(bare), str(clone))
    (clone / "README.md").write_text("# demo\n", encoding="utf-8")
    (clone / "other").mkdir()
    (clone / "other" / "keep.txt").write_text("unrelated\n", encoding="utf-8")
    git(clone, "checkout", "--quiet", "-B", "main")
    git(clone, "add", "README.md", "other/keep.txt")
    ident = ["-c", "user.name=Maintainer", "-c", "user.email=m@example.com"]
    git(clone, *ident, "commit", "--quiet", "-m", "initial")
    git(clone, "push", "--quiet", "origin", "main")
    return Checkout(bare=bare, clone=clone)


# A fake GitHub ------------------------------------------------------------------------


@dataclass
class Recorded:
    """One request the fake API received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    raw: str


@dataclass
class FakeGitHub:
    """State and behaviour of the fake API (pull requests, labels, comments)."""

    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    pulls: list[dict[str, Any]] = field(default_factory=list)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    labels: dict[int, list[str]] = field(default_factory=dict)
    fail: dict[tuple[str, str], tuple[int, dict[str, Any]]] = field(default_factory=dict)
    next_id: int = 100

    def calls(self, method: str, suffix: str) -> list[Recorded]:
        """Recorded requests with ``method`` whose path ends with ``suffix``."""
        return [r for r in self.requests if r.method == method and r.path.endswith(suffix)]

    def add_comment(self, issue: int, body: str, user: dict[str, str], association: str) -> None:
        """Put a comment on ``issue`` as if someone else had written it."""
        self.next_id += 1
        self.comments.setdefault(issue, []).append(
            {"id": self.next_id, "body": body, "user": user, "author_association": association}
        )

    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        """Route one request; returns status and JSON body."""
        prefix = f"/repos/{REPO}"
        if not path.startswith(prefix):
            return 404, {"message": "Not Found"}
        route = path[len(prefix) :]
        parts = route.strip("/").split("/")
        key = (method, "/".join("N" if p.isdigit() else p for p in parts))
        handler = _ROUTES.get(key)
        if handler is None:
            return 404, {"message": f"no route {key}"}
        numbers = [int(p) for p in parts if p.isdigit()]
        return handler(self, numbers, body)

    def _list_pulls(self, _: list[int], query: Any) -> tuple[int, Any]:
        head = (query.get("head") or [""])[0]
        owner = REPO.split("/")[0]
        found = [
            p
            for p in self.pulls
            if p["state"] == "open" and (not head or f"{owner}:{p['head']['ref']}" == head)
        ]
        return 200, found

    def _create_pull(self, _: list[int], body: Any) -> tuple[int, Any]:
        if any(p["head"]["ref"] == body["head"] and p["state"] == "open" for p in self.pulls):
            return 422, {
                "message": "Validation Failed",
                "errors": [{"message": f"A pull request already exists for octo:{body['head']}."}],
            }
        self.next_id += 1
        number = len(self.pulls) + 1
        pull = {
            "number": number,
            "state": "open",
            "title": body["title"],
            "body": body["body"],
            "head": {"ref": body["head"]},
            "base": {"ref": body["base"]},
            "html_url": f"https://github.com/{REPO}/pull/{number}",
        }
        self.pulls.append(pull)
        return 201, pull

    def _update_pull(self, numbers: list[int], body: Any) -> tuple[int, Any]:
        pull = next(p for p in self.pulls if p["number"] == numbers[0])
        pull.update({k: body[k] for k in ("title", "body") if k in body})
        return 200, pull

    def _add_labels(self, numbers: list[int], body: Any) -> tuple[int, Any]:
        current = self.labels.setdefault(numbers[0], [])
        current.extend(label for label in body["labels"] if label not in current)
        return 200, [{"name": label} for label in current]

    def _list_comments(self, numbers: list[int], _: Any) -> tuple[int, Any]:
        return 200, self.comments.get(numbers[0], [])

    def _create_comment(self, numbers: list[int], body: Any) -> tuple[int, Any]:
        self.next_id += 1
        comment = {
            "id": self.next_id,
            "body": body["body"],
            "user": {"login": "github-actions[bot]", "type": "Bot"},
            "author_association": "NONE",
            "html_url": f"https://github.com/{REPO}/issues/{numbers[0]}#c{self.next_id}",
        }
        self.comments.setdefault(numbers[0], []).append(comment)
        return 201, comment

    def _update_comment(self, numbers: list[int], body: Any) -> tuple[int, Any]:
        for comments in self.comments.values():
            for comment in comments:
                if comment["id"] == numbers[0]:
                    comment["body"] = body["body"]
                    return 200, comment
        return 404, {"message": "Not Found"}


_ROUTES = {
    ("GET", "pulls"): FakeGitHub._list_pulls,
    ("POST", "pulls"): FakeGitHub._create_pull,
    ("PATCH", "pulls/N"): FakeGitHub._update_pull,
    ("POST", "issues/N/labels"): FakeGitHub._add_labels,
    ("GET", "issues/N/comments"): FakeGitHub._list_comments,
    ("POST", "issues/N/comments"): FakeGitHub._create_comment,
    ("PATCH", "issues/comments/N"): FakeGitHub._update_comment,
}


def _make_handler(state: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8") if length else ""
            body = json.loads(raw) if raw else None
            query = parse_qs(split.query)
            state.requests.append(
                Recorded(self.command, split.path, query, dict(self.headers.items()), body, raw)
            )
            status, payload = self._route(split.path, body, query)
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _route(self, path: str, body: Any, query: Any) -> tuple[int, Any]:
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return 401, {"message": "Bad credentials"}
            suffix = path.removeprefix(f"/repos/{REPO}")
            for (method, fail_suffix), answer in state.fail.items():
                if method == self.command and suffix.endswith(fail_suffix):
                    return answer
            return state.handle(self.command, path, query if self.command == "GET" else body)

        do_GET = do_POST = do_PATCH = _serve

        def log_message(self, *args: Any) -> None:
            """Silence the default stderr access log."""

    return Handler


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    """A fake GitHub API on 127.0.0.1; GITHUB_API_URL, GITHUB_TOKEN and the repo point at it."""
    state = FakeGitHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(state))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("GITHUB_API_URL", state.url)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


# Fake stages --------------------------------------------------------------------------


def passing_report() -> Report:
    """A report whose checks all passed (one skipped)."""
    return Report(
        checks=[
            CheckResult(name="english", status="passed", seconds=0.4),
            CheckResult(name="style", status="passed", seconds=1.2),
            CheckResult(name="gpu", status="skipped", detail="no GPU"),
        ],
        seconds=1.6,
    )


def failing_report() -> Report:
    """A report with a failed check and two findings."""
    findings = [
        Finding(check="smoke", code="DLG201", file="train.py", line=3, message="loss is NaN"),
        Finding(check="smoke", code="DLG202", message="backward failed", hint="check shapes"),
    ]
    return Report(
        checks=[
            CheckResult(name="english", status="passed", seconds=0.4),
            CheckResult(name="smoke", status="failed", seconds=2.5, findings=findings),
        ],
        seconds=2.9,
    )


@dataclass
class FakeGenerator:
    """Writes a few files like ``dlgen.api.generate`` would and returns a result."""

    ok: bool = True
    version: str = "1"
    extra: dict[str, str] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, spec: Spec, out_dir: Path, **kwargs: Any) -> SimpleNamespace:
        self.calls.append({"spec": spec, "out_dir": out_dir, **kwargs})
        report = passing_report() if self.ok else failing_report()
        files = {
            "README.md": f"# {spec.name}\n\nversion {self.version}\n",
            f"src/{spec.name}/__init__.py": '"""Package."""\n',
            "train.py": "print('train')\n",
            ".dlgen/spec.yaml": spec.to_yaml(),
            **self.extra,
        }
        delivered = self.ok
        if delivered:
            if out_dir.exists() and any(out_dir.iterdir()):
                assert kwargs.get("force"), "the bot must pass force=True to replace its project"
                for path in sorted(out_dir.rglob("*"), reverse=True):
                    path.unlink() if path.is_file() else path.rmdir()
            for name, text in files.items():
                (out_dir / name).parent.mkdir(parents=True, exist_ok=True)
                (out_dir / name).write_text(text, encoding="utf-8")
            # Written after rendering, like the real report file; not in ``files``.
            (out_dir / ".dlgen" / "report.json").write_text("{}\n", encoding="utf-8")
        return SimpleNamespace(
            spec=spec,
            out_dir=out_dir if delivered else None,
            files=sorted(files),
            report=report,
            ok=self.ok,
            delivered=delivered,
            analysis=None,
        )


def fake_analyzer(name: str = "tiny_vit", language: str = "en") -> Any:
    """An analyzer returning a tiny ViT Spec named ``name`` that carries the request."""

    def analyze(text: str, backend: str) -> Spec:
        assert backend == "offline"
        return make_spec(name=name, language=language, request=text)

    return analyze


@pytest.fixture
def generator() -> FakeGenerator:
    """A passing fake generator."""
    return FakeGenerator()


@pytest.fixture
def hooks(generator: FakeGenerator) -> PrHooks:
    """Fake analyzer and generator."""
    return PrHooks(generate=generator, analyze=fake_analyzer())
