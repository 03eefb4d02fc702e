"""The PROTEIN_MSA workflows' alignment and aligned_seq_info.json against independent references.

Each alignment row, gaps removed, must be the protein that ``samtools faidx`` and Biopython's
codon tables give for its request (tests/oracle.py); the alternative records of requests with a
variant are checked against a copy of the genome with the SNV written into it here. The variant
positions in aligned_seq_info.json are derived here from the coding regions and the gapped rows,
and the whole file is compared with what PAVI's own ``seq_info_align.py`` writes for the
pipeline's seqinfo files and alignment (skipped, with the reason, where ../shared/pavi is absent).
"""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml
from Bio import AlignIO, SeqIO

from tests.differential.pavi_oracle import PAVI, oracle_python
from tests.oracle import expected_protein
from tests.support.samtools import decompressed

HERE = Path(__file__).resolve().parent
WITH_VARIANTS = "protein MSA on the embedded genome with variants"
INLINE = "protein MSA from an inline payload (input_seq_regions_str)"
PAVI_PARAMS = "protein MSA with PAVI's publish and image parameters"


def alignment_rows(path: Path) -> dict[str, str]:
    """Name -> gapped row of a clustal alignment (Biopython's reader, as PAVI's)."""
    alignment = AlignIO.read(path, "clustal")
    rows = {record.id: str(record.seq) for record in alignment}
    assert len(rows) == len(alignment), "a name appears twice in the alignment"
    assert len({len(row) for row in rows.values()}) == 1, "rows of different lengths"
    return rows


def genome_with_snvs(workflow_dir: Path, variants: list[dict]) -> str:
    """A bgzipped, samtools-indexed copy of the embedded genome with each SNV written in."""
    plain = decompressed(workflow_dir / "assets/genome/ce.fa.gz")
    folder = workflow_dir / "oracle-alt"
    folder.mkdir(exist_ok=True)
    (folder / "plain.fa").write_bytes(plain)
    records = {r.id: r for r in SeqIO.parse(folder / "plain.fa", "fasta")}
    for v in variants:
        seq = records["CHROMOSOME_I"].seq
        assert seq[v["pos"] - 1].upper() == v["ref"]
        records["CHROMOSOME_I"].seq = seq[: v["pos"] - 1] + v["alt"] + seq[v["pos"] :]
    alt = folder / "alt.fa"
    SeqIO.write(records.values(), alt, "fasta")
    subprocess.run(["bgzip", "-f", str(alt)], check=True)
    subprocess.run(["samtools", "faidx", f"{alt}.gz"], check=True)
    return f"{alt}.gz"


def expected_rows(workflow_dir: Path, requests: list[dict], variants: list[dict]) -> dict[str, str]:
    """Record name -> expected protein, as PAVI names them (``_ref`` and the suffix with variants)."""
    genome = str(workflow_dir / "assets/genome/ce.fa.gz")
    varied = {v["request"] for v in variants}
    alt_genome = genome_with_snvs(workflow_dir, variants) if variants else ""
    expected = {}
    for request in requests:
        local = {**request, "fasta_file_url": genome}
        if request["unique_entry_id"] in varied:
            suffix = request.get("alt_seq_name_suffix") or "_alt"
            expected[f"{request['base_seq_name']}_ref"] = expected_protein(genome, local)
            expected[f"{request['base_seq_name']}{suffix}"] = expected_protein(alt_genome, local)
        else:
            expected[request["base_seq_name"]] = expected_protein(genome, local)
    return expected


def protein_position(request: dict, pos: int) -> int:
    """1-based codon (residue) number of genomic position ``pos`` in the request's coding regions."""
    minus = request["seq_strand"] in ("-", "-1", "neg")
    bounds = sorted(
        (
            (min(r["start"], r["end"]), max(r["start"], r["end"]), r["frame"])
            for r in request["cds_seq_regions"]
        ),
        reverse=minus,
    )
    offset = 0
    for lo, hi, _ in bounds:
        if lo <= pos <= hi:
            offset += (hi - pos) if minus else (pos - lo)
            return (offset - bounds[0][2]) // 3 + 1
        offset += hi - lo + 1
    raise AssertionError(f"{pos} is outside the coding regions")


def column(gapped: str, pos: int) -> int:
    """1-based alignment column of the ``pos``-th residue of a gapped row."""
    return [i for i, c in enumerate(gapped, start=1) if c != "-"][pos - 1]


def inline_payload() -> list[dict]:
    """The --input_seq_regions_str payload of the inline workflow, read from its YAML."""
    workflows = yaml.safe_load((HERE / "test_protein_msa.yml").read_text())
    command = next(w["command"] for w in workflows if w["name"] == INLINE)
    words = shlex.split(command)
    return json.loads(words[words.index("--input_seq_regions_str") + 1])


def embedded_requests(workflow_dir: Path) -> list[dict]:
    return json.loads((workflow_dir / "assets/requests.json").read_text())


