"""The commands a generated README shows, and how a test runs each one on the debug preset.

A README's ``bash`` blocks are the user's first hour: every line in them is a command the
user will type. :func:`readme_commands` reads them back from the rendered README;
:func:`debug_command` turns one into the argument list a test runs, changing only what a
test must change (the interpreter, the preset, the placeholders), so that a README line no
test can run fails the test instead of being skipped silently.
"""

from __future__ import annotations

import csv
import re
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

BASH_BLOCK = re.compile(r"```bash\n(.*?)```", re.DOTALL)
# The README's placeholders: a run folder name, a weights file and example inputs.
RUN = "<run>"
WEIGHTS = "PATH"
EXAMPLE = re.compile(r"^path/to/(?P<name>[^/]+?)(?P<folder>/)?$")
# The overrides that keep a README's real-size values out of a debug run.
SIZE_OVERRIDES = ("training.batch_size=", "training.epochs=")
# Processes a test gives torchrun: the README's count is for a machine with GPUs.
TEST_PROCESSES = 2


def readme_commands(readme: str) -> list[list[str]]:
    """Every command in the README's ``bash`` blocks, split as the shell would.

    Args:
        readme: The README's text.

    Returns:
        One argument list per non-empty line, trailing ``# comments`` removed.
    """
    commands = []
    for block in BASH_BLOCK.findall(readme):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words:
                commands.append(words)
    return commands


@dataclass
class DebugRunner:
    """Maps README commands to what a test runs, on the debug preset.

    Args:
        package: The project's package name (its run folders are ``outputs/<package>/``).
        run_name: The run that ``training.run_name=<name>`` creates; stands for ``<run>``.
        example: Writes a stand-in for a README ``path/to/<name>`` input and returns it.
        tensorboard: The ``tensorboard`` executable.
        skipped: README commands not run, with the reason (filled while mapping).
    """

    package: str
    run_name: str
    example: Callable[[str], Path]
    tensorboard: str
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def command(self, words: list[str]) -> list[str] | None:
        """The argument list a test runs for one README command, or None if it is skipped.

        Args:
            words: The README command, split.

        Returns:
            The argument list, or None for the one kind of command a test cannot run
            (``pip install``: the test environment already holds the dependencies, and
            installing would change it for every other test).

        Raises:
            ValueError: For a command shape this runner does not know, so that a new
                README line cannot go untested.
        """
        words = [self._substitute(word) for word in words]
        program, arguments = words[0], words[1:]
        if program == "pip" and arguments[:1] == ["install"]:
            self.skipped.append((shlex.join(words), "installs into the test environment"))
            return None
        if program == "pytest":
            return [sys.executable, "-m", "pytest", *arguments, "-p", "no:cacheprovider"]
        if program == "python" and arguments[:1] == ["train.py"]:
            return [sys.executable, "train.py", *self._debug(arguments[1:])]
        if program == "python" and arguments[:1] == ["prepare_data.py"]:
            preset = [] if "--config-name" in arguments else ["--config-name", "debug"]
            return [sys.executable, *arguments, *preset]
        if program == "python" and arguments[:1] in (["inference.py"], ["export.py"]):
            return [sys.executable, *arguments]
        if program == "python" and arguments[:1] == ["baseline.py"]:
            # A tabular project's scikit-learn baseline, on the debug preset's data.
            return [sys.executable, "baseline.py", *arguments[1:], "--config-name", "debug"]
        if program == "torchrun":
            options = [word for word in arguments if word.startswith("--")]
            if any(word.startswith("--nnodes") for word in options):
                raise ValueError(f"a multi-node command needs several machines: {words}")
            script = arguments.index("train.py")
            return [
                sys.executable,
                "-m",
                "torch.distributed.run",
                f"--nproc_per_node={TEST_PROCESSES}",
                "train.py",
                *self._debug(arguments[script + 1 :]),
            ]
        if program == "tensorboard":
            return [self.tensorboard, "--inspect", *arguments]
        raise ValueError(f"no test knows how to run this README command: {shlex.join(words)}")

    def _substitute(self, word: str) -> str:
        word = word.replace(RUN, self.run_name)
        key, _, value = word.partition("=")
        if value == WEIGHTS:
            return f"{key}=outputs/{self.package}/{self.run_name}/checkpoints/best.pt"
        match = EXAMPLE.match(word)
        if match is not None:
            return str(self.example(match["name"]))
        return word

    def _debug(self, arguments: list[str]) -> list[str]:
        """``train.py`` arguments on the debug preset, in the README's run folders.

        The real-size fast dev run is kept as it is (one step at the real shapes is the
        point of it), and so are ``--evaluate`` (it takes the checkpoint's own config)
        and ``--cfg``; every other run uses the debug preset, drops the README's real
        batch size and epoch count, writes to ``outputs/<package>/`` as the README's paths
        expect, and logs TensorBoard events for the README's ``tensorboard`` command.
        """
        if {"--fast-dev-run", "--evaluate", "--cfg"} & set(arguments):
            return arguments
        kept = [word for word in arguments if not word.startswith(SIZE_OVERRIDES)]
        preset = [] if "--config-name" in kept else ["--config-name", "debug"]
        extra = [f"output_dir=outputs/{self.package}", "training.tensorboard=true"]
        return [*preset, *kept, *extra]


def write_table_rows(path: Path, data: Any, rows: int, seed: int) -> None:
    """Write a CSV of ``rows`` rows with a tabular project's feature columns.

    The columns come from the fitted preprocessing the run stored in its config
    (``data.preprocessing``): numeric cells are standard normal, categorical ones cycle
    through the training categories (and one unseen value), one numeric cell is missing.

    Args:
        path: The CSV file to write.
        data: The run's ``data`` config section.
        rows: Number of rows.
        seed: Seed of the numbers.
    """
    state = data.preprocessing
    numeric = list(state.numeric.columns)
    categorical = list(state.categorical.columns)
    rng = np.random.default_rng(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*numeric, *categorical])
        for row in range(rows):
            cells: list[Any] = [float(value) for value in rng.standard_normal(len(numeric))]
            if row == 0 and cells:
                cells[0] = ""  # a missing value: imputed with the training median
            for column, categories in enumerate(state.categorical.categories):
                options = [*categories, "unseen"]
                cells.append(options[(row + column) % len(options)])
            writer.writerow(cells)
