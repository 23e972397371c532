"""Running child processes: the tools (ruff, black, mypy) and untrusted project code.

Every child gets:

- its own process group (``start_new_session``), killed as a whole on timeout or when
  it exceeds its memory, and again after it exits (stray workers it left behind);
- a scrubbed environment: only an allow-list of harmless variables (PATH, HOME, locale,
  temp dirs, CUDA/thread settings, ...) and, of those, none that looks like a secret
  (``*_KEY``, ``*_TOKEN``, ``*_SECRET``, ``OPENAI_*``, ``AWS_*``, ...);
- ``PYTHONDONTWRITEBYTECODE=1``; output captured to files, never to pipes (no deadlock
  on chatty children), and only the tail kept.

For project code (smoke, tests) two memory guards apply when a limit is given:

- ``RLIMIT_AS`` set in ``preexec_fn``. Importing torch alone maps ~3 GiB of virtual
  address space (shared libraries, thread arenas) that is never resident, so the cap is
  the limit plus :data:`ADDRESS_SPACE_HEADROOM_MB`; the smoke runner tightens it to
  "baseline after importing torch + limit" itself. CUDA reserves a huge virtual address
  space, so when the child may use CUDA no ``RLIMIT_AS`` is set at all and only the
  watchdog below applies.
- A watchdog thread that sums the resident memory of the whole process group (from
  ``/proc``, Linux only) and kills the group when it passes the limit.

``preexec_fn`` runs between fork and exec while other threads of the validator may be
alive; it only calls ``setrlimit`` with a precomputed value, allocating nothing.
"""

from __future__ import annotations

import fnmatch
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ADDRESS_SPACE_HEADROOM_MB = 6144
_LIVE: set[int] = set()  # process groups of running children, for kill_all()
_LIVE_LOCK = threading.Lock()
POLL_SECONDS = 0.1
TAIL_CHARS = 4000

ENV_ALLOW = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "LC_*",
    "TZ",
    "TERM",
    "TMPDIR",
    "TEMP",
    "TMP",
    "XDG_*",
    "CUDA_*",
    "NVIDIA_*",
    "CUBLAS_*",
    "CUDNN_*",
    "NCCL_*",
    "LD_LIBRARY_PATH",
    "OMP_*",
    "MKL_*",
    "OPENBLAS_*",
    "KMP_*",
    "TORCH_*",
    "PYTORCH_*",
    "TORCHINDUCTOR_*",
    "TRITON_*",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "CONDA_DEFAULT_ENV",
    "NO_COLOR",
    "COLUMNS",
    "SYSTEMROOT",
)
ENV_DENY = (
    "*_KEY",
    "*_KEYS",
    "*_TOKEN",
    "*_TOKENS",
    "*SECRET*",
    "*PASSWORD*",
    "*PASSWD*",
    "*CREDENTIAL*",
    "*_AUTH*",
    "OPENAI_*",
    "ANTHROPIC_*",
    "GITHUB_*",
    "GH_*",
    "AWS_*",
    "AZURE_*",
    "GOOGLE_*",
    "HF_*",
    "HUGGING*",
    "WANDB_*",
)


def scrubbed_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a child process gets.

    Args:
        extra: Variables to set on top (not scrubbed: the caller chose them).

    Returns:
        The allow-listed variables of this process minus anything secret-looking,
        plus ``PYTHONDONTWRITEBYTECODE=1`` and ``extra``.
    """

    def matches(name: str, patterns: Sequence[str]) -> bool:
        upper = name.upper()
        return any(fnmatch.fnmatchcase(upper, pattern) for pattern in patterns)

    env = {
        name: value
        for name, value in os.environ.items()
        if matches(name, ENV_ALLOW) and not matches(name, ENV_DENY)
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def cuda_possible() -> bool:
    """Whether a child could use CUDA (a driver device node and a visible device).

    Decided without importing torch, to pick the memory guards before the child starts.

    Returns:
        True when ``/dev/nvidiactl`` exists and ``CUDA_VISIBLE_DEVICES`` is not empty.
    """
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    return Path("/dev/nvidiactl").exists()


def python_cmd() -> list[str]:
    """The interpreter running dlgen, with ``-P`` (cwd not on sys.path) where supported.

    Returns:
        The argv prefix to start a Python module with ``-m``.
    """
    return [sys.executable, "-P"] if sys.version_info >= (3, 11) else [sys.executable]


@dataclass(frozen=True)
class Outcome:
    """How a child process ended.

    Attributes:
        returncode: Exit status (negative: killed by that signal).
        seconds: Wall time.
        stdout: The tail of its standard output.
        stderr: The tail of its standard error.
        timed_out: It ran past its timeout and was killed.
        memory_exceeded: Its process group passed the memory limit and was killed.
        peak_rss_mb: Highest resident memory of its process group seen by the watchdog.
    """

    returncode: int
    seconds: float
    stdout: str
    stderr: str
    timed_out: bool = False
    memory_exceeded: bool = False
    peak_rss_mb: float = 0.0

    @property
    def signal_name(self) -> str:
        """Name of the signal that killed the child, or ""."""
        if self.returncode >= 0:
            return ""
        try:
            return signal.Signals(-self.returncode).name
        except ValueError:
            return f"signal {-self.returncode}"

    def cause(self, timeout: float, memory_limit_mb: int | None) -> str:
        """Why the child did not finish normally, in words ("" when it exited).

        Args:
            timeout: The timeout it ran under.
            memory_limit_mb: The memory limit it ran under.

        Returns:
            E.g. "timed out after 3 s", "exceeded the memory limit of 1536 MiB".
        """
        if self.timed_out:
            return f"timed out after {timeout:g} s (killed)"
        if self.memory_exceeded:
            return (
                f"exceeded the memory limit of {memory_limit_mb} MiB "
                f"(resident {self.peak_rss_mb:.0f} MiB; killed)"
            )
        if self.returncode < 0:
            return f"killed by {self.signal_name}"
        return ""


def _group_rss_mb(pgid: int) -> float:
    """Resident memory of all processes in a process group, in MiB (0 off Linux)."""
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    total = 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0.0
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # Fields after "comm)": state(0) ppid(1) pgrp(2) ... rss(21).
        if len(fields) > 21 and int(fields[2]) == pgid:
            total += int(fields[21]) * page
    return total / 2**20


def _kill_group(pgid: int) -> None:
    """SIGKILL a process group, ignoring one that is already gone."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill_all() -> None:
    """Kill every child process group still running (on Ctrl-C in the validator)."""
    with _LIVE_LOCK:
        groups = list(_LIVE)
    for pgid in groups:
        _kill_group(pgid)


