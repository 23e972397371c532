"""Template contracts: every combination the catalog allows keeps them; broken folders fail.

``check_contract`` renders without formatting (tens of milliseconds), so every
(family, task, dataset) combination is checked here, while the slow end-to-end tests
verify one full project per task.
"""

from __future__ import annotations

import ast
import re
import shutil
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from dlgen import catalog
from dlgen.agent.offline.analyzer import analyze_choice
from dlgen.errors import SpecError
from dlgen.render import TEMPLATES_ROOT, TemplateProblem, check_contract
from dlgen.spec import Spec
from dlgen.validators.checks.docstrings import check_source
from dlgen.validators.checks.english import check_python_source


def _combinations() -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    allowed, refused = [], []
    for family in catalog.all_families():
        for task_key in family.tasks:
            task = catalog.task(task_key)
            if family.template is None or task.template is None:
                continue
            for dataset in catalog.all_datasets():
                if dataset.modality in task.modalities:
                    combination = (family.key, task.key, dataset.key)
                    try:
                        analyze_choice(*combination)
                    except SpecError:
                        refused.append(combination)
                    else:
                        allowed.append(combination)
    return allowed, refused


ALLOWED, REFUSED = _combinations()

# Import name -> the requirement that provides it (stdlib and the package itself aside).
DISTRIBUTIONS = {
    "torch": "torch", "numpy": "numpy", "omegaconf": "omegaconf", "yaml": "pyyaml",
    "tqdm": "tqdm", "tensorboard": "tensorboard", "torchvision": "torchvision",
    "PIL": "pillow", "sklearn": "scikit-learn", "scipy": "scipy", "h5py": "h5py",
    "wandb": "wandb", "pytest": "pytest", "transformers": "transformers",
    "onnx": "onnx", "onnxscript": "onnxscript", "onnxruntime": "onnxruntime", "timm": "timm",
    "safetensors": "safetensors", "sacrebleu": "sacrebleu", "tokenizers": "tokenizers",
    "peft": "peft", "tiktoken": "tiktoken", "pyarrow": "pyarrow", "networkx": "networkx",
}  # fmt: skip
DEV = {"pytest"}
# Extras every project offers (project/contract.yaml): export.py --format onnx, and
# model.pretrained hub names and .safetensors files.
SKELETON_EXTRAS = {"onnx", "onnxscript", "onnxruntime", "timm", "torchvision", "safetensors"}


def _requirement_name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0]


def _requirements(files: dict[str, str]) -> tuple[set[str], set[str]]:
    """The names of the required and of the optional (extras) requirements of a project."""
    project = tomllib.loads(files["pyproject.toml"])["project"]
    required = {_requirement_name(r) for r in project["dependencies"]}
    listed = {_requirement_name(line) for line in files["requirements.txt"].splitlines() if line}
    assert listed == required, "requirements.txt and pyproject.toml disagree"
    optional = {
        _requirement_name(r)
        for name, extra in project["optional-dependencies"].items()
        if name != "dev"
        for r in extra
    }
    return required, optional


def _imports(files: dict[str, str], package: str) -> tuple[set[str], set[str]]:
    """Third-party modules imported at module level, and inside functions (lazily)."""
    eager: set[str] = set()
    lazy: set[str] = set()
    for path, text in files.items():
        if not path.endswith(".py"):
            continue
        tree = ast.parse(text)
        top = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = {node.module.split(".")[0]}
            else:
                continue
            (eager if id(node) in top or path.startswith("tests/") else lazy).update(names)
    ignored = set(sys.stdlib_module_names) | {package, "__future__"}
    return eager - ignored, lazy - ignored - eager


