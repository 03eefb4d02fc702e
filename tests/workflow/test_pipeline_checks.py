"""Checks on pipeline runs that YAML cannot express: content against the samtools
oracle (tests/oracle.py), request counts on the loopback server, and what is in the cache.

One ``workflow`` marker per test: pytest-workflow reads only the closest marker, so stacked
markers would silently check one workflow.
"""

import json
import re
from pathlib import Path

import pytest

from tests.oracle import assemble, expected_protein
from tests.support.digests import sha256
from tests.support.samtools import samtools_indexes


def requests(workflow_dir: Path) -> list[dict]:
    return json.loads((workflow_dir / "assets/requests.json").read_text())


def genome(workflow_dir: Path) -> str:
    return str(workflow_dir / "assets/genome/ce.fa.gz")


def fasta_records(path: Path) -> list[str]:
    return path.read_text().splitlines()


def body_gets(log: list[dict], name: str) -> int:
    """Whole-file or ranged GETs of the file itself (not its indexes)."""
    return sum(1 for e in log if e["method"] == "GET" and e["path"] == f"/{name}")


def assert_proteins_match_oracle(workflow_dir: Path, results: str = "results") -> None:
    for request in requests(workflow_dir):
        out = workflow_dir / f"{results}/sequences/{request['unique_entry_id']}-protein.fa"
        assert fasta_records(out) == [
            f">{request['base_seq_name']}",
            expected_protein(genome(workflow_dir), request),
        ]
        seqinfo = workflow_dir / f"{results}/sequences/{request['unique_entry_id']}-seqinfo.json"
        assert json.loads(seqinfo.read_text()) == {request["base_seq_name"]: {}}  # PAVI's, without variants


def assert_one_verified_entry(workflow_dir: Path, tmp_path: Path) -> dict:
    """The cache holds exactly the source genome, with samtools' indexes, and nothing partial."""
    names = sorted(p.name for p in (workflow_dir / "cache/genomes").iterdir())
    assert len(names) == 1 and names[0].startswith("ce.fa.gz-"), f"in the cache: {names}"
    entry = workflow_dir / "cache/genomes" / names[0]
    assert sorted(p.name for p in entry.iterdir()) == [
        "ce.fa.gz",
        "ce.fa.gz.fai",
        "ce.fa.gz.gzi",
        "entry.json",
    ]
    source = Path(genome(workflow_dir))
    assert (entry / "ce.fa.gz").read_bytes() == source.read_bytes()
    fai, gzi = samtools_indexes(source, tmp_path)
    assert (entry / "ce.fa.gz.fai").read_bytes() == fai and (entry / "ce.fa.gz.gzi").read_bytes() == gzi
    record = json.loads((entry / "entry.json").read_text())
    assert record["sha256"] == sha256(source)
    return record


@pytest.mark.workflow("demo on the embedded genome")
def test_demo_proteins_match_oracle(workflow_dir):
    assert_proteins_match_oracle(Path(workflow_dir))


@pytest.mark.workflow("demo in batches of 2 without storeDir")
def test_batched_run_without_storedir_proteins_match_oracle(workflow_dir):
    assert_proteins_match_oracle(Path(workflow_dir))


@pytest.mark.workflow("demo on the embedded genome")
def test_demo_cache_holds_one_verified_entry(workflow_dir, tmp_path):
    record = assert_one_verified_entry(Path(workflow_dir), tmp_path)
    assert record["indexes"] == "downloaded" and record["source_format"] == "bgzf"
    receipts = list((Path(workflow_dir) / "cache/receipts").rglob("receipt.json"))
    assert len(receipts) == 1  # storeDir's output, written after the genome was published


@pytest.mark.workflow("demo in batches of 2 without storeDir")
def test_pipeline_without_storedir_caches_the_genome_and_writes_no_receipt(workflow_dir, tmp_path):
    """With storeDir off (-profile aws) the cache gets the verified genome and no receipt folder."""
    workflow_dir = Path(workflow_dir)
    assert_one_verified_entry(workflow_dir, tmp_path)
    assert not (workflow_dir / "cache/receipts").exists()
    report = json.loads((workflow_dir / "results/cache-report.json").read_text())
    assert [(g["result"], g["source"]) for g in report["genomes"]] == [("miss", "local")]


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
def test_warm_run_without_storedir_finds_the_cached_genome_and_sends_nothing(workflow_dir):
    """run3 has storeDir disabled: its DOWNLOAD_GENOMES runs, finds the entry, and fetches nothing."""
    workflow_dir = Path(workflow_dir)
    assert json.loads((workflow_dir / "requests-run3.json").read_text()) == []
    assert len(list((workflow_dir / "cache/genomes").iterdir())) == 1


