"""The per-run cache report (``report.py``): what a user reads in ``cache-report.txt``/``.json``.

Each run is made of the real steps the pipeline runs: ``check_requests.py`` plans the genomes,
``genome_cache.py fetch --receipt`` downloads from the loopback server (whose log says how many
bytes really moved), ``genome_cache.py report`` writes the report.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import genomecache
from genomecache.report import build_report, human, summary
from tests.conftest import GENOME, cli, serving, settle
from tests.support.scripts import run_script


def plan(tmp_path: Path, url: str, requests: int) -> Path:
    """genomes.json as CHECK_REQUESTS writes it for ``requests`` requests of the genome at ``url``."""
    payload = [
        {
            "unique_entry_id": f"r{i}",
            "base_seq_name": f"r{i}",
            "seq_id": "CHROMOSOME_I",
            "seq_strand": "+",
            "fasta_file_url": url,
            "exon_seq_regions": [{"start": 100 + i, "end": 200 + i}],
        }
        for i in range(requests)
    ]
    folder = tmp_path / "plan"
    folder.mkdir(exist_ok=True)
    (folder / "payload.json").write_text(json.dumps(payload))
    done = run_script("check_requests.py", "payload.json", cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder / "genomes.json"


def report(outdir: Path, receipts: list[Path], genomes: Path, session: str) -> tuple[dict, str]:
    done = cli("report", *receipts, "--genomes", genomes, "--session", session, "--outdir", outdir)
    assert done.returncode == 0, done.stderr
    return json.loads((outdir / "cache-report.json").read_text()), (outdir / "cache-report.txt").read_text()


def test_a_first_run_is_a_miss_with_the_bytes_moved_and_a_rerun_a_hit_that_moved_nothing(
    tmp_path: Path, genome_dir: Path
) -> None:
    cache, receipt = tmp_path / "cache", tmp_path / "receipt.json"
    size = (genome_dir / GENOME).stat().st_size
    with serving(genome_dir) as server:
        url = server.url(GENOME)
        done = cli("--cache-dir", cache, "-q", "fetch", url, "--receipt", receipt, "--session", "run-1")
        assert done.returncode == 0, done.stderr
        moved = settle(server).bytes_sent(GENOME)  # the FASTA's bytes, as the server counted them
    genomes = plan(tmp_path, url, requests=3)

    first, text = report(tmp_path / "run-1", [receipt], genomes, "run-1")
    [genome] = first["genomes"]
    assert (genome["result"], genome["source"], genome["requests"]) == ("miss", "network", 3)
    assert genome["bytes_downloaded"] == moved == size
    assert first["totals"] == {"requests": 3, "bytes_downloaded": moved, "per_task_bytes": 3 * size}
    assert first["version"] == genomecache.__version__
    lines = text.splitlines()
    assert lines[0] == f"Genome cache report (genome-cache {genomecache.__version__})"
    [row] = [line for line in lines if line.endswith(url)]
    assert row.split()[:3] == ["miss", "network", *human(moved).split()[:1]]
    assert "3 requests" in row
    assert lines[-1] == (
        f"downloaded {human(moved)} for 3 requests; a download per task would have moved {human(3 * size)}"
    )

    # the next run reuses the stored receipt (Nextflow's storeDir skips the download task)
    second, text = report(tmp_path / "run-2", [receipt], genomes, "run-2")
    [genome] = second["genomes"]
    assert (genome["result"], genome["source"], genome["bytes_downloaded"], genome["seconds"]) == (
        "hit",
        "cache",
        0,
        0.0,
    )
    [row] = [line for line in text.splitlines() if line.endswith(url)]
    assert row.split()[:4] == ["hit", "cache", "0", "B"]
    assert text.splitlines()[-1].startswith("downloaded 0 B for 3 requests;")


def test_credentials_and_query_of_the_url_never_reach_the_report(tmp_path: Path, genome_dir: Path) -> None:
    cache, receipt = tmp_path / "cache", tmp_path / "receipt.json"
    with serving(genome_dir) as server:
        shown = server.url(GENOME)
        url = shown.replace("http://", "http://reader:hunter2@") + "?X-Amz-Signature=s3cr3t"
        done = cli("--cache-dir", cache, "-q", "fetch", url, "--receipt", receipt, "--session", "run-1")
        assert done.returncode == 0, done.stderr
    genomes = plan(tmp_path, url, requests=1)
    data, text = report(tmp_path / "out", [receipt], genomes, "run-1")
    written = text + (tmp_path / "out" / "cache-report.json").read_text()
    for secret in ("hunter2", "reader", "s3cr3t", "Signature"):
        assert secret not in written
    assert data["genomes"][0]["url"] == shown
    assert data["genomes"][0]["requests"] == 1  # the plan's redacted URL still matches the receipt's


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


@pytest.mark.parametrize(
    ("nbytes", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (5 * 2**20, "5.0 MiB"),
        (3 * 2**30 + 2**29, "3.5 GiB"),
        (2**41, "2048.0 GiB"),
    ],
)
def test_sizes_are_shown_in_binary_units(nbytes: int, text: str) -> None:
    assert human(nbytes) == text


def test_a_receipt_url_with_secrets_is_shown_redacted() -> None:
    # receipts name the redacted URL already; the report redacts again whatever it is given
    url = "https://reader:hunter2@genomes.example.org/ce.fa.gz?X-Amz-Signature=s3cr3t"
    receipt = {"url": url, "entry": "ce.fa.gz-1", "source": "network", "size": 10, "bytes_downloaded": 10}
    data = build_report([{**receipt, "session": "s"}], "s", {url: 2})
    text = summary(data)
    assert data["genomes"][0]["url"] == "https://genomes.example.org/ce.fa.gz"
    assert data["genomes"][0]["requests"] == 2
    assert "hunter2" not in text + json.dumps(data) and "s3cr3t" not in text + json.dumps(data)
    assert text.splitlines()[2].split() == [
        "miss",
        "network",
        "10",
        "B",
        "0.0s",
        "2",
        "requests",
        data["genomes"][0]["url"],
    ]


def test_a_local_genome_copied_in_is_a_local_miss_then_a_hit(tmp_path: Path, genome_dir: Path) -> None:
    source, receipt = genome_dir / GENOME, tmp_path / "receipt.json"
    done = cli(
        "--cache-dir", tmp_path / "cache", "-q", "fetch", source, "--receipt", receipt, "--session", "one"
    )
    assert done.returncode == 0, done.stderr
    genomes = plan(tmp_path, str(source), requests=2)
    rows = {}
    for session in ("one", "two"):
        data, _ = report(tmp_path / session, [receipt], genomes, session)
        [genome] = data["genomes"]
        rows[session] = (genome["result"], genome["source"], genome["bytes_downloaded"], genome["requests"])
    size = source.stat().st_size
    assert rows == {"one": ("miss", "local", size, 2), "two": ("hit", "cache", 0, 2)}


def test_a_genome_prepared_for_range_reads_is_reported_as_range(tmp_path: Path, genome_dir: Path) -> None:
    receipt = tmp_path / "receipt.json"
    with serving(genome_dir) as server:
        url = server.url(GENOME)
        done = cli(
            "--cache-dir", tmp_path / "cache", "-q", "fetch", url, "--access", "range", "--receipt", receipt
        )
        assert done.returncode == 0, done.stderr
        assert settle(server).gets(GENOME, ranged=False) == []  # the body was not downloaded
    data, text = report(tmp_path / "out", [receipt], plan(tmp_path, url, requests=2), "run-1")
    [genome] = data["genomes"]
    assert (genome["result"], genome["source"], genome["requests"]) == ("range", "range", 2)
    [row] = [line for line in text.splitlines() if line.endswith(url)]
    assert row.split()[:2] == ["range", "range"]


def test_two_sessions_on_one_cold_cache_report_one_miss_and_one_hit(cache_root, server, tmp_path):
    url = server.url(GENOME)
    receipts = {s: tmp_path / f"{s}.json" for s in ("run-a", "run-b")}
    procs = {
        s: subprocess.Popen(
            [
                sys.executable,
                "bin/genome_cache.py",
                "--cache-dir",
                str(cache_root),
                "-q",
                "fetch",
                url,
                "--session",
                s,
                "--receipt",
                str(receipts[s]),
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        for s in receipts
    }
    for proc in procs.values():
        assert proc.wait(60) == 0, proc.stderr.read() if proc.stderr else ""
    # storeDir keeps whichever receipt was written last: both runs see that one
    last = max(receipts.values(), key=lambda p: p.stat().st_mtime_ns)
    genomes = tmp_path / "genomes.json"
    genomes.write_text(json.dumps([{"display_url": url, "requests": 3}]))
    results = {}
    for session in receipts:
        out = tmp_path / session
        result = cli(
            "--cache-dir",
            cache_root,
            "report",
            last,
            "--genomes",
            genomes,
            "--session",
            session,
            "--outdir",
            out,
        )
        assert result.returncode == 0, result.stderr
        [genome] = json.loads((out / "cache-report.json").read_text())["genomes"]
        results[session] = (genome["result"], genome["bytes_downloaded"] > 0)
    assert sorted(results.values()) == [("hit", False), ("miss", True)]
    assert len(settle(server).gets(GENOME)) == 1
