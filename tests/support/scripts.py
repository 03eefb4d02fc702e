"""Run the ``bin/`` scripts as a pipeline task does: this interpreter, text output captured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