@pytest.mark.workflow(WITH_VARIANTS)
def test_msa_alignment_rows_are_the_oracle_proteins_with_variants(workflow_dir):
    workflow_dir = Path(workflow_dir)
    variants = json.loads((workflow_dir / "msa-variants.json").read_text())
    requests = json.loads((workflow_dir / "msa-requests.json").read_text())
    expected = expected_rows(workflow_dir, requests, variants)
    for v in variants:  # the SNVs change the proteins, so a dropped variant shows
        name = next(r["base_seq_name"] for r in requests if r["unique_entry_id"] == v["request"])
        assert expected[f"{name}_ref"] != expected[f"{name}_alt"]
    rows = alignment_rows(workflow_dir / "results/alignment-output.aln")
    assert {name: row.replace("-", "") for name, row in rows.items()} == expected


@pytest.mark.workflow(INLINE)
def test_msa_alignment_rows_are_the_oracle_proteins_inline(workflow_dir):
    workflow_dir = Path(workflow_dir)
    rows = alignment_rows(workflow_dir / "results/alignment-output.aln")
    expected = expected_rows(workflow_dir, inline_payload(), [])
    assert {name: row.replace("-", "") for name, row in rows.items()} == expected
    info = json.loads((workflow_dir / "results/aligned_seq_info.json").read_text())
    assert info == {name: {} for name in expected}  # no variants: PAVI writes {} per sequence


@pytest.mark.workflow(PAVI_PARAMS)
def test_msa_alignment_rows_are_the_oracle_proteins_pavi_publish_dir(workflow_dir):
    workflow_dir = Path(workflow_dir)
    out = workflow_dir / "pavi-out/job-42"
    rows = alignment_rows(out / "alignment-output.aln")
    expected = expected_rows(workflow_dir, embedded_requests(workflow_dir), [])
    assert {name: row.replace("-", "") for name, row in rows.items()} == expected
    assert json.loads((out / "aligned_seq_info.json").read_text()) == {name: {} for name in expected}


@pytest.mark.workflow(WITH_VARIANTS)
def test_msa_aligned_seq_info_places_each_variant_in_the_alignment(workflow_dir):
    """Positions derived here: the codon of the SNV in the CDS, its column in the gapped row."""
    workflow_dir = Path(workflow_dir)
    variants = json.loads((workflow_dir / "msa-variants.json").read_text())
    requests = {r["unique_entry_id"]: r for r in json.loads((workflow_dir / "msa-requests.json").read_text())}
    rows = alignment_rows(workflow_dir / "results/alignment-output.aln")
    info = json.loads((workflow_dir / "results/aligned_seq_info.json").read_text())
    assert set(info) == set(rows)
    alt_names = set()
    for v in variants:
        request = requests[v["request"]]
        alt_name = f"{request['base_seq_name']}_alt"
        alt_names.add(alt_name)
        assert info[f"{request['base_seq_name']}_ref"] == {}
        [embedded] = info[alt_name]["embedded_variants"]
        residue = protein_position(request, v["pos"])
        assert embedded["variant_id"] == v["id"]
        assert embedded["genomic_seq_id"] == "CHROMOSOME_I"
        assert (embedded["genomic_start_pos"], embedded["genomic_end_pos"]) == (v["pos"], v["pos"])
        assert (embedded["genomic_ref_seq"], embedded["genomic_alt_seq"]) == (v["ref"], v["alt"])
        assert (embedded["seq_start_pos"], embedded["seq_end_pos"]) == (residue, residue)
        col = column(rows[alt_name], residue)
        assert (embedded["alignment_start_pos"], embedded["alignment_end_pos"]) == (col, col)
    for name in set(rows) - alt_names:
        if not name.endswith("_ref"):
            assert info[name] == {}


@pytest.mark.slow  # builds PAVI's oracle venv (pip) on first use; about a second once it exists
@pytest.mark.workflow(WITH_VARIANTS)
def test_msa_aligned_seq_info_is_what_pavis_seq_info_align_writes(workflow_dir, tmp_path):
    """PAVI's seq_info_align.py on the pipeline's own seqinfo files and alignment: same JSON."""
    python, why = oracle_python()
    if python is None:
        pytest.skip(why)
    workflow_dir = Path(workflow_dir)
    seqinfo = sorted(str(p) for p in (workflow_dir / "results/sequences").glob("*-seqinfo.json"))
    assert len(seqinfo) == 5
    script = PAVI / "seq_retrieval" / "seq_info_align.py"
    alignment = workflow_dir / "results/alignment-output.aln"
    cmd = [
        python,
        str(script),
        "--alignment-result-file",
        str(alignment),
        "--sequence-info-files",
        " ".join(seqinfo),
    ]
    done = subprocess.run(
        cmd, cwd=tmp_path, capture_output=True, text=True, env={"PYTHONPATH": str(script.parent)}
    )
    assert done.returncode == 0, f"PAVI's seq_info_align.py failed: {done.stderr[-2000:]}"
    expected = json.loads((tmp_path / "aligned_seq_info.json").read_text())
    assert any(value for value in expected.values()), "PAVI's output has no embedded variant to compare"
    assert json.loads((workflow_dir / "results/aligned_seq_info.json").read_text()) == expected