@pytest.mark.workflow("http genome fetched once, then never")
def test_http_run_sequences_match_oracle(workflow_dir):
    workflow_dir = Path(workflow_dir)
    for run in ("run1", "run2", "run3"):
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
    for run in ("runA", "runB"):
        assert_proteins_match_oracle(workflow_dir, f"results-{run}")
    assert len(list((workflow_dir / "cache/genomes").iterdir())) == 1


def assert_failed_cleanly(workflow_dir: Path, error: str) -> list[str]:
    """The run names the problem without a traceback and leaves nothing partial or receipted.

    Returns the complete entries the cache holds.
    """
    output = (workflow_dir / "log.out").read_text() + (workflow_dir / "log.err").read_text()
    assert error in output
    assert "Traceback" not in output
    genomes = workflow_dir / "cache/genomes"
    names = sorted(p.name for p in genomes.iterdir()) if genomes.exists() else []
    assert not [n for n in names if n.startswith(".")], f"partial or quarantined leftovers: {names}"
    # no receipt: a receipt would let the next run's storeDir skip the checks
    assert not list((workflow_dir / "cache").glob("receipts/**/receipt.json"))
    return names


@pytest.mark.workflow("bad input unknown seq_id")
def test_unknown_seq_id_fails_before_the_genome_is_cached(workflow_dir):
    """DOWNLOAD_GENOMES checks the genome's requests against the source's .fai before fetching it."""
    names = assert_failed_cleanly(
        Path(workflow_dir), "ERROR request BAD_SEQID: field seq_id: 'chrZ' is not in genome ce.fa.gz"
    )
    assert names == []


@pytest.mark.workflow("bad input coordinates outside the sequence")
def test_coordinates_outside_the_sequence_fail_before_the_genome_is_cached(workflow_dir):
    error = "ERROR request BAD_RANGE: field exon_seq_regions: region 4000..6000 ends beyond CHROMOSOME_II"
    assert assert_failed_cleanly(Path(workflow_dir), error) == []


@pytest.mark.workflow("bad input unknown seq_id found after caching")
def test_unknown_seq_id_found_after_caching_keeps_the_verified_genome(workflow_dir, tmp_path):
    """Without a source .fai the requests are checked against the cached genome: the run fails
    naming the request and field, and the genome it verified stays cached, complete."""
    workflow_dir = Path(workflow_dir)
    error = "ERROR request BAD_SEQID_LATE: field seq_id: 'chrZ' is not in genome ce.fa.gz"
    assert len(assert_failed_cleanly(workflow_dir, error)) == 1
    source = workflow_dir / "noindex/ce.fa.gz"
    names = sorted(p.name for p in (workflow_dir / "cache/genomes").iterdir())
    entry = workflow_dir / "cache/genomes" / names[0]
    assert sorted(p.name for p in entry.iterdir()) == [
        "ce.fa.gz",
        "ce.fa.gz.fai",
        "ce.fa.gz.gzi",
        "entry.json",
    ]
    assert (entry / "ce.fa.gz").read_bytes() == source.read_bytes()
    fai, gzi = samtools_indexes(source, tmp_path)  # built by the cache, as samtools builds them
    assert (entry / "ce.fa.gz.fai").read_bytes() == fai and (entry / "ce.fa.gz.gzi").read_bytes() == gzi
    assert json.loads((entry / "entry.json").read_text())["sha256"] == sha256(source)


@pytest.mark.workflow("bad input unreachable URL")
def test_unreachable_url_leaves_the_cache_empty(workflow_dir):
    names = assert_failed_cleanly(
        Path(workflow_dir), "ERROR http://127.0.0.1:9/genomes/ce.fa.gz: unreachable"
    )
    assert names == []


@pytest.mark.workflow("bad input file that is not FASTA")
def test_not_fasta_leaves_nothing_partial(workflow_dir):
    names = assert_failed_cleanly(Path(workflow_dir), ": not FASTA (does not start with '>')")
    assert names == []


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


@pytest.mark.workflow("demo in batches of 2 without storeDir")
def test_batches_publish_the_same_files_as_one_batch(workflow_dir):
    published = sorted(p.name for p in (Path(workflow_dir) / "results/sequences").iterdir())
    ids = [r["unique_entry_id"] for r in requests(Path(workflow_dir))]
    assert published == sorted(f"{i}-{kind}" for i in ids for kind in ("protein.fa", "seqinfo.json"))