def _address_space_limiter(limit_mb: int | None) -> Callable[[], None] | None:
    """A ``preexec_fn`` that sets ``RLIMIT_AS``, or None when there is nothing to set."""
    if limit_mb is None:
        return None
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return None
    limit = int(limit_mb) * 2**20
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    value = (limit, hard)

    def preexec() -> None:
        resource.setrlimit(resource.RLIMIT_AS, value)

    return preexec


def _tail(path: Path) -> str:
    """The last :data:`TAIL_CHARS` characters of a file."""
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - TAIL_CHARS * 4))
        return fh.read().decode("utf-8", errors="replace")[-TAIL_CHARS:]


def run_child(
    cmd: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
    memory_limit_mb: int | None = None,
    address_space_mb: int | None = None,
) -> Outcome:
    """Run a command in its own process group with a timeout and memory guards.

    Args:
        cmd: The command.
        cwd: Its working directory.
        timeout: Seconds before the whole process group is killed.
        env: Its environment (default: :func:`scrubbed_env`).
        memory_limit_mb: Resident memory of the group above which it is killed.
        address_space_mb: ``RLIMIT_AS`` for the child, or None for none.

    Returns:
        How it ended.

    Raises:
        FileNotFoundError: When the program does not exist.
    """
    with tempfile.TemporaryDirectory(prefix="dlgen-out-") as tmp:
        out_path, err_path = Path(tmp, "stdout"), Path(tmp, "stderr")
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            start = time.monotonic()
            proc = subprocess.Popen(
                list(cmd),
                cwd=cwd,
                env=dict(env) if env is not None else scrubbed_env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                preexec_fn=_address_space_limiter(address_space_mb),
            )
            with _LIVE_LOCK:
                _LIVE.add(proc.pid)
            try:
                timed_out, exceeded, peak = _watch(proc, start, timeout, memory_limit_mb)
            finally:
                seconds = time.monotonic() - start
                _kill_group(proc.pid)
                proc.wait()
                with _LIVE_LOCK:
                    _LIVE.discard(proc.pid)
        return Outcome(
            returncode=proc.returncode,
            seconds=seconds,
            stdout=_tail(out_path),
            stderr=_tail(err_path),
            timed_out=timed_out,
            memory_exceeded=exceeded,
            peak_rss_mb=peak,
        )


def _watch(
    proc: subprocess.Popen[bytes], start: float, timeout: float, memory_limit_mb: int | None
) -> tuple[bool, bool, float]:
    """Wait for ``proc``; kill its group on timeout or excess memory.

    Returns:
        (timed out, memory exceeded, peak resident MiB seen).
    """
    peak = 0.0
    while True:
        try:
            proc.wait(timeout=POLL_SECONDS)
            return False, False, peak
        except subprocess.TimeoutExpired:
            pass
        if memory_limit_mb is not None:
            rss = _group_rss_mb(proc.pid)
            peak = max(peak, rss)
            if rss > memory_limit_mb:
                _kill_group(proc.pid)
                proc.wait()
                return False, True, peak
        if time.monotonic() - start > timeout:
            _kill_group(proc.pid)
            proc.wait()
            return True, False, peak
