"""genome_cache.py polish: entry ids in `list`, a quiet closed pipe, aliases, local sources as local."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import genomecache
from tests.conftest import GENOME, serving

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "bin" / "genome_cache.py"
CHECK = ROOT / "bin" / "check_requests.py"


def cli(
    *args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(CLI), *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def manifest(tmp_path: Path, url: str) -> dict[str, str]:
    path = tmp_path / "genomes.json"
    path.write_text(json.dumps({"genomes": [{"name": "worm", "assembly": "WBcel235", "url": url}]}))
    return {"GENOMECACHE_GENOMES": str(path)}


def test_list_shows_the_entry_id_that_verify_and_remove_take(tmp_path: Path, genome_dir: Path) -> None:
    cache = tmp_path / "cache"
    assert cli("--cache-dir", cache, "-q", "fetch", genome_dir / GENOME).returncode == 0

    listed = cli("--cache-dir", cache, "list")
    as_json = json.loads(cli("--cache-dir", cache, "list", "--json").stdout)

    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split()[:2] == ["entry", "kind"]
    entry = row.split()[0]
    assert entry.startswith("ce.fa.gz-") and (cache / "genomes" / entry).is_dir()
    assert [e["entry"] for e in as_json] == [entry]
    assert cli("--cache-dir", cache, "verify", entry).stdout.strip() == f"OK  {entry}"


def test_a_reader_that_leaves_early_gets_no_traceback(tmp_path: Path, genome_dir: Path) -> None:
    cache = tmp_path / "cache"
    assert cli("--cache-dir", cache, "-q", "fetch", genome_dir / GENOME).returncode == 0
    for args in (["list"], ["list", "--json"]):
        proc = subprocess.Popen(
            [sys.executable, str(CLI), "--cache-dir", str(cache), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout and proc.stderr
        proc.stdout.close()  # like `| head -0`: nobody reads
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) in (0, 141)
        assert err == "", err


def test_alias_and_url_share_one_entry_and_one_download(tmp_path: Path, genome_dir: Path) -> None:
    cache = tmp_path / "cache"
    with serving(genome_dir) as server:
        env = manifest(tmp_path, server.url(GENOME))
        by_name = cli("--cache-dir", cache, "-q", "fetch", "worm", env=env)
        by_assembly = cli("--cache-dir", cache, "-q", "fetch", "wbcel235", env=env)
        by_url = cli("--cache-dir", cache, "-q", "fetch", server.url(GENOME), env=env)
        gets = len(server.gets(GENOME))
    assert by_name.returncode == 0, by_name.stderr
    assert by_name.stdout == by_assembly.stdout == by_url.stdout
    assert gets == 1
    assert len(list((cache / "genomes").iterdir())) == 1


def test_requests_naming_a_genome_by_alias_and_by_url_plan_one_download(tmp_path: Path) -> None:
    url = "https://example.org/genomes/ce.fa.gz"
    base = json.loads((ROOT / "assets" / "requests.json").read_text())[0]
    payload = tmp_path / "payload.json"
    payload.write_text(
        json.dumps(
            [
                {**base, "unique_entry_id": "A", "fasta_file_url": "worm"},
                {**base, "unique_entry_id": "B", "fasta_file_url": "WBcel235"},
                {**base, "unique_entry_id": "C", "fasta_file_url": url},
            ]
        )
    )
    done = subprocess.run(
        [sys.executable, str(CHECK), str(payload), "--base-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, **manifest(tmp_path, url)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    genomes = json.loads((tmp_path / "genomes.json").read_text())
    assert len(genomes) == 1 and genomes[0]["requests"] == 3
    requests = json.loads((tmp_path / "requests.json").read_text())
    assert {r["genome_entry"] for r in requests} == {genomes[0]["entry"]}


@pytest.mark.parametrize("name", ["worm", "WBcel235"])
def test_the_shipped_manifest_names_the_worm_genome(name: str) -> None:
    from genomecache import aliases

    url = aliases.resolve(name, ROOT / "conf" / "genomes.json")
    assert url.endswith("GCF_000002985.6_WBcel235_genomic.fna.gz")
    assert aliases.resolve("genome/ce.fa.gz") == "genome/ce.fa.gz"  # paths are never aliases


def test_a_local_source_is_reported_as_local(tmp_path: Path, genome_dir: Path) -> None:
    receipt = tmp_path / "receipt.json"
    done = cli("--cache-dir", tmp_path / "cache", "-q", "fetch", genome_dir / GENOME, "--receipt", receipt)
    assert done.returncode == 0, done.stderr
    assert json.loads(receipt.read_text())["source"] == "local"


def test_the_report_finds_the_cache_from_the_receipts_so_concurrent_runs_agree(
    tmp_path: Path, genome_dir: Path
) -> None:
    # CACHE_REPORT runs without --cache-dir; two runs share one storeDir receipt (last writer wins)
    cache = tmp_path / "cache"
    with serving(genome_dir) as server:
        receipt = tmp_path / "receipt.json"
        url = server.url(GENOME)
        fetched = cli("--cache-dir", cache, "-q", "fetch", url, "--receipt", receipt, "--session", "run-a")
        assert fetched.returncode == 0, fetched.stderr
    genomes = tmp_path / "genomes.json"
    genomes.write_text(json.dumps([{"display_url": url, "requests": 1}]))
    last_writer = json.loads(receipt.read_text()) | {"source": "cache", "session": "run-b"}
    receipt.write_text(json.dumps(last_writer))
    elsewhere = {"GENOMECACHE_DIR": str(tmp_path / "other-cache")}
    results = {}
    for session in ("run-a", "run-b"):
        out = tmp_path / session
        args = ["report", receipt, "--genomes", genomes, "--session", session, "--outdir", out]
        done = cli(*args, env=elsewhere)
        assert done.returncode == 0, done.stderr
        report = json.loads((out / "cache-report.json").read_text())
        [genome] = report["genomes"]
        results[session] = (genome["result"], genome["source"])
        assert report["version"] == genomecache.__version__  # the one version, in every report
        assert (
            (out / "cache-report.txt")
            .read_text()
            .startswith(f"Genome cache report (genome-cache {report['version']})")
        )
    assert results == {"run-a": ("miss", "network"), "run-b": ("hit", "cache")}
