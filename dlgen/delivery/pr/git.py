"""The git operations of the bot: argument lists only, never a shell.

The user's checkout is never switched or reset. The commit is built with a
temporary index: the base branch's tree, minus the old sub-directory, plus exactly
the generated files. The staged paths are then checked to all lie inside the
sub-directory before the tree is written, and the bot's own branch is pushed with
``--force-with-lease`` naming the commit it last saw there.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dlgen.delivery.pr.redact import Redactor, basic_auth
from dlgen.errors import DlgenError

log = logging.getLogger("dlgen.pr")

BOT_NAME = "dlgen-bot"
BOT_EMAIL = "dlgen-bot@users.noreply.github.com"
GIT_TIMEOUT_S = 300


class GitError(DlgenError):
    """A git command failed; the message holds its (redacted) output."""


@dataclass
class Git:
    """Runs git in one repository with a fixed environment.

    Attributes:
        root: The repository's top-level directory.
        redact: Masks secrets in anything that reaches a message or a log.
        env: Extra environment for every command (e.g. the HTTPS auth header).
    """

    root: Path
    redact: Redactor = field(default_factory=Redactor)
    env: dict[str, str] = field(default_factory=dict)

    def run(
        self,
        *args: str,
        stdin: str | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``git <args>`` in :attr:`root` and return the completed process.

        Raises:
            GitError: If ``check`` and git exits non-zero, or git cannot be started.
        """
        argv = ["git", *args]
        full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **self.env}
        full_env.update(env or {})
        log.debug("git %s", self.redact(" ".join(args)))
        try:
            proc = subprocess.run(  # noqa: S603 - fixed argv, no shell
                argv,
                cwd=self.root,
                input=stdin,
                capture_output=True,
                text=True,
                env=full_env,
                timeout=GIT_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise GitError(f"could not run git {args[0]}: {self.redact(str(exc))}") from None
        if check and proc.returncode != 0:
            output = self.redact((proc.stderr or proc.stdout).strip())
            raise GitError(f"git {args[0]} failed (exit {proc.returncode}): {output}")
        return proc

    def out(self, *args: str, **kwargs: object) -> str:
        """The stripped standard output of ``git <args>``."""
        return self.run(*args, **kwargs).stdout.strip()  # type: ignore[arg-type]


@dataclass(frozen=True)
class StagedTree:
    """A tree written from the temporary index.

    Attributes:
        tree: The tree's object id.
        changed: Paths that differ from the base commit, sorted.
    """

    tree: str
    changed: list[str]


def find_root(path: Path, redact: Redactor | None = None) -> Path:
    """The top-level directory of the git checkout containing ``path``.

    Raises:
        GitError: If ``path`` is not inside a git checkout.
    """
    if not Path(path).is_dir():
        raise GitError(f"--repo {path} is not a directory", hint="pass the checkout's path")
    git = Git(Path(path), redact or Redactor())
    proc = git.run("rev-parse", "--show-toplevel", check=False)
    if proc.returncode != 0:
        raise GitError(f"{path} is not inside a git checkout", hint="pass --repo CHECKOUT")
    return Path(proc.stdout.strip())


def remote_url(git: Git, remote: str) -> str:
    """The fetch URL of ``remote``.

    Raises:
        GitError: If the remote does not exist.
    """
    proc = git.run("remote", "get-url", "--", remote, check=False)
    if proc.returncode != 0:
        raise GitError(
            f"the checkout has no remote {remote!r}", hint="add it with `git remote add`"
        )
    return proc.stdout.strip()


def https_auth_env(git: Git, url: str, token: str) -> dict[str, str]:
    """Environment that sends ``token`` to an HTTPS remote, or {} when not needed.

    The header travels through ``GIT_CONFIG_*`` variables, never the command line.
    Nothing is added when the remote is not HTTPS, no token is given, or the
    checkout already carries an ``extraheader`` (``actions/checkout`` sets one).
    """
    parts = urlsplit(url)
    if parts.scheme != "https" or not token or not parts.hostname:
        return {}
    pattern = r"^http\..*extraheader$"
    existing = git.run("config", "--name-only", "--get-regexp", pattern, check=False)
    if existing.returncode == 0 and existing.stdout.strip():
        return {}
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.https://{parts.hostname}/.extraheader",
        "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic_auth(token)}",
    }


def remote_branch(git: Git, remote: str, branch: str) -> str | None:
    """The commit ``refs/heads/<branch>`` points at on ``remote``, or None."""
    ref = f"refs/heads/{branch}"
    for line in git.out("ls-remote", "--heads", "--", remote, ref).splitlines():
        sha, _, name = line.partition("\t")
        if name == ref:
            return sha
    return None


