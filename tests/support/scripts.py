"""The ``bin/`` scripts: run as a pipeline task runs them (this interpreter), or loaded in-process."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

BIN = Path(__file__).resolve().parents[2] / "bin"


def run_script(
    script: str,
    *args: str | os.PathLike[str],
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``bin/<script>`` with ``args``; ``env`` is added to this process's environment.

    The result is returned whatever the exit code: tests of failures assert on it.
    """
    return subprocess.run(
        [sys.executable, str(BIN / script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        check=False,
    )


def load_script(script: str) -> ModuleType:
    """``bin/<script>`` imported in this process (its ``main(argv)`` runs without a new interpreter)."""
    spec = importlib.util.spec_from_file_location(f"bin_{Path(script).stem}", BIN / script)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
