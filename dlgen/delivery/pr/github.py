"""A small GitHub REST client on the standard library: pull requests, labels, comments.

The token is read by the caller (``GITHUB_TOKEN``) and sent only in the
``Authorization`` header, only to the configured API host; every error message is
passed through the redactor before it is raised.
"""

from __future__ import annotations

import json
import logging
import re
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from dlgen.delivery.pr.redact import Redactor
from dlgen.errors import DlgenError, UsageError

log = logging.getLogger("dlgen.pr")

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
USER_AGENT = "dlgen-bot"
MAX_PAGES = 10
RETRY_STATUSES = frozenset({500, 502, 503, 504})
RETRY_DELAYS_S = (1.0, 3.0)
_REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_REMOTE_RE = re.compile(r"github\.com[:/]+([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?$")
_LINK_NEXT_RE = re.compile(r'<([^>]+)>;\s*rel="next"')


class GitHubError(DlgenError):
    """The GitHub API refused or failed a request.

    Attributes:
        status: The HTTP status (0 when no response arrived).
    """

    def __init__(self, message: str, *, status: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


@dataclass(frozen=True)
class _Cause:
    what: str
    hint: str


_CAUSES: dict[int, _Cause] = {
    401: _Cause(
        "bad credentials: GitHub rejected the token",
        "set GITHUB_TOKEN to a valid token (in Actions: secrets.GITHUB_TOKEN)",
    ),
    403: _Cause(
        "missing permission: the token may not do this",
        "grant the workflow `contents: write`, `pull-requests: write` and `issues: write`, "
        "and allow Actions to create pull requests in the repository settings",
    ),
    404: _Cause(
        "not found: the repository, issue or pull request does not exist or the token "
        "cannot see it",
        "check --github-repo / GITHUB_REPOSITORY and --issue",
    ),
    422: _Cause(
        "validation failed: GitHub refused the request as invalid",
        "a pull request for this branch may already exist, or the branch or base is missing",
    ),
}
_UNKNOWN = _Cause("GitHub API error", "retry later; see https://www.githubstatus.com")


def check_repo_slug(slug: str) -> str:
    """Accept ``owner/name`` only.

    Raises:
        UsageError: If ``slug`` is not of the form ``owner/name``.
    """
    if not _REPO_RE.match(slug) or ".." in slug:
        raise UsageError(
            f"GitHub repository {slug!r} is not of the form OWNER/NAME",
            hint="pass --github-repo OWNER/NAME",
        )
    return slug


def parse_remote_url(url: str) -> str | None:
    """``owner/name`` from a GitHub remote URL (HTTPS, SSH or scp-like), or None."""
    match = _REMOTE_RE.search(url.strip())
    return f"{match.group(1)}/{match.group(2)}" if match else None


def resolve_repo(explicit: str | None, env: Mapping[str, str], origin_url: str | None) -> str:
    """The target repository: ``--github-repo``, else ``GITHUB_REPOSITORY``, else origin.

    Raises:
        UsageError: If none gives an ``owner/name``.
    """
    for candidate in (explicit, env.get("GITHUB_REPOSITORY")):
        if candidate:
            return check_repo_slug(candidate)
    parsed = parse_remote_url(origin_url or "")
    if parsed:
        return check_repo_slug(parsed)
    raise UsageError(
        "cannot tell which GitHub repository to open the pull request in",
        hint="pass --github-repo OWNER/NAME or set GITHUB_REPOSITORY",
    )


class GitHubClient:
    """The REST endpoints the bot uses, for one repository."""

    def __init__(
        self,
        repo: str,
        token: str,
        api_url: str = DEFAULT_API_URL,
        *,
        redact: Redactor | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.repo = check_repo_slug(repo)
        self.api_url = api_url.rstrip("/")
        self._token = token
        self._redact = redact or Redactor()
        self._redact.add(token)
        self._timeout = timeout
        self._opener = urllib.request.build_opener()

    # Endpoints -----------------------------------------------------------------

    def find_open_pull(self, branch: str) -> dict[str, Any] | None:
        """The open pull request whose head is ``branch`` in this repository, if any."""
        owner = self.repo.split("/")[0]
        pulls = self._get_all(f"/pulls?{urlencode({'state': 'open', 'head': f'{owner}:{branch}'})}")
        return next((p for p in pulls if (p.get("head") or {}).get("ref") == branch), None)

    def create_pull(self, *, title: str, head: str, base: str, body: str) -> dict[str, Any]:
        """Open a pull request from ``head`` into ``base``."""
        data = {"title": title, "head": head, "base": base, "body": body}
        return self._call("POST", "/pulls", data)

    def update_pull(self, number: int, *, title: str, body: str) -> dict[str, Any]:
        """Replace the title and body of pull request ``number``."""
        return self._call("PATCH", f"/pulls/{number}", {"title": title, "body": body})

    def add_labels(self, number: int, labels: list[str]) -> list[dict[str, Any]]:
        """Add ``labels`` to issue or pull request ``number`` (existing ones stay)."""
        return self._call("POST", f"/issues/{number}/labels", {"labels": labels})

    def list_comments(self, issue: int) -> list[dict[str, Any]]:
        """Every comment on issue ``issue``, oldest first."""
        return self._get_all(f"/issues/{issue}/comments?per_page=100")

    def create_comment(self, issue: int, body: str) -> dict[str, Any]:
        """Comment on issue ``issue``."""
        return self._call("POST", f"/issues/{issue}/comments", {"body": body})

    def update_comment(self, comment_id: int, body: str) -> dict[str, Any]:
        """Replace the body of comment ``comment_id``."""
        return self._call("PATCH", f"/issues/comments/{comment_id}", {"body": body})

    # Transport -------------------------------------------------------------------

    def _get_all(self, path: str) -> list[dict[str, Any]]:
        url: str | None = self._url(path)
        items: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            if url is None:
                break
            page, headers = self._send("GET", url, None)
            items.extend(page or [])
            url = self._next_page(headers.get("Link", ""))
        return items

    def _call(self, method: str, path: str, data: Any) -> Any:
        return self._send(method, self._url(path), data)[0]

    def _url(self, path: str) -> str:
        return f"{self.api_url}/repos/{quote(self.repo)}{path}"

    def _next_page(self, link: str) -> str | None:
        match = _LINK_NEXT_RE.search(link)
        if not match:
            return None
        url = match.group(1)
        same_host = urlsplit(url).netloc == urlsplit(self.api_url).netloc
        return url if same_host else None  # never send the token to another host

    def _send(self, method: str, url: str, data: Any) -> tuple[Any, Mapping[str, str]]:
        body = None if data is None else json.dumps(data).encode("utf-8")
        request = urllib.request.Request(url, data=body, method=method, headers=self._headers())
        # Unredirected: a redirect to another host never receives the token.
        request.add_unredirected_header("Authorization", f"Bearer {self._token}")
        log.debug("GitHub %s %s", method, self._redact(url))
        for attempt, delay in enumerate((*RETRY_DELAYS_S, None)):
            try:
                with self._opener.open(request, timeout=self._timeout) as response:
                    raw = response.read()
                    return (json.loads(raw) if raw else None), response.headers
            except urllib.error.HTTPError as exc:
                detail = exc.read().decode("utf-8", "replace")
                if exc.code not in RETRY_STATUSES or delay is None:
                    raise self._error(method, url, exc.code, detail) from None
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                if delay is None:
                    reason = getattr(exc, "reason", exc)
                    raise GitHubError(
                        self._redact(f"cannot reach the GitHub API at {self.api_url}: {reason}"),
                        status=0,
                        hint="check GITHUB_API_URL and the network",
                    ) from None
            log.debug("GitHub %s attempt %d failed; retrying in %.0f s", method, attempt + 1, delay)
            time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _headers(self) -> dict[str, str]:
        return {
            "Accept": "application/vnd.github+json",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-GitHub-Api-Version": API_VERSION,
        }

    def _error(self, method: str, url: str, status: int, detail: str) -> GitHubError:
        cause = _CAUSES.get(status, _UNKNOWN)
        reason = _api_message(detail)
        endpoint = urlsplit(url).path.removeprefix(f"/repos/{self.repo}") or "/"
        message = f"GitHub {method} {endpoint} failed with {status} ({cause.what})"
        if reason:
            message += f": {reason}"
        return GitHubError(self._redact(message), status=status, hint=cause.hint)


def _api_message(detail: str) -> str:
    """GitHub's ``message`` plus each ``errors[].message``, or the raw text, shortened."""
    try:
        data = json.loads(detail)
    except json.JSONDecodeError:
        return detail.strip()[:300]
    if not isinstance(data, dict):
        return ""
    parts = [str(data.get("message") or "")]
    for error in data.get("errors") or []:
        if isinstance(error, dict):
            parts.append(str(error.get("message") or error.get("code") or ""))
        else:
            parts.append(str(error))
    return "; ".join(p for p in parts if p)[:500]
