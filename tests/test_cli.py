"""The CLI through its real entry point: exit codes, refusals, JSON output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dlgen.cli import main
from dlgen.spec import Spec
from tests.factories import make_spec


def run(*args: str) -> tuple[int, str, str]:
    """Invoke the CLI in-process; returns (exit code, stdout, stderr)."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def write_spec(path: Path, spec: Spec) -> Path:
    path.write_text(spec.to_yaml(), encoding="utf-8")
    return path


def test_help_explains_the_main_job() -> None:
    code, out, _ = run("--help")
    assert code == 0
    assert "dlgen" in out and "spec" in out and "validate" in out and "list" in out


def test_generate_help_lists_the_options() -> None:
    code, out, _ = run("generate", "--help")
    assert code == 0
    for option in ("--output", "--spec", "--force", "--no-validate", "--keep-failed", "--json"):
        assert option in out


def test_list_json_comes_from_the_catalog() -> None:
    from dlgen import catalog

    code, out, _ = run("list", "--json")
    assert code == 0
    data = json.loads(out)
    assert [a["key"] for a in data["architectures"]] == [f.key for f in catalog.all_families()]
    assert {d["key"] for d in data["datasets"]} == {d.key for d in catalog.all_datasets()}


def test_spec_file_is_shown_and_validated(tmp_path: Path) -> None:
    path = write_spec(tmp_path / "spec.yaml", make_spec())
    code, out, _ = run("spec", "--spec", str(path), "--json")
    assert code == 0
    assert Spec.from_dict(json.loads(out)["spec"]) == make_spec()


def test_invalid_spec_file_exits_2_naming_the_field(tmp_path: Path) -> None:
    data = make_spec().to_dict()
    data["model"]["num_heads"] = 5
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    code, _, err = run("spec", "--spec", str(path))
    assert code == 2
    assert "num_heads=5" in err and "hidden_dim" in err


def test_request_and_spec_together_is_a_usage_error(tmp_path: Path) -> None:
    path = write_spec(tmp_path / "spec.yaml", make_spec())
    code, _, err = run("spec", "ViT on CIFAR-10", "--spec", str(path))
    assert code == 2
    assert "not both" in err


def test_refuses_non_empty_output_and_leaves_it_untouched(tmp_path: Path) -> None:
    spec_path = write_spec(tmp_path / "spec.yaml", make_spec())
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code, _, err = run("--spec", str(spec_path), "-o", str(out), "--no-validate")
    assert code == 2
    assert "not empty" in err and "--force" in err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_unsafe_project_name_is_refused(tmp_path: Path) -> None:
    spec_path = write_spec(tmp_path / "spec.yaml", make_spec())
    code, _, err = run(
        "--spec", str(spec_path), "--name", "../evil", "-o", str(tmp_path / "o"), "--no-validate"
    )
    assert code == 2
    assert "path separator" in err
    assert not (tmp_path / "o").exists()


def test_family_without_templates_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    from dlgen import catalog

    missing = [f for f in catalog.all_families() if f.template is None]
    if not missing:
        pytest.skip("every family has templates")
    family = missing[0]
    task = family.default_task
    dataset = catalog.dataset(family.default_datasets[task])
    spec = Spec.model_validate(
        {
            "name": "x",
            "task": task,
            "modality": dataset.modality.value,
            "dataset": {
                "name": dataset.key,
                "modality": dataset.modality.value,
                "source": dataset.source,
                "input_shape": list(dataset.input_shape),
                "in_channels": (
                    dataset.input_shape[0] if dataset.modality.value == "image" else None
                ),
                "num_classes": dataset.num_classes,
                "vocab_size": dataset.vocab_size,
                "output_shape": list(dataset.output_shape) if dataset.output_shape else None,
            },
            "model": {"family": family.key, "variant": family.default_variant},
        }
    )
    out = tmp_path / "out"
    code, _, err = run("--spec", str(write_spec(tmp_path / "s.yaml", spec)), "-o", str(out))
    assert code == 2
    assert "yet" in err and family.key in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "s.yaml"]


def test_real_entry_point_runs() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "dlgen", "--version"], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0
    assert "dlgen" in completed.stdout


def test_interactive_questions_change_the_spec() -> None:
    result = CliRunner().invoke(
        main, ["spec", "ViT-S/16", "--interactive", "--json"], input="CIFAR-10\n\n\n"
    )
    assert result.exit_code == 0, result.output
    spec = json.loads(result.stdout[result.stdout.index("{") :])["spec"]
    assert spec["dataset"]["name"] == "cifar10"
    assert spec["dataset"]["num_classes"] == 10


def test_chinese_request_gets_a_chinese_spec_with_assumptions() -> None:
    code, out, _ = run("spec", "实现ViT用于ImageNet", "--json")
    assert code == 0
    spec = json.loads(out)["spec"]
    assert spec["language"] == "zh"
    assert spec["model"]["family"] == "vit" and spec["model"]["variant"] == "b16"
    assert spec["model"]["patch_size"] == 16
    assert spec["dataset"]["input_shape"] == [3, 224, 224]
    assert spec["dataset"]["num_classes"] == 1000
    assert spec["assumptions"] and all(
        any("\u4e00" <= ch <= "\u9fff" for ch in line) for line in spec["assumptions"]
    )


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("asdkjh qwe", "architecture"),
        ("用Mamba做文本分类", "Mamba"),
    ],
)
def test_bad_requests_exit_2_naming_the_problem(request_text: str, expected: str) -> None:
    code, _, err = run("spec", request_text)
    assert code == 2
    assert expected in err
