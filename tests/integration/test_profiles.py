"""What the aws, slurm and k8s profiles resolve to (`nextflow config`, offline, no cloud)."""

import json
import os
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
NEXTFLOW = ROOT / "scripts/nextflow"
IMAGE = "agr_pavi/genome-cache:latest"


@cache
def config(profile: str | None = None) -> dict[str, Any]:
    """The resolved configuration of this repository, as JSON (one JVM start per profile)."""
    args = [str(NEXTFLOW), "config", "-o", "json", *(["-profile", profile] if profile else [])]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_aws_runs_on_the_stacks_batch_queue_with_the_efs_mount() -> None:
    cfg = config("aws")
    assert cfg["process"]["executor"] == "awsbatch"
    assert cfg["process"]["queue"] == "genome-cache"
    assert cfg["process"]["withLabel:.*"]["container"] == IMAGE
    assert cfg["aws"]["region"] == "us-east-1"
    assert "/genomes" in cfg["aws"]["batch"]["volumes"]
    assert cfg["workDir"].startswith("s3://")


def test_aws_cache_and_mirror_are_on_the_efs_mount() -> None:
    params = config("aws")["params"]
    assert params["cacheDir"] == "/genomes/cache"
    assert params["genomeMirror"] == "/genomes/mirror"


def test_aws_drops_the_receipt_storedir() -> None:
    # awsbatch would upload receipts to s3://genomes/... and the head cannot see /genomes
    assert config("aws")["process"]["withName:DOWNLOAD_GENOMES"]["storeDir"] is None
    assert "receipts" in config()["process"]["withName:DOWNLOAD_GENOMES"]["storeDir"]


def test_slurm_has_no_default_cache_and_requires_a_shared_one() -> None:
    cfg = config("slurm")
    assert cfg["process"]["executor"] == "slurm"
    assert cfg["process"]["queue"] is None and cfg["process"]["clusterOptions"] is None
    assert cfg["params"]["cacheDir"] in (None, os.environ.get("GENOMECACHE_DIR"))
    assert cfg["params"]["sharedCacheDir"] is True  # main.nf then refuses a missing/relative --cacheDir


def test_k8s_mounts_the_claim_holding_cache_and_work_dir() -> None:
    cfg = config("k8s")
    assert cfg["process"]["executor"] == "k8s"
    assert cfg["process"]["withLabel:.*"]["container"] == IMAGE
    assert cfg["k8s"]["storageClaimName"] == "genome-cache"
    mount = cfg["k8s"]["storageMountPath"]
    assert mount == "/genomes"
    assert cfg["params"]["cacheDir"].startswith(f"{mount}/")
    assert cfg["workDir"].startswith(f"{mount}/")


@pytest.mark.parametrize("profile", ["aws", "slurm", "k8s"])
def test_profiles_keep_the_msa_publishing(profile: str) -> None:
    process = config(profile)["process"]
    for name in ("CLUSTALO_ALIGN", "ALIGN_SEQINFO"):
        assert process[f"withName:{name}"]["publishDir"]["mode"] == "copy"


def test_no_profile_runs_locally() -> None:
    cfg = config()
    assert cfg["process"].get("executor", "local") == "local"
    assert "aws" not in cfg and "k8s" not in cfg


def inspect_containers(tmp_path: Path, *args: str) -> dict[str, str]:
    """Each process's container as `nextflow inspect` resolves it."""
    done = subprocess.run(
        [
            str(NEXTFLOW),
            "inspect",
            str(ROOT / "main.nf"),
            "--input",
            str(ROOT / "assets/requests.json"),
            *args,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout[done.stdout.index("{") :])["processes"]
    return {p["name"].split(":")[-1]: p["container"] for p in found}


@pytest.mark.slow  # starts nextflow (>20 s on a loaded 2-core machine)
def test_modules_name_the_versioned_image_and_container_and_pavis_override_outrank_it(tmp_path: Path) -> None:
    version = re.search(r"^\s*version\s*=\s*'([^']+)'", (ROOT / "nextflow.config").read_text(), re.M)
    assert version
    plain = inspect_containers(tmp_path)
    assert set(plain.values()) == {f"agr_pavi/genome-cache:{version.group(1)}"}
    pavi = tmp_path / "pavi.config"
    pavi.write_text("process { withName: 'SEQUENCE_RETRIEVAL' { container = 'pavi/seq_retrieval:1' } }\n")
    chosen = inspect_containers(
        tmp_path, "-profile", "docker", "--container", "mine/genome-cache:2", "-c", str(pavi)
    )
    assert chosen.pop("SEQUENCE_RETRIEVAL") == "pavi/seq_retrieval:1"
    assert set(chosen.values()) == {"mine/genome-cache:2"}
