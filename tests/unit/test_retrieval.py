"""Indexed retrieval on the embedded genome, cross-checked against samtools faidx."""

import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from genomecache.errors import IntegrityError, RequestError
from genomecache.requests import parse_payload, parse_request
from genomecache.retrieval import Genome, retrieve
from tests.oracle import expected_protein, samtools_region
from tests.support.scripts import run_script

ROOT = Path(__file__).resolve().parents[2]
GENOME = ROOT / "assets/genome/ce.fa.gz"
PAYLOAD = ROOT / "assets/requests.json"


@pytest.fixture(scope="module")
def genome():
    with Genome.open(GENOME) as g:
        yield g


def request(strand, regions, seq_id="CHROMOSOME_I", **extra):
    return parse_request(
        {
            "unique_entry_id": "R",
            "base_seq_name": "r",
            "seq_id": seq_id,
            "seq_strand": strand,
            "fasta_file_url": str(GENOME),
            "exon_seq_regions": regions,
            **extra,
        }
    )


def test_random_regions_match_samtools(genome):
    rng = random.Random(830)
    lengths = {name: rec.rlen for name, rec in genome.faidx.index.items()}
    for _ in range(40):
        seq_id = rng.choice(sorted(lengths))
        start = rng.randint(1, lengths[seq_id])
        end = min(lengths[seq_id], start + rng.randint(0, 3000))
        strand = rng.choice("+-")
        got = retrieve(genome, request(strand, [{"start": start, "end": end}], seq_id), "transcript")
        assert got == samtools_region(str(GENOME), seq_id, start, end, minus=strand == "-"), (
            seq_id,
            start,
            end,
        )


def test_sequence_ends_match_samtools(genome):
    for seq_id, rec in genome.faidx.index.items():
        for start, end in ((1, 1), (1, 60), (rec.rlen - 70, rec.rlen), (rec.rlen, rec.rlen)):
            got = retrieve(genome, request("+", [f"{start}..{end}"], seq_id), "transcript")
            assert got == samtools_region(str(GENOME), seq_id, start, end)


def test_minus_strand_exons_join_in_transcript_order(genome):
    regions = [{"start": 300, "end": 200}, {"start": 120, "end": 100}]
    got = retrieve(genome, request("-", regions), "transcript")
    expected = samtools_region(str(GENOME), "CHROMOSOME_I", 200, 300, True) + samtools_region(
        str(GENOME), "CHROMOSOME_I", 100, 120, True
    )
    assert got == expected


def test_embedded_requests_match_oracle(genome):
    for req in json.loads(PAYLOAD.read_text()):
        parsed = parse_payload(json.dumps([req]), base_dir=str(PAYLOAD.parent))[0]
        assert retrieve(genome, parsed, "protein") == expected_protein(str(GENOME), req), req[
            "unique_entry_id"
        ]


def test_soft_masking_kept_unless_unmasked(tmp_path):
    plain = tmp_path / "masked.fa"
    plain.write_text(">chr1\nACGTACGTACgtacgtacgtACGTAC\nGGGCCC\n")
    subprocess.run(["bgzip", str(plain)], check=True)
    subprocess.run(["samtools", "faidx", f"{plain}.gz"], check=True)
    with Genome.open(f"{plain}.gz") as masked:
        req = parse_request(
            {
                "unique_entry_id": "M",
                "base_seq_name": "m",
                "seq_id": "chr1",
                "seq_strand": "-",
                "fasta_file_url": f"{plain}.gz",
                "exon_seq_regions": ["9..22"],
            }
        )
        assert retrieve(masked, req, "transcript") == "GTacgtacgtacGT"
        assert retrieve(masked, req, "transcript", unmasked=True) == "GTACGTACGTACGT"


def test_unknown_seq_id_and_out_of_range(genome):
    with pytest.raises(RequestError, match="request R: field seq_id: 'chrZ' is not in genome ce.fa.gz"):
        retrieve(genome, request("+", ["1..10"], seq_id="chrZ"), "transcript")
    with pytest.raises(
        RequestError, match=r"field exon_seq_regions: region 4990..5001 ends beyond CHROMOSOME_II"
    ):
        retrieve(genome, request("+", ["4990..5001"], seq_id="CHROMOSOME_II"), "transcript")


