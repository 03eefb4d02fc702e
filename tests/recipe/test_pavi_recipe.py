"""docs/pavi.md's drop-in recipe, applied mechanically to PAVI's own protein-msa.nf.

The recipe's ```diff blocks are extracted from docs/pavi.md and applied with ``patch`` to
copies of PAVI's ``protein-msa.nf`` and ``nextflow.config`` (../shared/pavi), with this
repository where the recipe puts it (``genome-cache/`` beside them). Both workflows then run
in PAVI's ``local`` profile with Docker disabled on one multi-request payload with variants
(two generated genomes on a loopback server, a loopback variant API):

- unmodified PAVI, its tasks running PAVI's own ``seq_retrieval.py`` and
  ``seq_info_align.py`` (its own Python >= 3.12 venv, tests/differential/pavi_oracle.py);
- PAVI patched by the recipe, with this repository's bin/ on PATH (PAVI's
  ``collectAndAlignSeqInfo`` still runs PAVI's ``seq_info_align.py``, as in production).

``alignment-output.aln`` and ``aligned_seq_info.json`` must be byte-identical, and the
patched run must fetch each genome's body once (PAVI's fetches it once per request).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.differential.pavi_oracle import PAVI, oracle_python, pavi_copy
from tests.differential.variant_cases import generated_cases
from tests.support.httpserver import GenomeServer
from tests.support.variant_api import FakeVariantApi

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "pavi.md"

pytestmark = pytest.mark.slow


def recipe_patches() -> list[str]:
    """The ```diff blocks of docs/pavi.md's drop-in section, in order."""
    blocks = re.findall(r"```diff\n(.*?)```", DOC.read_text(), flags=re.S)
    patches = [b for b in blocks if b.startswith("--- a/")]
    assert patches, "docs/pavi.md has no ```diff block starting with '--- a/'"
    return patches


def genomes(folder: Path) -> tuple[list[tuple[str, list]], dict[str, dict]]:
    """Two generated genomes (bgzip + samtools indexes) and their cases; variants by id."""
    made, variants = [], {}
    for n, seed in ((1, 20261201), (2, 20261202)):
        world, cases = generated_cases(seed=seed, count=3)
        cases = cases[:3]
        for case in cases:
            case.name = f"g{n}_{case.name}"
            for v in case.variants:
                v["id"] = f"G{n}-{v['id']}"
                variants[v["id"]] = v
        fasta = folder / f"genome{n}.fa"
        fasta.write_text(world.fasta())
        subprocess.run(["bgzip", "-f", str(fasta)], check=True)
        subprocess.run(["samtools", "faidx", f"{fasta}.gz"], check=True)
        made.append((f"genome{n}.fa.gz", cases))
    return made, variants


def wrapper(folder: Path, name: str, python: str, script: Path) -> None:
    """An executable ``name`` on PATH that runs PAVI's ``script`` with the oracle venv."""
    path = folder / name
    path.write_text(f'#!/bin/sh\nPYTHONPATH="{script.parent}" exec "{python}" "{script}" "$@"\n')
    path.chmod(0o755)


