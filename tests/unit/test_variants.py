"""Variant embedding and the variant API client, against a loopback fake of the Alliance API.

The genome is built here from one hand-written transcript, laid on chr1 (plus strand) and,
reverse-complemented, on chr2 (minus strand), so every expected sequence and position
below is worked out by hand from the transcript string, independently of the code.

Transcript T (37 bases): 5'UTR ``GA`` | CDS ``ATG AAA CCC GGG TTT`` / ``CAT GAC TGG TAA`` |
3'UTR ``CCCTAGCC``; exon 1 = T[0:17], exon 2 = T[17:], intron 20 bases. Protein MKPGFHDW.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from Bio.Seq import reverse_complement

from genomecache import ranged
from genomecache.cache import GenomeCache
from genomecache.errors import RequestError
from genomecache.requests import parse_request
from genomecache.retrieval import Genome, run_request
from genomecache.sources import RetryPolicy
from genomecache.variant_api import VariantSource
from genomecache.variants import PROTEIN_FAILED, START_CHANGED, STOP_LOST, TRANSCRIPT_FAILED
from tests.support.httpserver import GenomeServer
from tests.support.scripts import run_script
from tests.support.variant_api import FakeVariantApi

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / "bin" / "seq_retrieval.py"

T = "GA" + "ATGAAACCCGGGTTT" + "CATGACTGGTAA" + "CCCTAGCC"
EXON1, EXON2 = T[:17], T[17:]
INTRON = "GTAAGTTTTTTTTTTTTCAG"
LOCUS = EXON1 + INTRON + EXON2  # transcript orientation
PAD = "TTTTTTTTTT"
REF_PROTEIN = "MKPGFHDW"
L = len(LOCUS)


def plus(k: int) -> int:
    """chr1 position of transcript-orientation locus offset ``k`` (0-based)."""
    return 11 + k


def minus(k: int) -> int:
    """chr2 position of locus offset ``k`` (the locus reverse-complemented there)."""
    return 10 + L - k


def t2locus(t: int) -> int:
    """Locus offset of transcript offset ``t`` (skipping the intron)."""
    return t if t < 17 else t + len(INTRON)


@pytest.fixture(scope="module")
def genome_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("vgenome")
    fasta = folder / "genome.fa"
    fasta.write_text(
        f">chr1\n{PAD}{LOCUS}{PAD}\n>chr2\n{PAD}{reverse_complement(LOCUS)}{PAD}\n>chr3\n{'ACGT' * 20}\n"
    )
    subprocess.run(["samtools", "faidx", str(fasta)], check=True)
    return fasta


def request(strand: str, variant_ids: list[str], cds: bool = True, **extra: object) -> dict:
    pos = plus if strand == "+" else minus
    exons = [(pos(0), pos(16)), (pos(t2locus(17)), pos(t2locus(36)))]
    cds_regions = [(pos(2), pos(16), 0), (pos(t2locus(17)), pos(t2locus(28)), 0)]
    return {
        "unique_entry_id": extra.pop("unique_entry_id", "req1"),
        "base_seq_name": "gene",
        "seq_id": "chr1" if strand == "+" else "chr2",
        "seq_strand": strand,
        "fasta_file_url": "unused",
        "exon_seq_regions": [{"start": a, "end": b} for a, b in exons],
        "cds_seq_regions": [{"start": a, "end": b, "frame": f} for a, b, f in cds_regions] if cds else [],
        "variant_ids": variant_ids,
        "alt_seq_name_suffix": "_mut",
        **extra,
    }


def t_variant(
    api: FakeVariantApi, vid: str, strand: str, t: int, ref: str, alt: str, shape: str = "legacy"
) -> None:
    """Register a variant given in transcript terms: ``ref`` at transcript offset ``t`` -> ``alt``."""
    span = [t2locus(t + i) for i in range(len(ref))]
    if strand == "+":
        api.add(vid, "chr1", plus(span[0]), plus(span[-1]), ref, alt, shape)
    else:
        api.add(
            vid,
            "chr2",
            minus(span[-1]),
            minus(span[0]),
            reverse_complement(ref),
            reverse_complement(alt),
            shape,
        )


def t_insertion(api: FakeVariantApi, vid: str, strand: str, t: int, alt: str) -> None:
    """Insert ``alt`` after transcript offset ``t``."""
    if strand == "+":
        api.add(vid, "chr1", plus(t2locus(t)), plus(t2locus(t)) + 1, "", alt)
    else:
        api.add(vid, "chr2", minus(t2locus(t)) - 1, minus(t2locus(t)), "", reverse_complement(alt))


@pytest.fixture
def cache(tmp_path: Path) -> GenomeCache:
    return GenomeCache(tmp_path / "cache", policy=RetryPolicy(attempts=2, backoff=0.01, timeout=5))


def retrieve(
    genome_path: Path, cache: GenomeCache, api: FakeVariantApi, out: Path, req: dict, output_type: str
):  # type: ignore[no-untyped-def]
    """Run one request through run_request; (FASTA records, seqinfo)."""
    out.mkdir(parents=True, exist_ok=True)
    source = VariantSource(cache, api.base_url)
    with Genome.open(genome_path) as genome:
        run_request(genome, parse_request(req), output_type, out, variants=source)
    fasta = (out / f"{req['unique_entry_id']}-{output_type}.fa").read_text()
    records = {}
    for block in fasta.split(">")[1:]:
        name, seq = block.split("\n", 1)
        records[name] = seq.replace("\n", "")
    return records, json.loads((out / f"{req['unique_entry_id']}-seqinfo.json").read_text())


def positions(info: dict) -> list[tuple]:
    return [
        (
            e["variant_id"],
            e["seq_start_pos"],
            e["seq_end_pos"],
            e["embedded_ref_seq_len"],
            e["embedded_alt_seq_len"],
        )
        for e in info["gene_mut"]["embedded_variants"]
    ]


def alter(seq: str, t: int, ref: str, alt: str) -> str:
    assert seq[t : t + len(ref)] == ref
    return seq[:t] + alt + seq[t + len(ref) :]


@pytest.mark.parametrize("strand", ["+", "-"])
def test_snv_mnv_and_stop_gain_in_transcript_and_protein(genome_path, cache, api, tmp_path, strand):
    t_variant(api, "V:snv", strand, 6, "A", "G")  # codon 2 AAA -> AGA (K -> R)
    t_variant(api, "V:mnv", strand, 8, "CCC", "GAA", shape="v9")  # codon 3 P -> E, the current API shape
    t_variant(api, "V:stop", strand, 25, "G", "A")  # codon 8 TGG -> TGA
    req = request(strand, ["V:snv", "V:mnv", "V:stop"])
    records, info = retrieve(genome_path, cache, api, tmp_path / "t", req, "transcript")
    assert records == {
        "gene_ref": T,
        "gene_mut": alter(alter(alter(T, 6, "A", "G"), 8, "CCC", "GAA"), 25, "G", "A"),
    }
    assert info["gene_ref"] == {}
    assert positions(info) == [("V:snv", 7, 7, 1, 1), ("V:mnv", 9, 11, 3, 3), ("V:stop", 26, 26, 1, 1)]
    entry = info["gene_mut"]["embedded_variants"][0]
    assert entry["seq_substitution_type"] == "substitution"
    assert entry["genomic_seq_id"] == req["seq_id"] and entry["seq_length"] == 1
    assert entry["genomic_ref_seq"] == ("A" if strand == "+" else "T")

    records, info = retrieve(genome_path, cache, api, tmp_path / "p", req, "protein")
    assert records == {"gene_ref": REF_PROTEIN, "gene_mut": "MREGFHD"}
    assert positions(info) == [("V:snv", 2, 2, 1, 1), ("V:mnv", 3, 3, 1, 1), ("V:stop", 8, 8, 1, 1)]


@pytest.mark.parametrize("strand", ["+", "-"])
def test_deletion_insertion_indel_frameshift(genome_path, cache, api, tmp_path, strand):
    t_variant(api, "V:del", strand, 11, "GGG", "")  # whole codon 4
    records, info = retrieve(genome_path, cache, api, tmp_path / "d", request(strand, ["V:del"]), "protein")
    assert records["gene_mut"] == "MKPFHDW"
    assert positions(info) == [("V:del", 3, 4, 1, 0)]  # flanking amino acids of a whole-codon deletion
    assert info["gene_mut"]["embedded_variants"][0]["seq_substitution_type"] == "deletion"
    records, info = retrieve(
        genome_path, cache, api, tmp_path / "dt", request(strand, ["V:del"]), "transcript"
    )
    assert records["gene_mut"] == T[:11] + T[14:]
    assert positions(info) == [("V:del", 11, 12, 3, 0)]  # the two flanking bases

    t_insertion(api, "V:ins", strand, 14, "A")  # frameshift: ...GGG TAT TCA TGA
    req = request(strand, ["V:ins"], unique_entry_id="ins")
    records, info = retrieve(genome_path, cache, api, tmp_path / "i", req, "transcript")
    assert records["gene_mut"] == T[:15] + "A" + T[15:]
    assert positions(info) == [("V:ins", 16, 16, 0, 1)]  # the inserted base
    records, info = retrieve(genome_path, cache, api, tmp_path / "ip", req, "protein")
    assert records["gene_mut"] == "MKPGYS"
    assert positions(info) == [("V:ins", 5, 5, 0, 1)]

    t_variant(api, "V:indel", strand, 8, "CC", "TTTAT")  # CCC -> TTTATC: +3, in frame
    req = request(strand, ["V:indel"], unique_entry_id="indel")
    records, info = retrieve(genome_path, cache, api, tmp_path / "x", req, "transcript")
    assert records["gene_mut"] == alter(T, 8, "CC", "TTTAT")
    assert positions(info) == [("V:indel", 9, 13, 2, 5)]  # the longer allele
    records, info = retrieve(genome_path, cache, api, tmp_path / "xp", req, "protein")
    assert records["gene_mut"] == "MKFIGFHDW"  # ATG AAA TTT ATC GGG ...
    assert info["gene_mut"]["embedded_variants"][0]["seq_substitution_type"] == "indel"


@pytest.mark.parametrize("strand", ["+", "-"])
def test_deletion_across_an_exon_boundary_is_fused(genome_path, cache, api, tmp_path, strand):
    # TTT at the end of exon 1, the intron, CAT at the start of exon 2: 6 exonic bases, in frame
    first, last = t2locus(14), t2locus(19)
    ref = LOCUS[first : last + 1]
    if strand == "+":
        api.add("V:span", "chr1", plus(first), plus(last), ref, "")
    else:
        api.add("V:span", "chr2", minus(last), minus(first), reverse_complement(ref), "")
    req = request(strand, ["V:span"])
    records, info = retrieve(genome_path, cache, api, tmp_path / "t", req, "transcript")
    assert records["gene_mut"] == T[:14] + T[20:]
    assert positions(info) == [("V:span", 14, 15, 6, 0)]
    records, info = retrieve(genome_path, cache, api, tmp_path / "p", req, "protein")
    assert records == {"gene_ref": REF_PROTEIN, "gene_mut": "MKPGDW"}
    assert positions(info) == [("V:span", 4, 5, 2, 0)]


def test_several_variants_with_a_lost_stop_read_on_to_the_next_stop(genome_path, cache, api, tmp_path):
    t_variant(api, "V:1", "+", 6, "A", "G")
    t_variant(api, "V:2", "+", 11, "GGG", "")
    t_variant(api, "V:3", "+", 26, "T", "C")  # the stop TAA -> CAA; UTR: CCC TAG
    req = request("+", ["V:3", "V:1", "V:2", "V:1"])  # order and repeats do not matter
    records, info = retrieve(genome_path, cache, api, tmp_path / "p", req, "protein")
    assert records["gene_mut"] == "MRPFHDWQP"
    assert positions(info) == [("V:1", 2, 2, 1, 1), ("V:2", 3, 4, 1, 0), ("V:3", 8, 8, 1, 1)]
    records, info = retrieve(genome_path, cache, api, tmp_path / "t", req, "transcript")
    assert positions(info) == [("V:1", 7, 7, 1, 1), ("V:2", 11, 12, 3, 0), ("V:3", 24, 24, 1, 1)]


@pytest.mark.parametrize("cds", [True, False])
def test_rejected_alternatives_give_paves_error_and_only_the_reference(
    genome_path, cache, api, tmp_path, cds
):
    t_variant(api, "V:start", "+", 3, "T", "C")  # ATG -> ACG
    t_variant(api, "V:a", "+", 8, "CCC", "")
    t_variant(api, "V:b", "+", 9, "C", "T")  # overlaps V:a
    first, last = t2locus(15), t2locus(18)  # TT | intron | CA: 4 exonic bases, frameshift, no later stop
    api.add("V:nostop", "chr1", plus(first), plus(last), LOCUS[first : last + 1], "")
    t_variant(api, "V:wrongref", "+", 6, "G", "C")  # the genome has A there
    for vids, error in (
        (["V:start"], START_CHANGED),
        (["V:a", "V:b"], PROTEIN_FAILED),
        (["V:nostop"], STOP_LOST),
        (["V:wrongref"], PROTEIN_FAILED),
    ):
        out = tmp_path / vids[0].replace(":", "_")
        records, info = retrieve(genome_path, cache, api, out, request("+", vids, cds=cds), "protein")
        assert records == {"gene_ref": REF_PROTEIN}, vids
        assert info == {"gene_ref": {}, "gene_mut": {"error": error}}, vids
    # an insertion and a variant on the base before it: PAVI keeps one of them by set order; we refuse
    t_insertion(api, "V:ins", "+", 12, "TTT")
    t_variant(api, "V:before", "+", 12, "G", "A")
    for output_type in ("transcript", "protein"):
        records, info = retrieve(
            genome_path,
            cache,
            api,
            tmp_path / f"tie{output_type}",
            request("+", ["V:ins", "V:before"]),
            output_type,
        )
        assert len(records) == 1 and "error" in info["gene_mut"]
    # a transcript is only rejected for overlapping variants or a wrong reference allele
    records, info = retrieve(
        genome_path, cache, api, tmp_path / "ts", request("+", ["V:start"]), "transcript"
    )
    assert positions(info) == [("V:start", 4, 4, 1, 1)]
    records, info = retrieve(
        genome_path, cache, api, tmp_path / "to", request("+", ["V:a", "V:b"]), "transcript"
    )
    assert records == {"gene_ref": T}
    assert info == {"gene_ref": {}, "gene_mut": {"error": TRANSCRIPT_FAILED}}


def test_an_alternative_named_like_the_reference_is_refused(genome_path, cache, api, tmp_path):
    t_variant(api, "V:1", "+", 6, "A", "G")
    with pytest.raises(
        RequestError, match="request req1: field alt_seq_name_suffix: '_ref' names the reference"
    ):
        retrieve(
            genome_path, cache, api, tmp_path, request("+", ["V:1"], alt_seq_name_suffix="_ref"), "protein"
        )
    assert not list(tmp_path.glob("req1-*"))


def test_variants_outside_the_regions_or_on_another_sequence_are_skipped(genome_path, cache, api, tmp_path):
    api.add("V:intron", "chr1", plus(20), plus(21), LOCUS[20:22], "AA")
    api.add("V:chr3", "chr3", 5, 5, "A", "G")
    t_insertion(api, "V:edge", "+", 16, "GGG")  # flanks: last exon base and first intron base
    req = request("+", ["V:intron", "V:chr3", "V:edge"])
    for output_type, ref in (("transcript", T), ("protein", REF_PROTEIN)):
        records, info = retrieve(genome_path, cache, api, tmp_path / output_type, req, output_type)
        assert records == {"gene_ref": ref, "gene_mut": ref}
        assert info == {"gene_ref": {}, "gene_mut": {"embedded_variants": []}}
    # variants in the UTR change the transcript but not the protein
    t_variant(api, "V:utr", "+", 31, "C", "A")
    records, info = retrieve(genome_path, cache, api, tmp_path / "utr", request("+", ["V:utr"]), "protein")
    assert records["gene_mut"] == REF_PROTEIN and info["gene_mut"] == {"embedded_variants": []}


def run_cli(
    genome_path: Path, out: Path, api: FakeVariantApi, req: dict, output_type: str = "protein", fasta=None
):  # type: ignore[no-untyped-def]
    out.mkdir(parents=True, exist_ok=True)
    args = [
        "--seq_id", req["seq_id"], "--seq_strand", req["seq_strand"],
        "--exon_seq_regions", json.dumps(req["exon_seq_regions"]),
        "--cds_seq_regions", json.dumps(req["cds_seq_regions"]),
        "--variant_ids", json.dumps(req["variant_ids"]), "--alt_seq_name_suffix", req["alt_seq_name_suffix"],
        "--fasta_file_url", fasta or f"file://{genome_path}", "--output_type", output_type,
        "--base_seq_name", req["base_seq_name"], "--unique_entry_id", req["unique_entry_id"],
        "--variant_api", api.base_url, "--cache_dir", str(out.parent / "cli-cache"),
    ]  # fmt: skip
    env = {"GENOMECACHE_RETRIES": "3", "GENOMECACHE_BACKOFF": "0.01", "GENOMECACHE_TIMEOUT": "5"}
    return run_script("seq_retrieval.py", *args, cwd=out, env=env)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    return errors[0]


def test_cli_cold_then_warm_run_makes_no_api_calls(genome_path, api, tmp_path):
    t_variant(api, "NC_9:g.17A>G", "+", 6, "A", "G")
    t_variant(api, "V:two", "+", 8, "CCC", "GAA", shape="v9")
    req = request("+", ["NC_9:g.17A>G", "V:two"], unique_entry_id="cli1")
    cold = run_cli(genome_path, tmp_path / "cold", api, req)
    assert cold.returncode == 0, cold.stderr
    assert api.calls() == 2
    warm = run_cli(genome_path, tmp_path / "warm", api, req)
    assert warm.returncode == 0, warm.stderr
    assert api.calls() == 2, "a warm run asked the variant API again"
    for folder in ("cold", "warm"):
        assert (
            tmp_path / folder / "cli1-protein.fa"
        ).read_text() == ">gene_ref\nMKPGFHDW\n>gene_mut\nMREGFHDW\n"


def test_cli_unknown_variant_api_down_and_no_location_fail_with_one_line(genome_path, api, tmp_path):
    line = one_error_line(
        run_cli(genome_path, tmp_path / "a", api, request("+", ["V:nope"], unique_entry_id="r404"))
    )
    assert line.startswith("ERROR request r404: variant V:nope: unknown variant")
    assert not list((tmp_path / "a").iterdir()), "a failed request wrote files"
    # the variant is looked up before the genome is fetched (this genome URL would fail)
    unreachable = "http://127.0.0.1:9/genome.fa.gz"
    result = run_cli(
        genome_path, tmp_path / "a2", api, request("+", ["V:nope"], unique_entry_id="r2"), fasta=unreachable
    )
    assert one_error_line(result).startswith("ERROR request r2: variant V:nope: unknown variant")

    api.raw("V:noloc", b'{"id": "V:noloc"}')
    line = one_error_line(
        run_cli(genome_path, tmp_path / "b", api, request("+", ["V:noloc"], unique_entry_id="rloc"))
    )
    assert line.startswith("ERROR request rloc: variant V:noloc: the answer has no genomic location")

    t_variant(api, "V:ok", "+", 6, "A", "G")
    api.down = True
    before = api.calls()
    line = one_error_line(
        run_cli(genome_path, tmp_path / "c", api, request("+", ["V:ok"], unique_entry_id="rdown"))
    )
    assert line.startswith("ERROR request rdown: variant V:ok: variant API failed")
    assert "gave up after 3 attempts" in line
    assert api.calls() - before == 3  # retried, then failed
    api.down = False
    assert (
        run_cli(genome_path, tmp_path / "d", api, request("+", ["V:ok"], unique_entry_id="rup")).returncode
        == 0
    )


def test_our_seqinfo_with_variants_merges_with_the_alignment(genome_path, cache, api, tmp_path):
    """align_seqinfo.py reads the seqinfo unchanged and places each variant in the alignment."""
    t_variant(api, "V:snv", "+", 6, "A", "G")
    t_variant(api, "V:del", "+", 11, "GGG", "")
    retrieve(genome_path, cache, api, tmp_path, request("+", ["V:snv", "V:del"]), "protein")
    subprocess.run(
        ["clustalo", "-i", "req1-protein.fa", "--outfmt=clustal", "--resno", "-o", "aln", "--force"],
        cwd=tmp_path, check=True, capture_output=True,
    )  # fmt: skip
    done = run_script(
        "align_seqinfo.py", "--sequence-info-files", "req1-seqinfo.json",
        "--alignment-result-file", "aln", "--output", "merged.json", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    merged = json.loads((tmp_path / "merged.json").read_text())
    assert merged["gene_ref"] == {}
    placed = [(e["variant_id"], e["alignment_start_pos"], e["alignment_end_pos"]) for e in
              merged["gene_mut"]["embedded_variants"]]  # fmt: skip
    # alt MRPFHDW: the SNV is R (residue 2), the deletion's flanks P and F (residues 3 and 4)
    row = next(
        line.split()[1] for line in (tmp_path / "aln").read_text().splitlines() if line.startswith("gene_mut")
    )
    column = [i for i, char in enumerate(row, start=1) if char != "-"]
    assert placed == [("V:snv", column[1], column[1]), ("V:del", column[2], column[3])]


def test_range_mode_embeds_the_same_from_the_blocks_it_fetched(genome_path, api, tmp_path):
    """Range access prefetches the request's regions; embedding reads nothing else."""
    www = tmp_path / "www"
    www.mkdir()
    shutil.copyfile(genome_path, www / "g.fa")
    subprocess.run(["bgzip", "-f", str(www / "g.fa")], check=True)
    subprocess.run(["samtools", "faidx", str(www / "g.fa.gz")], check=True)
    t_variant(api, "V:3", "+", 26, "T", "C")  # stop lost: reads on through the UTR
    t_insertion(api, "V:ins", "+", 14, "CAA")
    req = request("+", ["V:3", "V:ins"])
    expected = {}
    for output_type in ("protein", "transcript"):
        expected[output_type] = retrieve(
            www / "g.fa.gz", GenomeCache(tmp_path / "c0"), api, tmp_path / output_type, req, output_type
        )
    with GenomeServer(www) as server:
        cache = GenomeCache(
            tmp_path / "ranged-cache", policy=RetryPolicy(attempts=2, backoff=0.01, timeout=5)
        )
        for output_type in ("protein", "transcript"):
            out = tmp_path / f"ranged-{output_type}"
            out.mkdir()
            with ranged.open_genome(cache, server.url("g.fa.gz")) as genome:
                run_request(
                    genome, parse_request(req), output_type, out, variants=VariantSource(cache, api.base_url)
                )
            fasta = (out / f"req1-{output_type}.fa").read_text()
            records = dict(block.split("\n", 1) for block in fasta.split(">")[1:])
            assert {k: v.replace("\n", "") for k, v in records.items()} == expected[output_type][0]
            assert json.loads((out / "req1-seqinfo.json").read_text()) == expected[output_type][1]
    assert expected["protein"][0]["gene_mut"] == "MKPGSIHDWQP"


