"""The container's dependency set runs the bin/ scripts.

No container engine can run here (and buildah could not pull the base image: no registry is
reachable), so this builds what the Dockerfile builds, minus Debian: a fresh venv with exactly
`requirements/container.txt` (the runtime lock plus the AWS CLI; hash-checked, --no-deps) and the
package from its source tree via PYTHONPATH, as the image does. Then every bin/ script answers
--help and the demo retrieval gives the same bytes as the development environment.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.retrieval_args import single_args

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
RUNTIME = ROOT / "requirements" / "runtime.txt"
CONTAINER = ROOT / "requirements" / "container.txt"
DEV_ONLY = {
    "pytest",
    "pytest-workflow",
    "nf-core",
    "moto",
    "ruff",
    "matplotlib",
    "aws-cdk-lib",
    "hypothesis",
    "uv",
}


def locked(path: Path) -> dict[str, str]:
    return dict(re.findall(r"^([A-Za-z0-9_.\-\[\]]+)==(\S+)", path.read_text(), re.M))


def test_the_dockerfile_pins_base_image_and_packages_and_installs_exactly_the_container_lock() -> None:
    base = re.search(r"^FROM (\S+)", DOCKERFILE, re.M)
    assert base and re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", base.group(1))
    apt = re.search(r"apt-get install[^\n]*\\\n\s+([^\n]+)\\", DOCKERFILE)
    assert apt
    packages = apt.group(1).split()
    assert packages and all(re.fullmatch(r"[a-z0-9.+-]+=[\w.:+~-]+", p) for p in packages), packages
    assert "pip install --no-cache-dir --require-hashes --no-deps -r requirements/container.txt" in DOCKERFILE
    assert DOCKERFILE.count("pip install") == 1  # nothing beside the lock


def test_the_runtime_lock_is_pinned_with_hashes_and_holds_no_test_tool() -> None:
    text = RUNTIME.read_text()
    pins = locked(RUNTIME)
    assert pins and not (set(pins) & DEV_ONLY)
    blocks = re.split(r"\n(?=[A-Za-z])", text[text.index("\n" + next(iter(pins))) + 1 :])
    assert all("--hash=sha256:" in block for block in blocks if "==" in block)
    for other in ("dev.txt", "container.txt"):
        pinned = locked(ROOT / "requirements" / other)
        assert all(pinned.get(name) == version for name, version in pins.items()), other


def test_the_container_set_is_the_runtime_set_plus_the_aws_cli() -> None:
    extra = set(locked(CONTAINER)) - set(locked(RUNTIME))
    assert "awscli" in extra
    assert not (extra & DEV_ONLY)
    assert "awscli" not in locked(RUNTIME)  # `make demo` does not install it


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("image") / "venv"
    subprocess.run(["python3.11", "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin/python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    done = subprocess.run(
        [*pip, "--require-hashes", "--no-deps", "-r", str(CONTAINER)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 and "Could not find a version" in done.stderr + done.stdout:
        pytest.skip(f"PyPI is not reachable to build the runtime venv: {done.stderr[-300:]}")
    assert done.returncode == 0, done.stderr
    check = subprocess.run([str(venv / "bin/python"), "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout  # the lock is complete and consistent on its own
    return venv


def image_env(venv: Path) -> dict[str, str]:
    # as the Dockerfile's ENV: scripts on PATH, the package from src/, no dev venv anywhere
    path = f"{ROOT / 'bin'}:{venv / 'bin'}:/usr/bin:/bin"
    return {"PATH": path, "PYTHONPATH": str(ROOT / "src"), "HOME": os.environ.get("HOME", "/tmp")}


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "bin").glob("*.py")))
def test_every_bin_script_runs_with_the_image_set(image_venv: Path, script: str) -> None:
    done = subprocess.run(
        [str(image_venv / "bin/python"), str(ROOT / "bin" / script), "--help"],
        capture_output=True,
        text=True,
        env=image_env(image_venv),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout


@pytest.mark.slow
def test_every_package_module_imports_with_the_image_set(image_venv: Path) -> None:
    modules = sorted(p.stem for p in (ROOT / "src/genomecache").glob("*.py") if p.stem != "__init__")
    code = "import importlib, sys; [importlib.import_module('genomecache.' + m) for m in sys.argv[1:]]"
    done = subprocess.run(
        [str(image_venv / "bin/python"), "-c", code, *modules],
        capture_output=True,
        text=True,
        env=image_env(image_venv),
        check=False,
    )
    assert done.returncode == 0, done.stderr


def retrieve(python: str, env: dict[str, str], workdir: Path) -> bytes:
    """The demo retrieval: cache the embedded genome, then one protein by index."""
    workdir.mkdir()
    fetched = subprocess.run(
        [
            python,
            str(ROOT / "bin/genome_cache.py"),
            "--cache-dir",
            str(workdir / "cache"),
            "-q",
            "fetch",
            str(ROOT / "assets/genome/ce.fa.gz"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    request = json.loads((ROOT / "assets/requests.json").read_text())[0]
    subprocess.run(
        [
            python,
            str(ROOT / "bin/seq_retrieval.py"),
            *single_args(request, "file://" + fetched.stdout.strip(), workdir / "cache"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=workdir,
        check=True,
    )
    return (workdir / f"{request['unique_entry_id']}-protein.fa").read_bytes()


@pytest.mark.slow
def test_the_demo_retrieval_gives_the_same_protein_with_the_image_set(
    image_venv: Path, tmp_path: Path
) -> None:
    image = retrieve(str(image_venv / "bin/python"), image_env(image_venv), tmp_path / "image")
    dev = retrieve(sys.executable, dict(os.environ), tmp_path / "dev")
    assert image.startswith(b">ce-tx1_plus_2exon\n") and len(image) > 50
    assert image == dev
