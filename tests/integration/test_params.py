"""Parameters like an nf-core pipeline: schema <-> config, --help, typo and type checks, one version.

Every check that runs the pipeline asserts that it stopped before any task: the work directory
stays empty, so a mistyped parameter can never start downloads into the wrong cache.
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.support.scripts import run_script

ROOT = Path(__file__).resolve().parents[2]
NEXTFLOW = ROOT / "scripts/nextflow"
SCHEMA = json.loads((ROOT / "nextflow_schema.json").read_text())
PROFILES = "test,docker,aws,slurm,k8s"
# Nextflow's own params-like names never declared by a pipeline
NOT_PARAMS = {"params"}


def schema_params() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for group in SCHEMA["$defs"].values():
        found.update(group["properties"])
    found.update(SCHEMA.get("properties", {}))
    return found


@cache
def config_params(profile: str | None) -> dict[str, Any]:
    args = [str(NEXTFLOW), "config", "-o", "json", *(["-profile", profile] if profile else [])]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["params"]


def params_read_in_code() -> set[str]:
    """Every `params.x` any config, profile, workflow or module reads."""
    files = [ROOT / "nextflow.config", ROOT / "main.nf", *ROOT.glob("conf/*.config")]
    files += [*ROOT.glob("workflows/*.nf"), *ROOT.glob("subworkflows/**/*.nf"), *ROOT.glob("modules/**/*.nf")]
    names: set[str] = set()
    for path in files:
        text = re.sub(r"//[^\n]*", "", path.read_text())  # not the ones named in comments
        names |= set(re.findall(r"\bparams\.([A-Za-z_]\w*)", text))
    return names - NOT_PARAMS


def run_pipeline(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    work = tmp_path / "work"
    return subprocess.run(
        [str(NEXTFLOW), "run", str(ROOT / "main.nf"), "-ansi-log", "false", "-w", str(work), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def assert_no_task_ran(tmp_path: Path) -> None:
    work = tmp_path / "work"
    assert not work.exists() or not any(work.iterdir()), "a task started before the parameters were checked"


@pytest.mark.slow  # starts nextflow (>20 s on a loaded 2-core machine)
def test_every_param_a_profile_or_workflow_reads_is_in_the_schema() -> None:
    declared = set(config_params(None)) | set(config_params(PROFILES))
    missing = (declared | params_read_in_code()) - set(schema_params())
    assert not missing, f"not in nextflow_schema.json: {sorted(missing)}"


def test_every_schema_param_is_declared_in_the_config_or_a_profile() -> None:
    declared = set(config_params(None)) | set(config_params(PROFILES))
    extra = set(schema_params()) - declared
    assert not extra, f"in nextflow_schema.json but no config or profile declares them: {sorted(extra)}"


def test_schema_defaults_match_the_config() -> None:
    values = config_params(None)
    for name, spec in schema_params().items():
        if "default" in spec and name in values and name != "cacheDir":  # cacheDir: from $HOME
            assert values[name] == spec["default"], name


@pytest.mark.slow  # starts nextflow (>20 s on a loaded 2-core machine)
def test_help_lists_every_visible_param_grouped_with_defaults_and_exits_0(tmp_path: Path) -> None:
    # --cache-dir: Nextflow also sets cacheDir for it, so it is not an unknown parameter
    done = run_pipeline(tmp_path, "--cache-dir", str(tmp_path / "c"), "--help")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert f"alliance-genome/genome-cache v{manifest_version()}" in out
    for group in SCHEMA["$defs"].values():
        if any(not spec.get("hidden") for spec in group["properties"].values()):
            assert f"{group['title']}:" in out
    for name, spec in schema_params().items():
        assert (f"--{name} " in out) != bool(spec.get("hidden")), name
    assert re.search(r"--access\s+\[full\|range\].*\(default: full\)", out)
    assert re.search(r"--retrievalBatch\s+\[integer\].*\(default: 100\)", out)
    assert_no_task_ran(tmp_path)


@pytest.mark.slow  # starts nextflow (>20 s on a loaded 2-core machine)
def test_version_prints_the_manifest_version(tmp_path: Path) -> None:
    done = run_pipeline(tmp_path, "--version")
    assert done.returncode == 0, done.stderr
    assert f"alliance-genome/genome-cache {manifest_version()}" in done.stdout


@pytest.mark.slow  # starts nextflow (>20 s on a loaded 2-core machine)
def test_every_mistake_stops_the_run_before_any_task_each_on_one_line(tmp_path: Path) -> None:
    done = run_pipeline(
        tmp_path,
        "-profile",
        "test",
        "--cachedir",
        str(tmp_path / "cache"),
        "--access",
        "ranged",
        "--output_type",
        "proteins",
        "--codon_table",
        "7",
        "--retrievalBatch",
        "many",
        "--genomeMirror",
    )
    out = done.stdout + done.stderr
    assert done.returncode != 0
    assert "Unknown parameter --cachedir: did you mean --cacheDir?" in out
    assert "--access: 'ranged' is not one of full, range" in out
    assert "--output_type: 'proteins' is not one of protein, transcript" in out
    assert "--codon_table: '7' is not one of 1, 2, 3" in out
    assert "--retrievalBatch: expected an integer, got 'many'" in out
    assert "--genomeMirror needs a value (string)" in out  # a trailing flag arrives as true
    assert "Exception" not in out
    assert not (tmp_path / "cache").exists()
    assert_no_task_ran(tmp_path)


@pytest.mark.slow  # starts nextflow once per case
@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "--cacheDir is required with this profile"),
        (["--cacheDir", "relative/cache"], "--cacheDir relative/cache: must be an absolute path"),
        (["--cacheDir", "/nonexistent/genomes"], "--cacheDir /nonexistent/genomes: no such directory"),
    ],
)
def test_slurm_refuses_a_cache_dir_its_nodes_may_not_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.delenv("GENOMECACHE_DIR", raising=False)
    done = run_pipeline(tmp_path, "-profile", "test,slurm", *args)
    assert done.returncode != 0
    assert message in done.stdout + done.stderr
    assert not Path("/shared/genomes/cache").exists()
    assert_no_task_ran(tmp_path)


def manifest_version() -> str:
    text = (ROOT / "nextflow.config").read_text()
    match = re.search(r"^\s*version\s*=\s*'([^']+)'", text, re.M)
    assert match
    return match.group(1)


def test_one_version_everywhere() -> None:
    import genomecache

    version = manifest_version()
    assert genomecache.__version__ == version
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "genomecache.__version__"}
    for script in ("genome_cache.py", "seq_retrieval.py"):
        done = run_script(script, "--version")
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"{script} {version}"
    assert f"## [{version}]" in (ROOT / "CHANGELOG.md").read_text()
