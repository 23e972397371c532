"""The example GitHub workflow: triggers, permissions, no interpolated request text."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "github" / "dlgen.yml"
WRITE = {"contents": "write", "pull-requests": "write", "issues": "write"}


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_triggers_and_permissions(workflow: dict[str, Any]) -> None:
    assert workflow["on"] == {
        "issue_comment": {"types": ["created"]},
        "issues": {"types": ["labeled"]},
    }
    assert workflow["permissions"] == WRITE
    jobs = workflow["jobs"]
    assert jobs["analyze"]["permissions"] == {}
    assert jobs["pull-request"]["permissions"] == WRITE
    condition = jobs["analyze"]["if"]
    assert "startsWith(github.event.comment.body, '/dlgen')" in condition
    assert "github.event.label.name == 'dlgen'" in condition
    assert "author_association" in condition


def test_no_expression_in_any_run_script(workflow: dict[str, Any]) -> None:
    runs = [step["run"] for step in _steps(workflow) if "run" in step]
    assert runs and all("${{" not in run for run in runs)
    text = WORKFLOW.read_text(encoding="utf-8")
    for match in re.finditer(r"github\.event\.(comment|issue)\.(body|title)", text):
        line = text[: match.start()].rsplit("\n", 1)[-1] + match.group()
        assert "run:" not in line and "env" not in line


def test_llm_step_never_sees_the_write_token(workflow: dict[str, Any]) -> None:
    analyze = workflow["jobs"]["analyze"]
    dumped = json.dumps(analyze)
    assert "GITHUB_TOKEN" not in dumped and "github.token" not in dumped
    assert not any(step.get("uses", "").startswith("actions/checkout") for step in analyze["steps"])
    assert "--write-spec" in dumped and "OPENAI_API_KEY" in dumped
    publish = json.dumps(workflow["jobs"]["pull-request"])
    assert "secrets.GITHUB_TOKEN" in publish and "API_KEY" not in publish


def _run_step(workflow: dict[str, Any]) -> dict[str, Any]:
    steps = workflow["jobs"]["pull-request"]["steps"]
    return next(step for step in steps if "dlgen pr" in step.get("run", ""))


@pytest.mark.parametrize("with_spec", [True, False])
def test_pr_step_passes_only_paths_to_dlgen(
    workflow: dict[str, Any], tmp_path: Path, with_spec: bool
) -> None:
    """Run the step's script with a stand-in `dlgen` and a hostile event file."""
    bin_dir, temp = tmp_path / "bin", tmp_path / "runner-temp"
    bin_dir.mkdir()
    (temp / "dlgen").mkdir(parents=True)
    if with_spec:
        (temp / "dlgen" / "spec.json").write_text("{}", encoding="utf-8")
    fake = bin_dir / "dlgen"
    fake.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$ARGS_OUT"\n', encoding="utf-8")
    fake.chmod(0o755)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"comment": {"body": "/dlgen $(touch pwned) `touch pwned`"}}))
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_EVENT_PATH": str(event),
        "RUNNER_TEMP": str(temp),
        "BASE_BRANCH": "main",
        "ARGS_OUT": str(tmp_path / "args.txt"),
    }
    script = _run_step(workflow)["run"]
    subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=env, check=True)
    args = (tmp_path / "args.txt").read_text(encoding="utf-8").splitlines()
    expected = ["pr", "--event", str(event), "--repo", ".", "--base", "main", "--label", "dlgen"]
    expected.append("--verbose")
    if with_spec:
        expected += ["--spec", str(temp / "dlgen" / "spec.json")]
    assert args == expected
    assert not list(tmp_path.rglob("pwned"))