def fetch_commit(git: Git, remote: str, branch: str) -> str:
    """Fetch ``branch`` from ``remote`` and return its commit id.

    Raises:
        GitError: If the branch does not exist on the remote.
    """
    ref = f"refs/heads/{branch}"
    proc = git.run("fetch", "--no-tags", "--quiet", "--", remote, ref, check=False)
    if proc.returncode != 0:
        detail = git.redact(proc.stderr.strip())
        raise GitError(
            f"cannot fetch branch {branch!r} from {remote!r}: {detail}",
            hint="pass --base with a branch that exists on the remote",
        )
    return git.out("rev-parse", "--verify", "FETCH_HEAD^{commit}")


def has_object(git: Git, sha: str) -> bool:
    """Whether the object ``sha`` is in the local object store."""
    return git.run("cat-file", "-e", f"{sha}^{{commit}}", check=False).returncode == 0


def stage_project(git: Git, base: str, subdir: str, files: Sequence[str]) -> StagedTree:
    """Write the tree ``base`` with ``subdir`` replaced by exactly ``files``.

    Args:
        git: The repository.
        base: Commit whose tree everything outside ``subdir`` comes from.
        subdir: Repository-relative POSIX directory of the project.
        files: Repository-relative paths to add; each must lie inside ``subdir``.

    Returns:
        The written tree and the paths that differ from ``base``.

    Raises:
        GitError: If a path to add, or any staged change, lies outside ``subdir``.
    """
    prefix = subdir.rstrip("/") + "/"
    outside = [f for f in files if not f.startswith(prefix)]
    if outside:
        raise GitError(f"refusing to commit paths outside {prefix}: {outside[:5]}")
    with tempfile.TemporaryDirectory(prefix="dlgen-index-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index"), "GIT_LITERAL_PATHSPECS": "1"}
        git.run("read-tree", base, env=env)
        git.run("rm", "-r", "--cached", "--quiet", "--ignore-unmatch", "--", prefix, env=env)
        if files:
            pathspecs = "\0".join(files) + "\0"
            git.run(
                "add", "--force", "--pathspec-from-file=-", "--pathspec-file-nul",
                stdin=pathspecs, env=env,
            )  # fmt: skip
        diff = git.out("diff", "--cached", "--name-only", "--no-renames", "-z", base, env=env)
        changed = sorted(p for p in diff.split("\0") if p)
        stray = [p for p in changed if not p.startswith(prefix)]
        if stray:
            raise GitError(f"staged paths outside {prefix}, nothing committed: {stray[:5]}")
        tree = git.out("write-tree", env=env)
    return StagedTree(tree=tree, changed=changed)


def commit_identity(git: Git) -> dict[str, str]:
    """Author/committer environment: git's configured identity, else dlgen-bot."""
    name = git.run("config", "user.name", check=False).stdout.strip()
    email = git.run("config", "user.email", check=False).stdout.strip()
    if name and email:
        return {}
    return {
        "GIT_AUTHOR_NAME": BOT_NAME,
        "GIT_AUTHOR_EMAIL": BOT_EMAIL,
        "GIT_COMMITTER_NAME": BOT_NAME,
        "GIT_COMMITTER_EMAIL": BOT_EMAIL,
    }


def commit_tree(git: Git, tree: str, parent: str, message: str) -> str:
    """Create a commit of ``tree`` on top of ``parent``; no ref is moved."""
    env = commit_identity(git)
    return git.out("commit-tree", tree, "-p", parent, "-F", "-", stdin=message, env=env)


def tree_and_parents(git: Git, commit: str) -> tuple[str, list[str]]:
    """The tree id and parent ids of ``commit``."""
    line = git.out("log", "-1", "--format=%T %P", commit)
    tree, *parents = line.split()
    return tree, parents


def push_branch(git: Git, remote: str, commit: str, branch: str, expected: str | None) -> None:
    """Point ``refs/heads/<branch>`` on ``remote`` at ``commit``.

    The force is leased: the push succeeds only while the remote branch is still
    at ``expected`` (or still absent when ``expected`` is None). Only this one
    ref is pushed.

    Raises:
        GitError: If the lease is broken or the push is rejected.
    """
    ref = f"refs/heads/{branch}"
    lease = f"--force-with-lease={ref}:{expected or ''}"
    proc = git.run("push", "--porcelain", lease, "--", remote, f"{commit}:{ref}", check=False)
    if proc.returncode == 0:
        return
    output = git.redact((proc.stdout + proc.stderr).strip())
    if "stale info" in output or "fetch first" in output:
        raise GitError(
            f"branch {branch!r} on {remote!r} changed since the bot read it; nothing was pushed",
            hint="someone else pushed to the bot's branch; re-run the bot to start from there",
        )
    raise GitError(f"git push of {branch!r} to {remote!r} failed: {output}")
