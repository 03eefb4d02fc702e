"""Light setup: `make demo` installs only the runtime lock, `make test` the dev lock and the test-only
Debian packages; both installs are hash-checked."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def planned(target: str) -> str:
    """The commands `make` would run for a target from scratch (-B), without running them."""
    done = subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout


def test_demo_installs_only_the_runtime_lock() -> None:
    plan = planned("demo")
    assert "--require-hashes --no-deps -r requirements/runtime.txt" in plan
    assert "dev.txt" not in plan and "apt-get" not in plan


def test_test_installs_the_dev_lock_and_the_slurm_packages() -> None:
    plan = planned("test")
    assert "--require-hashes --no-deps -r requirements/dev.txt" in plan
    assert all(name in plan for name in ("slurmctld", "slurmd", "slurm-client", "munge", "samtools"))
    assert "scripts/lint-nf-core" in plan


def test_every_lock_line_is_an_exact_pin_with_hashes() -> None:
    for lock in ("runtime.txt", "dev.txt", "container.txt"):
        text = (ROOT / "requirements" / lock).read_text()
        requirements = re.findall(r"^([A-Za-z0-9][^\s\\]*)", text, re.M)
        assert requirements, lock
        assert all("==" in r for r in requirements), (lock, [r for r in requirements if "==" not in r])
        assert text.count("--hash=sha256:") >= len(requirements)
