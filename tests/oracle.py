"""Independent expectations: regions from `samtools faidx`, assembled and translated here.

Minus-strand transcripts are assembled the other way round from the package (each
region reverse-complemented by samtools, then joined from the highest start down),
so an assembly bug cannot hide behind an oracle that shares it.
"""

from __future__ import annotations

from Bio.Data import CodonTable
from Bio.Seq import translate

from tests.support.samtools import samtools_bases

samtools_region = samtools_bases  # the name test_retrieval imports


def _bounds(region) -> tuple[int, int, int]:
    if isinstance(region, str):
        a, b = (int(x) for x in region.split(".."))
        return min(a, b), max(a, b), 0
    return min(region["start"], region["end"]), max(region["start"], region["end"]), region.get("frame") or 0


def assemble(fasta: str, request: dict, key: str) -> tuple[str, int]:
    """Transcript-order sequence of ``request[key]`` regions and the first region's frame."""
    minus = request["seq_strand"] in ("-", "-1", "neg")
    regions = sorted((_bounds(r) for r in request[key]), key=lambda b: b[0], reverse=minus)
    seq = "".join(samtools_bases(fasta, request["seq_id"], lo, hi, minus) for lo, hi, _ in regions)
    return seq, regions[0][2]


def expected_protein(fasta: str, request: dict) -> str:
    table_id = request.get("codon_table") or 1
    if request.get("cds_seq_regions"):
        cds, frame = assemble(fasta, request, "cds_seq_regions")
        cds = cds[frame:]
    else:
        transcript, _ = assemble(fasta, request, "exon_seq_regions")
        cds = longest_orf(transcript.upper(), CodonTable.unambiguous_dna_by_id[table_id])
    cds = cds[: len(cds) // 3 * 3]
    protein = str(translate(cds, table=table_id, to_stop=True))
    if (
        request.get("codon_table")
        and cds[:3].upper() in CodonTable.unambiguous_dna_by_id[table_id].start_codons
    ):
        protein = "M" + protein[1:]
    return protein


def longest_orf(seq: str, table) -> str:
    """Every (start codon, next in-frame stop) pair; the longest, last found on ties."""
    best = ""
    for frame in range(3):
        codons = [seq[i : i + 3] for i in range(frame, len(seq) - 2, 3)]
        i = 0
        while i < len(codons):
            if codons[i] in table.start_codons:
                j = next((k for k in range(i, len(codons)) if codons[k] in table.stop_codons), None)
                if j is None:
                    break
                if 3 * (j - i + 1) >= len(best):
                    best = "".join(codons[i : j + 1])
                i = j + 1
            else:
                i += 1
    return best