def test_the_catalog_allows_a_combination_of_every_generatable_task_and_family() -> None:
    tasks = {task for _, task, _ in ALLOWED}
    families = {family for family, _, _ in ALLOWED}
    assert tasks == {t.key for t in catalog.all_tasks() if t.template}
    assert families == {f.key for f in catalog.all_families() if f.template}
    # Refused ones are refused for a reason the Spec states (e.g. no classes to classify).
    assert ("rnn", "sequence_classification", "wikitext2") in REFUSED


@pytest.mark.parametrize(("family", "task", "dataset"), ALLOWED, ids=["-".join(c) for c in ALLOWED])
def test_combination_keeps_every_contract(family: str, task: str, dataset: str) -> None:
    spec = analyze_choice(family, task, dataset)
    files = check_contract(spec)
    required, optional = _requirements(files)
    eager, lazy = _imports(files, spec.package_name)
    for name in sorted(eager | lazy):
        assert name in DISTRIBUTIONS, f"{name} is imported; add it to DISTRIBUTIONS"
    for name in sorted(eager):  # imported when the module loads: a hard requirement
        assert DISTRIBUTIONS[name] in required | DEV, f"{spec.name} imports {name} undeclared"
    for name in sorted(lazy):  # imported where a data source or option needs it
        assert DISTRIBUTIONS[name] in required | optional, f"{spec.name}: no extra for {name}"


def test_projects_declare_only_what_their_data_needs() -> None:
    vit = check_contract(analyze_choice("vit", "image_classification", "imagenet"))
    required, optional = _requirements(vit)
    assert {"torch", "torchvision", "pillow"} <= required
    assert not {"scipy", "scikit-learn", "h5py"} & required
    # The digits source is an extra; so are ONNX export and pretrained hub weights.
    assert optional == {"wandb", "scikit-learn", *SKELETON_EXTRAS}
    digits = check_contract(analyze_choice("cnn", "image_classification", "digits"))
    assert "scikit-learn" in _requirements(digits)[0]
    assert "test_sklearn_digits_loads_offline" in digits["tests/test_image_classification.py"]
    assert "test_sklearn_digits_loads_offline" not in vit["tests/test_image_classification.py"]
    fno = check_contract(analyze_choice("fno", "operator_learning", "darcy"))
    assert "scipy" in _requirements(fno)[0]
    assert 'hdf5 = ["h5py>=3.8"]' in fno["pyproject.toml"]
    lstm = check_contract(analyze_choice("rnn", "sequence_classification", "imdb"))
    assert not {"torchvision", "pillow", "scipy"} & _requirements(lstm)[0]


# Broken folders -------------------------------------------------------------------------


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    root = tmp_path / "templates"
    shutil.copytree(TEMPLATES_ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.fixture(scope="module")
def vit_spec() -> Spec:
    return analyze_choice("vit", "image_classification", "cifar10")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_shipped_templates_keep_their_contracts(vit_spec: Spec, templates: Path) -> None:
    check_contract(vit_spec, templates=templates)  # the copy itself is sound


def test_missing_task_module_names_the_folder_and_file(vit_spec: Spec, templates: Path) -> None:
    (templates / "tasks/image_classification/src/pkg/task.py").unlink()
    with pytest.raises(
        TemplateProblem, match=r"tasks/image_classification is missing src/pkg/task\.py"
    ):
        check_contract(vit_spec, templates=templates)


def test_missing_contract_file_is_named(vit_spec: Spec, templates: Path) -> None:
    (templates / "models/vit/contract.yaml").unlink()
    with pytest.raises(TemplateProblem, match=r"models/vit has no contract\.yaml"):
        check_contract(vit_spec, templates=templates)


def test_interpolating_a_key_the_task_does_not_export(vit_spec: Spec, templates: Path) -> None:
    _edit(templates / "models/vit/configs/model/vit.yaml.j2", "name: vit\n",
          "name: vit\nsequence_length: ${data.sequence_length}\n")  # fmt: skip
    _edit(templates / "models/vit/contract.yaml", "consumes: [", "consumes: [sequence_length, ")
    with pytest.raises(TemplateProblem) as caught:
        check_contract(vit_spec, templates=templates)
    message = str(caught.value)
    assert "models/vit/configs/model/vit.yaml.j2" in message
    assert "${data.sequence_length}" in message and "tasks/image_classification" in message


def test_interpolating_an_undeclared_key(vit_spec: Spec, templates: Path) -> None:
    _edit(templates / "models/vit/configs/model/debug.yaml.j2", "name: vit\n",
          "name: vit\nextra: ${data.mean}\n")  # fmt: skip
    with pytest.raises(
        TemplateProblem, match=r"debug\.yaml\.j2 interpolates \$\{data\.mean\}.*consumes"
    ):
        check_contract(vit_spec, templates=templates)


def test_data_config_missing_an_exported_key(vit_spec: Spec, templates: Path) -> None:
    path = templates / "tasks/image_classification/configs/data/__dataset__.yaml.j2"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"(?m)^augment:.*\n", "", text), encoding="utf-8")
    with pytest.raises(
        TemplateProblem, match=r"__dataset__\.yaml\.j2 does not define data key 'augment'"
    ):
        check_contract(vit_spec, templates=templates)


