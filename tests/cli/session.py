"""Shell sessions written in the docs (```text blocks of ``$ command`` lines and their output),
run for real: one ``bash`` for the whole page, in a temporary folder, with ``creditledger``
meaning ``python -m creditledger`` of this interpreter.

Expected output is compared as doctest does, with ``...`` standing for anything (ids, keys,
times) and runs of whitespace alike (tables). A command whose expected output has an
``error:`` line must fail with exit 2; every other must succeed.
"""

from __future__ import annotations

import doctest
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

TEXT_BLOCK = re.compile(r"^```text\n(.*?)^```", re.S | re.M)
MARK = "@@@creditledger-session@@@"


@dataclass
class Step:
    command: str
    expected: str
    output: str = ""
    code: int = -1

    def wants_error(self) -> bool:
        return any(line.startswith("error:") for line in self.expected.splitlines())

    def matches(self) -> bool:
        flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
        return doctest.OutputChecker().check_output(self.expected, self.output, flags)


def steps_of(page: Path) -> list[Step]:
    """Every ``$ command`` of the page's ```text blocks that start with one, in order."""
    steps: list[Step] = []
    for block in TEXT_BLOCK.findall(page.read_text(encoding="utf-8")):
        if block.startswith("$ "):
            steps += _parse(block.splitlines())
    return steps


def _parse(lines: list[str]) -> list[Step]:
    steps: list[Step] = []
    i = 0
    while i < len(lines):
        command = [lines[i].removeprefix("$ ")]
        while command[-1].endswith("\\") and i + 1 < len(lines):
            i += 1
            command.append(lines[i])
        i += 1
        expected = []
        while i < len(lines) and not lines[i].startswith("$ "):
            expected.append(lines[i])
            i += 1
        steps.append(Step("\n".join(command), "\n".join(expected).strip() + "\n"))
    return steps


def run_session(steps: list[Step], folder: Path, timeout: float = 300) -> list[Step]:
    """Run the steps in one ``bash`` in ``folder``; fill in each one's output and exit code."""
    script = [f'creditledger() {{ "{sys.executable}" -m creditledger "$@"; }}']
    for n, step in enumerate(steps):
        script += [f"echo '{MARK} {n}'", f"{{ {step.command}\n}} 2>&1",
                   f"rc=$?; echo; echo '{MARK} rc' $rc"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDITLEDGER_")}
    env.update({"COLUMNS": "100", "PYTHONUNBUFFERED": "1", "LC_ALL": "C.UTF-8"})
    result = subprocess.run(["bash", "-c", "\n".join(script)], cwd=folder, env=env,
                            capture_output=True, text=True, timeout=timeout)
    parts = result.stdout.split(f"{MARK} ")[1:]
    assert len(parts) == 2 * len(steps), (result.stdout, result.stderr)
    for n, step in enumerate(steps):
        step.output = parts[2 * n].partition("\n")[2].strip() + "\n"
        step.code = int(parts[2 * n + 1].split()[1])
    return steps