def test_genome_fetch_stores_variant_records_and_fails_on_an_unknown_one_before_downloading(
    tmp_path, api, genome_path
):
    """DOWNLOAD_GENOMES (``fetch --requests --variant-api``) stores the run's variant records."""
    api.add("V:1", "chr1", 5, 5, "A", "T")
    url = f"file://{genome_path}"
    good = [request("+", ["V:1"]) | {"fasta_file_url": url}]
    bad = [request("+", ["V:404"], unique_entry_id="bad") | {"fasta_file_url": url}]
    (tmp_path / "good.json").write_text(json.dumps(good))
    (tmp_path / "bad.json").write_text(json.dumps(bad))

    def fetch(requests_file: str) -> subprocess.CompletedProcess:
        return run_script(
            "genome_cache.py", "--quiet", "--cache-dir", tmp_path / "c", "fetch", url,
            "--requests", tmp_path / requests_file, "--variant-api", api.base_url,
        )  # fmt: skip

    failed = fetch("bad.json")
    assert failed.returncode != 0 and "Traceback" not in failed.stderr
    assert "request bad: variant V:404" in failed.stderr
    assert not (tmp_path / "c" / "genomes").is_dir() or not any((tmp_path / "c" / "genomes").iterdir())
    assert fetch("good.json").returncode == 0
    assert api.calls() == 2  # V:404 once, V:1 once
    later = VariantSource(GenomeCache(tmp_path / "c"), api.base_url)
    assert later("req1", "V:1").alt == "T"
    assert api.calls() == 2
