"""Checks on pipeline runs that YAML cannot express: content against the samtools
oracle, request counts on the loopback server, and what is in the cache."""

import json
import re
from pathlib import Path

import pytest

from tests.oracle import assemble, expected_protein


def requests(workflow_dir: Path) -> list[dict]:
    return json.loads((workflow_dir / "assets/requests.json").read_text())


def genome(workflow_dir: Path) -> str:
    return str(workflow_dir / "assets/genome/ce.fa.gz")


def fasta_records(path: Path) -> list[str]:
    return path.read_text().splitlines()


def body_gets(log: list[dict], name: str) -> int:
    """Whole-file or ranged GETs of the file itself (not its indexes)."""
    return sum(1 for e in log if e["method"] == "GET" and e["path"] == f"/{name}")


@pytest.mark.workflow("demo on the embedded genome")
@pytest.mark.workflow("demo in batches of 2")
def test_demo_proteins_match_oracle(workflow_dir):
    workflow_dir = Path(workflow_dir)
    for request in requests(workflow_dir):
        out = workflow_dir / f"results/sequences/{request['unique_entry_id']}-protein.fa"
        assert fasta_records(out) == [
            f">{request['base_seq_name']}",
            expected_protein(genome(workflow_dir), request),
        ]


@pytest.mark.workflow("demo on the embedded genome")
def test_demo_cache_holds_one_verified_entry(workflow_dir):
    entries = list((Path(workflow_dir) / "cache/genomes").iterdir())
    assert [e.name.startswith("ce.fa.gz-") for e in entries] == [True]
    assert sorted(p.name for p in entries[0].iterdir()) == [
        "ce.fa.gz",
        "ce.fa.gz.fai",
        "ce.fa.gz.gzi",
        "entry.json",
    ]
    record = json.loads((entries[0] / "entry.json").read_text())
    assert record["indexes"] == "downloaded" and record["source_format"] == "bgzf"


@pytest.mark.workflow("transcripts on the embedded genome")
def test_transcripts_match_oracle(workflow_dir):
    workflow_dir = Path(workflow_dir)
    for request in requests(workflow_dir):
        out = workflow_dir / f"results/sequences/{request['unique_entry_id']}-transcript.fa"
        expected, _ = assemble(genome(workflow_dir), request, "exon_seq_regions")
        assert fasta_records(out) == [f">{request['base_seq_name']}", expected]


@pytest.mark.workflow("http genome fetched once, then never")
def test_http_genome_body_fetched_once_then_zero(workflow_dir):
    workflow_dir = Path(workflow_dir)
    run1 = json.loads((workflow_dir / "requests-run1.json").read_text())
    run2 = json.loads((workflow_dir / "requests-run2.json").read_text())
    assert len(requests(workflow_dir)) >= 5
    assert body_gets(run1, "ce.fa.gz") == 1
    assert body_gets(run1, "ce.fa.gz.gzi") == 1
    # the small .fai: once to check the requests before the download (fetch --requests), once with it
    assert body_gets(run1, "ce.fa.gz.fai") <= 2
    assert run2 == []  # second run: not even a HEAD


@pytest.mark.workflow("http genome fetched once, then never")
def test_http_run_sequences_match_oracle(workflow_dir):
    workflow_dir = Path(workflow_dir)
    for run in ("run1", "run2"):
        for request in requests(workflow_dir):
            out = workflow_dir / f"results-{run}/sequences/{request['unique_entry_id']}-protein.fa"
            assert fasta_records(out)[1] == expected_protein(genome(workflow_dir), request)


@pytest.mark.workflow("two concurrent runs on one cold cache")
def test_concurrent_runs_download_once(workflow_dir):
    workflow_dir = Path(workflow_dir)
    log = json.loads((workflow_dir / "requests-concurrent.json").read_text())
    for run in ("runA", "runB"):  # both download tasks ran: the runs really overlapped
        assert (
            "Submitted process > GENOME_CACHED_RETRIEVAL:DOWNLOAD_GENOMES"
            in (workflow_dir / f"{run}.log").read_text()
        )
    assert body_gets(log, "ce.fa.gz") == 1
    first = fasta_records(workflow_dir / "results-runA/sequences/CE_TX2-protein.fa")
    assert first == fasta_records(workflow_dir / "results-runB/sequences/CE_TX2-protein.fa")
    assert len(list((workflow_dir / "cache/genomes").iterdir())) == 1


@pytest.mark.workflow("bad input unknown seq_id")
@pytest.mark.workflow("bad input unreachable URL")
@pytest.mark.workflow("bad input file that is not FASTA")
def test_failed_runs_leave_no_partial_entry(workflow_dir):
    genomes = Path(workflow_dir) / "cache/genomes"
    visible = [p.name for p in genomes.iterdir() if not p.name.startswith(".")] if genomes.exists() else []
    for name in visible:  # only complete entries may be visible (unknown seq_id fails after caching)
        assert (genomes / name / "entry.json").exists()
    leftovers = [p for p in genomes.glob(".partial-*/*")] if genomes.exists() else []
    assert all(p.name in ("download", "download.json") for p in leftovers)


@pytest.mark.workflow("range mode over http reads only the blocks it needs")
def test_range_mode_same_sequences_fewer_bytes(workflow_dir):
    workflow_dir = Path(workflow_dir)
    for request in requests(workflow_dir):
        out = workflow_dir / f"results-range/sequences/{request['unique_entry_id']}-protein.fa"
        assert fasta_records(out)[1] == expected_protein(genome(workflow_dir), request)
    log = json.loads((workflow_dir / "requests-range.json").read_text())
    body = [e for e in log if e["method"] == "GET" and e["path"] == "/ce.fa.gz"]
    assert body and all(re.fullmatch(r"bytes=\d+-\d+", e["range"] or "") for e in body)
    fetched = sum(e["bytes"] for e in body)
    assert fetched < 0.5 * Path(genome(workflow_dir)).stat().st_size
    assert not list((workflow_dir / "cache/genomes").glob("ce.fa.gz-*"))  # no full copy was made


@pytest.mark.workflow("demo in batches of 2")
def test_batches_publish_the_same_files_as_one_batch(workflow_dir):
    published = sorted(p.name for p in (Path(workflow_dir) / "results/sequences").iterdir())
    ids = [r["unique_entry_id"] for r in requests(Path(workflow_dir))]
    assert published == sorted(f"{i}-{kind}" for i in ids for kind in ("protein.fa", "seqinfo.json"))


@pytest.mark.workflow("bad input unknown seq_id")
@pytest.mark.workflow("bad input coordinates outside the sequence")
def test_wrong_requests_fail_before_the_genome_is_cached(workflow_dir):
    """DOWNLOAD_GENOMES checks the genome's requests against its .fai before fetching it."""
    genomes = Path(workflow_dir) / "cache/genomes"
    assert not genomes.exists() or not [p for p in genomes.iterdir() if not p.name.startswith(".")]
