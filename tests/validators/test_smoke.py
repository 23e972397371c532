"""smoke check: one sandboxed training step of the project's model."""

from __future__ import annotations

import pytest

from dlgen.validators import validate

from .conftest import CLEAN, MakeProject, line_of, only

MODEL = (CLEAN / "src/tiny/model.py").read_text(encoding="utf-8")
FORWARD_RETURN = "        return self.fc2(hidden)\n"


def _model(replace: str, by: str) -> dict[str, str]:
    """The clean model file with one snippet replaced."""
    assert replace in MODEL
    return {"src/tiny/model.py": MODEL.replace(replace, by)}


def test_clean_model_passes_and_is_measured(make_project: MakeProject) -> None:
    """The clean model's step passes and reports params, FLOPs, memory and step time."""
    report = validate(make_project(), checks=["smoke"])
    check = report.check("smoke")
    assert check.status == "passed", check.findings
    metrics = check.metrics
    assert metrics["params"] == 8 * 16 + 16 + 16 * 4 + 4
    assert metrics["flops"] == 2 * 2 * (8 * 16 + 16 * 4)  # 2 FLOPs per MAC, batch of 2
    assert metrics["peak_memory_mb"] > 50 and metrics["step_time_s"] > 0
    assert metrics["device"] in ("cpu", "cuda:0", "cuda")


def test_nan_in_backward(make_project: MakeProject) -> None:
    """sqrt at 0 gives an infinite local gradient: the parameters' gradients are NaN."""
    root = make_project(
        _model(
            FORWARD_RETURN,
            "        out = self.fc2(hidden)\n" "        return out + torch.sqrt(out - out)\n",
        )
    )
    report = validate(root, checks=["smoke"])
    findings = [f for f in report.findings if f.code == "DLG504"]
    assert {f.message.split("`")[1] for f in findings} == {
        "fc1.weight",
        "fc1.bias",
        "fc2.weight",
        "fc2.bias",
    }
    assert "DLG502" not in [f.code for f in report.findings]  # the loss itself is finite
    assert findings[0].file == "src/tiny/model.py"


def test_parameter_detached_from_the_graph(make_project: MakeProject) -> None:
    """A parameter the forward never uses gets no gradient and is named."""
    root = make_project(
        _model(
            "        self.fc2 = nn.Linear(hidden, num_classes)\n",
            "        self.fc2 = nn.Linear(hidden, num_classes)\n"
            "        self.unused = nn.Linear(num_classes, num_classes)\n",
        )
    )
    report = validate(root, checks=["smoke"])
    findings = [f for f in report.findings if f.code == "DLG505"]
    assert sorted(f.message.split("`")[1] for f in findings) == ["unused.bias", "unused.weight"]
    assert "detached from the graph" in findings[0].message
    assert (findings[0].file, findings[0].line) == (
        "src/tiny/model.py",
        line_of(root, "src/tiny/model.py", "class TinyNet"),
    )


def test_wrong_output_shape(make_project: MakeProject) -> None:
    """An output shape different from expected_output_shape is reported."""
    root = make_project(_model("num_classes: int = 4", "num_classes: int = 5"))
    finding = only(validate(root, checks=["smoke"]), "DLG503")
    assert "(2, 5) != expected (2, 4)" in finding.message
    assert finding.file == "src/tiny/model.py"


def test_exception_is_located_in_project_code(make_project: MakeProject) -> None:
    """A raising forward is reported at the raising line."""
    root = make_project(_model(FORWARD_RETURN, '        raise RuntimeError("boom")\n'))
    finding = only(validate(root, checks=["smoke"]), "DLG501")
    assert (finding.file, finding.line) == (
        "src/tiny/model.py",
        line_of(root, "src/tiny/model.py", 'raise RuntimeError("boom")'),
    )
    assert "forward raised RuntimeError: boom" in finding.message


def test_model_sleeping_past_the_timeout(make_project: MakeProject) -> None:
    """A hanging step is killed at the timeout and reported; validation goes on."""
    root = make_project({**_model(FORWARD_RETURN, "        time.sleep(120)\n" + FORWARD_RETURN)})
    model = root / "src/tiny/model.py"
    model.write_text(
        model.read_text().replace("import torch\n", "import time\n\nimport torch\n", 1)
    )
    report = validate(root, checks=["smoke"], timeout=4)
    finding = only(report, "DLG507")
    assert "timed out after 4 s" in finding.message
    assert report.check("smoke").seconds < 15


def test_model_allocating_past_the_memory_limit(make_project: MakeProject) -> None:
    """Allocating 4 GiB under a 1.5 GiB limit fails cleanly, located at the allocation."""
    root = make_project(
        _model(
            FORWARD_RETURN,
            "        hog = torch.ones(2**30)  # 4 GiB of float32\n"
            "        return self.fc2(hidden) + hog[0]\n",
        )
    )
    report = validate(root, checks=["smoke"], memory_limit_mb=1536)
    finding = only(report, "DLG508")
    assert finding.file == "src/tiny/model.py"
    assert finding.line == line_of(root, "src/tiny/model.py", "hog = torch.ones")


def test_entry_point_breaking_the_contract(make_project: MakeProject) -> None:
    """A smoke entry point returning the wrong thing is reported as such."""
    smoke = (CLEAN / "src/tiny/smoke.py").read_text().replace('"loss_fn": loss_fn,', "")
    finding = only(validate(make_project({"src/tiny/smoke.py": smoke}), checks=["smoke"]), "DLG510")
    assert "lacks loss_fn" in finding.message


def test_skipped_without_dlgen_table(make_project: MakeProject) -> None:
    """A hand-written project without [tool.dlgen] is skipped with a note on opting in."""
    root = make_project()
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text.replace('[tool.dlgen]\nsmoke = "tiny.smoke:smoke_case"\n', ""))
    check = validate(root, checks=["smoke"]).check("smoke")
    assert check.status == "skipped" and "[tool.dlgen]" in check.detail


@pytest.mark.parametrize("entry", ["tiny.smoke", "not a name:x"])
def test_malformed_entry(make_project: MakeProject, entry: str) -> None:
    """An entry that is not module:function is reported at pyproject.toml."""
    root = make_project()
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("tiny.smoke:smoke_case", entry))
    finding = only(validate(root, checks=["smoke"]), "DLG510")
    assert finding.file == "pyproject.toml"


def test_unreadable_pyproject(make_project: MakeProject) -> None:
    """A pyproject.toml that is not TOML is reported, not taken for a missing table."""
    root = make_project({"pyproject.toml": "[tool.dlgen\nsmoke = 1\n"})
    finding = only(validate(root, checks=["smoke"]), "DLG510")
    assert finding.file == "pyproject.toml" and "cannot be read" in finding.message