def nextflow(folder: Path, path_prefix: list[Path], *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PATH": ":".join(str(p) for p in path_prefix) + ":" + os.environ["PATH"],
        "NXF_ANSI_LOG": "false",
    }
    return subprocess.run(
        [
            str(REPO / "scripts/nextflow"),
            "run",
            "protein-msa.nf",
            "-profile",
            "local",
            "-without-docker",
            *args,
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_recipe_gives_pavis_outputs_with_one_fetch_per_genome(tmp_path: Path) -> None:
    if not (PAVI / "protein-msa.nf").is_file():
        pytest.skip(f"PAVI's reference copies are absent ({PAVI})")
    for tool in ("clustalo", "bgzip", "samtools", "patch"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (PAVI's alignment step / genome preparation need it)")
    python, why = oracle_python()
    if python is None:
        pytest.skip(why)

    served = tmp_path / "served"
    served.mkdir()
    made, variants = genomes(served)
    with GenomeServer(served) as server, FakeVariantApi() as api:
        for v in variants.values():
            api.add(v["id"], v["seq_id"], v["start"], v["end"], v["ref"], v["alt"], shape="legacy")
        payload = [case.request(server.url(name), "protein") for name, cases in made for case in cases]
        assert sum(1 for r in payload if r["variant_ids"]) >= 2
        (tmp_path / "payload.json").write_text(json.dumps(payload, indent=1))

        # unmodified PAVI, with PAVI's retrieval
        pavi = tmp_path / "pavi"
        pavi.mkdir()
        for name in ("protein-msa.nf", "nextflow.config"):
            shutil.copy(PAVI / name, pavi / name)
        tools = tmp_path / "pavi-tools"
        tools.mkdir()
        code = pavi_copy(tmp_path / "pavi-code", api.base_url)
        wrapper(tools, "seq_retrieval.py", python, code / "seq_retrieval.py")
        wrapper(tools, "seq_info_align.py", python, code / "seq_info_align.py")
        align_tool = tmp_path / "pavi-align-tool"  # PAVI's collectAndAlignSeqInfo stays PAVI's
        align_tool.mkdir()
        wrapper(align_tool, "seq_info_align.py", python, code / "seq_info_align.py")
        # PAVI's tasks all download into /tmp/pavi/: concurrent ones overwrite each other's file
        (tmp_path / "serial.config").write_text("executor.queueSize = 1\n")
        start = len(server.log)
        theirs = nextflow(
            pavi,
            [tools],
            "-c",
            str(tmp_path / "serial.config"),
            "--input_seq_regions_file",
            str(tmp_path / "payload.json"),
        )
        assert theirs.returncode == 0, theirs.stdout[-3000:] + theirs.stderr[-3000:]
        pavi_log = server.log[start:]

        # PAVI patched by the recipe, with this repository's retrieval
        ours_dir = tmp_path / "pavi-recipe"
        ours_dir.mkdir()
        for name in ("protein-msa.nf", "nextflow.config"):
            shutil.copy(PAVI / name, ours_dir / name)
            (ours_dir / name).chmod(0o644)
        (ours_dir / "genome-cache").symlink_to(REPO)  # where the recipe's submodule goes
        for patch in recipe_patches():
            done = subprocess.run(
                ["patch", "-p1", "--forward", "--no-backup-if-mismatch"],
                input=patch,
                cwd=ours_dir,
                capture_output=True,
                text=True,
            )
            assert done.returncode == 0, f"the recipe does not apply:\n{done.stdout}{done.stderr}"
        start = len(server.log)
        ours = nextflow(
            ours_dir,
            [REPO / "bin", REPO / ".venv/bin", align_tool],
            "--input_seq_regions_file",
            str(tmp_path / "payload.json"),
            "--cacheDir",
            str(tmp_path / "cache"),
            "--variantApi",
            api.base_url,
        )
        assert ours.returncode == 0, ours.stdout[-3000:] + ours.stderr[-3000:]
        our_log = server.log[start:]
        assert "WARN" not in ours.stdout, ours.stdout  # e.g. an undefined params.* in the recipe

    results = "pipeline-results"
    for name in ("alignment-output.aln", "aligned_seq_info.json"):
        expected = (pavi / results / name).read_bytes()
        assert (ours_dir / results / name).read_bytes() == expected, name
    info = json.loads((ours_dir / results / "aligned_seq_info.json").read_text())
    assert any("embedded_variants" in v for v in info.values())  # variants really were embedded
    for name, cases in made:
        body = [e for e in our_log if e["method"] == "GET" and e["path"] == f"/{name}"]
        pavis = [e for e in pavi_log if e["method"] == "GET" and e["path"] == f"/{name}"]
        assert len(body) == 1, f"{name}: fetched {len(body)} times with the recipe"
        assert len(pavis) == len(cases)  # PAVI: once per request
