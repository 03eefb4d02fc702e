"""Listing the tests (``pytest --collect-only``) needs neither Nextflow nor Java and runs no workflow."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO

ABSENT = {"nextflow", "java", "javac", "node", "npm", "npx", "cdk"}


def path_without(names: set[str], folder: Path) -> str:
    """A PATH of one folder linking every program on the current PATH except ``names``."""
    folder.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        if not Path(directory).is_dir():
            continue
        for program in Path(directory).iterdir():
            link = folder / program.name
            if program.name not in names and not link.exists() and os.access(program, os.X_OK):
                link.symlink_to(program.resolve())
    return str(folder)


def test_collect_only_without_nextflow_or_java_starts_no_workflow(tmp_path: Path) -> None:
    path = path_without(ABSENT, tmp_path / "bin")
    assert not any(shutil.which(name, path=path) for name in ABSENT)
    workflow_dirs = tmp_path / "workflows"  # pytest-workflow's copies of the checkout, kept (--kwd)
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests",
            "--collect-only",
            "-q",
            "--kwd",
            f"--basetemp={workflow_dirs}",
        ],
        cwd=REPO,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=300,
    )
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert seconds < 90, f"collecting took {seconds:.0f} s"
    listed = result.stdout.splitlines()
    for folder in (
        "tests/unit/",
        "tests/workflow/test_pipeline.yml::",
        "tests/workflow/test_protein_msa.yml::",
    ):
        assert any(line.startswith(folder) for line in listed), f"nothing of {folder} listed"
    # every queued workflow got its copy of the checkout, and none of them was started: a
    # started workflow writes its log.out/log.err there before anything else
    copies = [p for p in workflow_dirs.iterdir() if (p / "main.nf").exists()]
    assert copies, f"no workflow was queued in {workflow_dirs}"
    assert sorted(str(p.relative_to(workflow_dirs)) for p in workflow_dirs.glob("*/log.*")) == []