def test_model_config_name_must_be_the_registry_key(vit_spec: Spec, templates: Path) -> None:
    _edit(templates / "models/vit/configs/model/vit.yaml.j2", "name: vit\n", "name: vision\n")
    with pytest.raises(TemplateProblem, match=r"has name 'vision', but .*registers \['vit'\]"):
        check_contract(vit_spec, templates=templates)


def test_task_monitor_must_equal_the_catalog(vit_spec: Spec, templates: Path) -> None:
    _edit(templates / "tasks/image_classification/src/pkg/task.py", '"top1"', '"top5"')
    with pytest.raises(TemplateProblem, match=r"monitor = 'top5'.*declares 'top1'"):
        check_contract(vit_spec, templates=templates)


def test_unknown_shared_folder_is_named(vit_spec: Spec, templates: Path) -> None:
    _edit(templates / "tasks/image_classification/contract.yaml", "shared: []", "shared: [masks]")
    with pytest.raises(TemplateProblem, match=r"uses shared folder 'masks'.*shared/masks"):
        check_contract(vit_spec, templates=templates)


def test_shared_and_used_model_folders_are_included_not_copied(
    vit_spec: Spec, templates: Path
) -> None:
    shared = templates / "shared" / "image_io" / "src" / "pkg" / "data"
    shared.mkdir(parents=True)
    (shared / "image_io.py").write_text('"""Shared image reading."""\n', encoding="utf-8")
    _edit(
        templates / "tasks/image_classification/contract.yaml", "shared: []", "shared: [image_io]"
    )
    _edit(templates / "models/vit/contract.yaml", "models: []", "models: [resnet]")
    files = check_contract(vit_spec, templates=templates)
    package = vit_spec.package_name
    assert files[f"src/{package}/data/image_io.py"] == '"""Shared image reading."""\n'
    assert f"src/{package}/models/resnet.py" in files  # the encoder's model file only
    assert "configs/model/resnet.yaml" not in files


@pytest.mark.parametrize(("family", "task", "dataset"), ALLOWED, ids=["-".join(c) for c in ALLOWED])
def test_combination_passes_the_docstring_and_english_checks(
    family: str, task: str, dataset: str
) -> None:
    """The ast-level validator checks on every rendered Python file, without formatting.

    The same checks the generate path runs, here for every combination the catalog allows
    (the end-to-end tests validate one project per task).
    """
    files = check_contract(analyze_choice(family, task, dataset))
    findings = [
        f"{finding.file}:{finding.line} {finding.code} {finding.message}"
        for path, text in sorted(files.items())
        if path.endswith(".py")
        for finding in check_source(text, path) + check_python_source(text, path)
    ]
    assert not findings, "\n".join(findings)
