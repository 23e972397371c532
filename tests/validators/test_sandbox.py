"""The sandbox children run in: scrubbed environment, timeout, memory watchdog."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from dlgen.validators.sandbox import run_child, scrubbed_env


def test_secrets_are_not_inherited(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """API keys and tokens are dropped; PATH, HOME, locale and CUDA settings are kept."""
    secrets = {
        "OPENAI_API_KEY": "sk-1",
        "ANTHROPIC_API_KEY": "sk-2",
        "GITHUB_TOKEN": "ghp",
        "AWS_SECRET_ACCESS_KEY": "aws",
        "TORCH_HUB_TOKEN": "t",
        "MY_SERVICE_PASSWORD": "pw",
        "UNRELATED_SETTING": "x",
    }
    kept = {"LANG": "C.UTF-8", "CUDA_VISIBLE_DEVICES": "0", "OMP_NUM_THREADS": "1"}
    for name, value in {**secrets, **kept}.items():
        monkeypatch.setenv(name, value)
    code = "import json, os; print(json.dumps(dict(os.environ)))"
    outcome = run_child([sys.executable, "-c", code], cwd=tmp_path, timeout=30)
    env = json.loads(outcome.stdout)
    assert not set(secrets) & set(env)
    assert {name: env.get(name) for name in kept} == kept
    assert env["PATH"] == os.environ["PATH"] and env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert scrubbed_env({"EXTRA": "1"})["EXTRA"] == "1"


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    """A hanging child and the grandchild it started are both killed at the timeout."""
    pid_file = tmp_path / "grandchild.pid"
    code = (
        "import subprocess, sys, time; "
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        f"open({str(pid_file)!r}, 'w').write(str(p.pid)); time.sleep(60)"
    )
    start = time.monotonic()
    outcome = run_child([sys.executable, "-c", code], cwd=tmp_path, timeout=2)
    assert outcome.timed_out and time.monotonic() - start < 10
    assert "timed out after 2 s" in outcome.cause(2, None)
    grandchild = int(pid_file.read_text())
    time.sleep(0.2)
    assert not _running(grandchild)


def _running(pid: int) -> bool:
    """Whether a process exists and is not a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="the watchdog reads /proc")
def test_memory_watchdog_kills_a_hog(tmp_path: Path) -> None:
    """Resident memory beyond the limit kills the child, and says so."""
    code = "import time; b = bytearray(700 * 2**20); time.sleep(30)"
    outcome = run_child([sys.executable, "-c", code], cwd=tmp_path, timeout=30, memory_limit_mb=200)
    assert outcome.memory_exceeded and not outcome.timed_out
    assert "exceeded the memory limit of 200 MiB" in outcome.cause(30, 200)


def test_address_space_limit_turns_a_hog_into_memory_error(tmp_path: Path) -> None:
    """Under RLIMIT_AS a large allocation fails inside the child instead of swapping."""
    code = "try:\n b = bytearray(3 * 2**30)\nexcept MemoryError:\n print('MemoryError')"
    outcome = run_child(
        [sys.executable, "-c", code], cwd=tmp_path, timeout=30, address_space_mb=1024
    )
    assert outcome.stdout.strip() == "MemoryError"