def test_reader_never_builds_indexes(tmp_path):
    copy = tmp_path / "ce.fa.gz"
    shutil.copy(GENOME, copy)
    shutil.copy(f"{GENOME}.fai", f"{copy}.fai")
    with pytest.raises(IntegrityError, match="missing ce.fa.gz.gzi"):
        Genome.open(copy)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ce.fa.gz", "ce.fa.gz.fai"]


@pytest.mark.filterwarnings(
    "ignore:.*older than FASTA file:RuntimeWarning"
)  # pyfaidx notices, and must not act
def test_reader_never_rewrites_an_index_that_looks_stale(tmp_path):
    """pyfaidx rewrites a .fai older than its FASTA unless told not to; the reader never does."""
    copy = tmp_path / "ce.fa.gz"
    for suffix in ("", ".fai", ".gzi"):
        shutil.copy(f"{GENOME}{suffix}", f"{copy}{suffix}")
    for suffix, when in ((".fai", 1_000_000), (".gzi", 1_000_000), ("", 2_000_000)):  # FASTA newer
        os.utime(f"{copy}{suffix}", (when, when))
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.iterdir()}
    with Genome.open(copy) as genome:
        got = retrieve(genome, request("+", ["1..120"]), "transcript")
    assert got == samtools_region(str(GENOME), "CHROMOSOME_I", 1, 120)
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.iterdir()} == before


def run_cli(tmp_path, *args):
    return run_script("seq_retrieval.py", *args, "--cache_dir", tmp_path / "cache", cwd=tmp_path)


def test_cli_with_pavi_options_writes_pavi_outputs(tmp_path):
    req = json.loads(PAYLOAD.read_text())[1]
    result = run_cli(
        tmp_path,
        "--seq_id",
        req["seq_id"],
        "--seq_strand",
        req["seq_strand"],
        "--exon_seq_regions",
        json.dumps(req["exon_seq_regions"]),
        "--cds_seq_regions",
        json.dumps(req["cds_seq_regions"]),
        "--fasta_file_url",
        f"file://{GENOME}",
        "--output_type",
        "protein",
        "--base_seq_name",
        req["base_seq_name"],
        "--unique_entry_id",
        req["unique_entry_id"],
        "--variant_ids",
        "[]",
    )
    assert result.returncode == 0, result.stderr
    fasta = (tmp_path / f"{req['unique_entry_id']}-protein.fa").read_text().splitlines()
    assert fasta == [f">{req['base_seq_name']}", expected_protein(str(GENOME), req)]
    info = json.loads((tmp_path / f"{req['unique_entry_id']}-seqinfo.json").read_text())
    assert list(info) == [req["base_seq_name"]]
    assert not (tmp_path / "cache").exists()  # an indexed local file is read in place


@pytest.mark.parametrize(
    "args, message",
    [
        (["--seq_strand", "up"], "ERROR request X: field seq_strand: unknown strand 'up'"),
        (["--exon_seq_regions", "[1,"], "ERROR request X: field exon_seq_regions: not valid JSON"),
        (["--exon_seq_regions", '["a..b"]'], "ERROR request X: field exon_seq_regions: region 'a..b'"),
        (["--seq_id", "nope"], "ERROR request X: field seq_id: 'nope' is not in genome"),
        (
            ["--fasta_file_url", "ftp://h/x.fa"],
            "ERROR request X: field fasta_file_url: unsupported URL scheme 'ftp'",
        ),
    ],
)
def test_cli_bad_input_is_one_line(tmp_path, args, message):
    base = {
        "--seq_id": "CHROMOSOME_I",
        "--seq_strand": "+",
        "--exon_seq_regions": '["1..30"]',
        "--fasta_file_url": str(GENOME),
        "--output_type": "transcript",
        "--base_seq_name": "x",
        "--unique_entry_id": "X",
    }
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    result = run_cli(tmp_path, *[v for pair in base.items() for v in pair])
    assert result.returncode == 1
    assert result.stderr.strip().startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
