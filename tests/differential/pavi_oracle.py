"""PAVI's own seq_retrieval.py as an oracle: find it, build its venv, point it at a fake variant API.

PAVI's retrieval (../shared/pavi/seq_retrieval/, Python >= 3.12) runs in its own venv,
``.oracle-venv/`` at the repository root (git-ignored), built once from the first Python
>= 3.12 found on PATH or under pyenv, with the versions PAVI pins.

PAVI's ``variant/variant.py`` hard-codes ``https://www.alliancegenome.org/api/variant/``
and honours no setting or environment variable for it, so :func:`pavi_copy` copies the
``seq_retrieval/`` folder to a temporary directory and replaces that one base URL in the
copy (asserted to occur exactly once) with the loopback fake's. PAVI's files are not modified.
:func:`run_pavi` runs PAVI's click command per request inside one process of that venv.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PAVI = Path(os.environ.get("PAVI_DIR", REPO.parent / "shared" / "pavi"))
VENV = REPO / ".oracle-venv"
PINS = ["biopython==1.85", "pysam==0.23.3", "requests==2.32.5", "click==8.3.1", "jsonpickle==4.1.1"]
PAVI_API = "https://www.alliancegenome.org/api/variant/"


def find_python312() -> str | None:
    """The first Python >= 3.12 on PATH or under pyenv."""
    names = ("python3.12", "python3.13", "python3.14", "python3")  # PAVI's image runs 3.12
    candidates = [shutil.which(name) for name in names]
    pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(glob.glob(f"{pyenv}/versions/3.1[2-9]*/bin/python3"))
    for candidate in candidates:
        if not candidate:
            continue
        check = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info >= (3, 12))"],
            capture_output=True,
            text=True,
        )
        if check.returncode == 0 and check.stdout.strip() == "True":
            return candidate
    return None


def oracle_python() -> tuple[str | None, str]:
    """The oracle venv's python (built if needed), or None and why not."""
    if not (PAVI / "seq_retrieval" / "seq_retrieval.py").is_file():
        return None, f"PAVI's reference copy is absent ({PAVI}/seq_retrieval/seq_retrieval.py)"
    python = VENV / "bin" / "python"
    marker = VENV / ".ready"
    if python.exists() and marker.exists() and marker.read_text().split() == PINS:
        return str(python), ""
    base = find_python312()
    if base is None:
        return None, "no Python >= 3.12 on PATH or under pyenv (PAVI's seq_retrieval needs it)"
    shutil.rmtree(VENV, ignore_errors=True)
    steps = [
        [base, "-m", "venv", str(VENV)],
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--retries",
            "2",
            "--timeout",
            "30",
            *PINS,
        ],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            shutil.rmtree(VENV, ignore_errors=True)
            return (
                None,
                f"cannot build PAVI's oracle venv ({' '.join(step[:4])}): {done.stderr.strip()[-300:]}",
            )
    marker.write_text("\n".join(PINS) + "\n")
    return str(python), ""


def pavi_copy(dest: Path, api_base: str) -> Path:
    """A copy of PAVI's seq_retrieval/ whose variant API base URL is ``api_base``."""
    target = dest / "seq_retrieval"
    shutil.copytree(PAVI / "seq_retrieval", target, ignore=shutil.ignore_patterns("__pycache__"))
    variant_py = target / "variant" / "variant.py"
    variant_py.chmod(0o644)
    text = variant_py.read_text()
    assert text.count(PAVI_API) == 1, "PAVI's variant API URL is no longer where this test expects it"
    variant_py.write_text(text.replace(PAVI_API, api_base))
    return target


# Runs PAVI's click command ``seq_retrieval.main`` once per job inside one process of the
# oracle venv (PAVI's CLI, without paying its interpreter start-up and imports per request).
DRIVER = """
import json, os, sys, traceback
jobs_file, results_file = sys.argv[1:3]
sys.argv = ["seq_retrieval.py"]
import seq_retrieval
results = []
for job in json.load(open(jobs_file)):
    os.makedirs(job["cwd"], exist_ok=True)
    os.chdir(job["cwd"])
    code, error = 0, ""
    try:
        seq_retrieval.main.main(args=job["args"], prog_name="seq_retrieval.py", standalone_mode=False)
    except SystemExit as exc:
        code = exc.code or 0
    except BaseException:
        code, error = 1, traceback.format_exc()
    results.append({"code": code, "error": error})
json.dump(results, open(results_file, "w"))
"""


def run_pavi(python: str, pavi: Path, jobs: list[dict], workdir: Path, env: dict[str, str]) -> list[dict]:
    """Run PAVI's seq_retrieval on each job (``{"cwd": ..., "args": [...]}``); one result each."""
    workdir.mkdir(parents=True, exist_ok=True)
    driver = workdir / "driver.py"
    driver.write_text(DRIVER)
    (workdir / "jobs.json").write_text(json.dumps(jobs))
    done = subprocess.run(
        [python, str(driver), str(workdir / "jobs.json"), str(workdir / "results.json")],
        env={**env, "PYTHONPATH": str(pavi)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"PAVI's driver failed: {done.stderr[-3000:]}"
    return json.loads((workdir / "results.json").read_text())
