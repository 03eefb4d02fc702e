"""Read request regions from an indexed FASTA and build transcript or protein sequences.

Genomes are opened read-only: pyfaidx must never rebuild or write an index next to
a cached file, so missing indexes are an error here, not a reason to build them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from Bio.Seq import reverse_complement
from pyfaidx import Faidx

from .errors import GenomeCacheError, IntegrityError, RequestError
from .requests import Region, Request
from .translation import in_frame, longest_orf, translate

OUTPUT_TYPES = ("protein", "transcript")


def is_bgzf(path: str | os.PathLike[str]) -> bool:
    """True when the file starts with a BGZF block header (gzip with a 'BC' extra field)."""
    with open(path, "rb") as handle:
        head = handle.read(16)
    return len(head) == 16 and head[:4] == b"\x1f\x8b\x08\x04" and head[12:14] == b"BC"


def missing_files(path: str | os.PathLike[str]) -> list[str]:
    """Names of the files a FASTA needs for indexed reading that are absent: itself, its
    ``.fai`` and, when it is BGZF, its ``.gzi``."""
    path = str(path)
    if not os.path.isfile(path):
        return [os.path.basename(path)]
    needed = [path + ".fai"] + ([path + ".gzi"] if is_bgzf(path) else [])
    return [os.path.basename(p) for p in needed if not os.path.isfile(p)]


def open_genome(path: str | os.PathLike[str]) -> Faidx:
    """Open an indexed FASTA (plain or BGZF) for reading without touching its indexes."""
    missing = missing_files(path)
    if missing:
        raise IntegrityError(f"genome {path}: missing {', '.join(missing)}")
    return Faidx(str(path), build_index=False, rebuild=False, as_raw=True, sequence_always_upper=False)


@dataclass
class Genome:
    """An open, read-only, indexed genome."""

    path: str
    faidx: Faidx

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Genome:
        return cls(str(path), open_genome(path))

    def close(self) -> None:
        self.faidx.close()

    def __enter__(self) -> Genome:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def length(self, seq_id: str, request_id: str = "?") -> int:
        record = self.faidx.index.get(seq_id)
        if record is None:
            raise RequestError(
                request_id, "seq_id", f"'{seq_id}' is not in genome {os.path.basename(self.path)}"
            )
        return record.rlen

    def region(self, seq_id: str, region: Region, request_id: str = "?", field: str = "regions") -> str:
        """Bases of a 1-based closed region on the plus strand."""
        size = self.length(seq_id, request_id)
        if region.end > size:
            raise RequestError(
                request_id, field, f"region {region.start}..{region.end} ends beyond {seq_id} (length {size})"
            )
        return str(self.faidx.fetch(seq_id, region.start, region.end))


def stranded(genome: Genome, request: Request, regions: tuple[Region, ...], field: str) -> str:
    """Regions joined in transcript order; reverse-complemented on the minus strand."""
    # Joined in genome order, the minus strand's transcript order is its reverse complement.
    ordered = sorted(regions, key=lambda r: r.start)
    joined = "".join(genome.region(request.seq_id, r, request.unique_entry_id, field) for r in ordered)
    return reverse_complement(joined) if request.strand == "-" else joined


def coding_sequence(genome: Genome, request: Request, table_id: int = 1) -> str:
    """In-frame CDS when CDS regions are given, otherwise the transcript's longest ORF."""
    if request.cds:
        first = sorted(request.cds, key=lambda r: r.start, reverse=request.strand == "-")[0]
        return in_frame(stranded(genome, request, request.cds, "cds_seq_regions"), first.frame or 0)
    transcript = stranded(genome, request, request.exons, "exon_seq_regions")
    orf = longest_orf(transcript, table_id)
    if orf is None:
        raise RequestError(
            request.unique_entry_id,
            "exon_seq_regions",
            "no complete open reading frame in the transcript and no cds_seq_regions",
        )
    return orf


def retrieve(
    genome: Genome, request: Request, output_type: str, unmasked: bool = False, codon_table: int | None = None
) -> str:
    """The requested sequence: ``transcript`` (spliced exons) or ``protein``.

    ``codon_table`` is the run's default when the request names none.
    """
    if output_type not in OUTPUT_TYPES:
        raise GenomeCacheError(f"output type '{output_type}' is not one of {', '.join(OUTPUT_TYPES)}")
    if output_type == "transcript":
        sequence = stranded(genome, request, request.exons, "exon_seq_regions")
        return sequence.upper() if unmasked else sequence
    table = request.codon_table if request.codon_table is not None else codon_table
    return translate(coding_sequence(genome, request, table or 1), table)


def write_outputs(
    request: Request,
    output_type: str,
    sequence: str,
    outdir: str | os.PathLike[str] = ".",
    sequence_output_file: str | None = None,
) -> tuple[Path, Path]:
    """Write ``<id>-<type>.fa`` and ``<id>-seqinfo.json`` as PAVI's downstream steps expect."""
    outdir = Path(outdir)
    fasta = (
        Path(sequence_output_file)
        if sequence_output_file
        else outdir / f"{request.unique_entry_id}-{output_type}.fa"
    )
    info = outdir / f"{request.unique_entry_id}-seqinfo.json"
    fasta.write_text(f">{request.base_seq_name}\n{sequence}\n")
    info.write_text(json.dumps({request.base_seq_name: {}}) + "\n")
    return fasta, info
