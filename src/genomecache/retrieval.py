"""Read request regions from an indexed FASTA and build transcript or protein sequences.

Genomes are opened read-only: pyfaidx must never rebuild or write an index next to
a cached file, so missing indexes are an error here, not a reason to build them.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import GenomeCacheError, IntegrityError, RequestError
from .requests import Region, Request

# pyfaidx (full mode) and Biopython (reverse complement, translation) are imported where
# they are used: range mode and transcripts on the plus strand never load them, and each
# costs tens of milliseconds at start-up (tests/unit/test_ranged.py checks the lazy imports)
if TYPE_CHECKING:
    from pyfaidx import Faidx

    from .cache import GenomeCache
    from .variants import Variant

OUTPUT_TYPES = ("protein", "transcript")

#: ``(request_id, variant_id) -> Variant``: where a request's variants come from.
VariantLookup = Callable[[str, str], "Variant"]


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
    from pyfaidx import Faidx

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


@contextlib.contextmanager
def open_whole(cache: GenomeCache, url: str) -> Iterator[Genome]:
    """Open the genome at ``url`` read whole: in place when local and indexed, else via the cache.

    The cache's shared lock is held while the genome is open, so prune never removes it.
    """
    from .cache import resolve_for_reading  # cache imports this module

    fasta = resolve_for_reading(url, cache)
    with cache.reading(fasta) as path, Genome.open(path) as genome:
        yield genome


def stranded(genome: Genome, request: Request, regions: tuple[Region, ...], field: str) -> str:
    """Regions joined in transcript order; reverse-complemented on the minus strand."""
    # Joined in genome order, the minus strand's transcript order is its reverse complement.
    ordered = sorted(regions, key=lambda r: r.start)
    joined = "".join(genome.region(request.seq_id, r, request.unique_entry_id, field) for r in ordered)
    if request.strand != "-":
        return joined
    from Bio.Seq import reverse_complement

    return reverse_complement(joined)


def coding_sequence(genome: Genome, request: Request, table_id: int = 1) -> str:
    """In-frame CDS when CDS regions are given, otherwise the transcript's longest ORF."""
    from .translation import in_frame, longest_orf

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
    from .translation import translate

    return translate(coding_sequence(genome, request, table or 1), table)


def write_records(
    request: Request,
    output_type: str,
    records: list[tuple[str, str]],
    seqinfo: dict[str, dict],
    outdir: str | os.PathLike[str] = ".",
    sequence_output_file: str | None = None,
) -> tuple[Path, Path]:
    """Write FASTA records (name, sequence) and the seqinfo mapping as PAVI names them.

    ``<id>-<type>.fa`` (or ``sequence_output_file``) gets the records in order;
    ``<id>-seqinfo.json`` maps each sequence name to its info object.
    """
    outdir = Path(outdir)
    fasta = (
        Path(sequence_output_file)
        if sequence_output_file
        else outdir / f"{request.unique_entry_id}-{output_type}.fa"
    )
    info = outdir / f"{request.unique_entry_id}-seqinfo.json"
    fasta.write_text("".join(f">{name}\n{sequence}\n" for name, sequence in records))
    info.write_text(json.dumps(seqinfo) + "\n")
    return fasta, info


def write_outputs(
    request: Request,
    output_type: str,
    sequence: str,
    outdir: str | os.PathLike[str] = ".",
    sequence_output_file: str | None = None,
) -> tuple[Path, Path]:
    """Write ``<id>-<type>.fa`` and ``<id>-seqinfo.json`` for a request without variants."""
    return write_records(
        request,
        output_type,
        [(request.base_seq_name, sequence)],
        {request.base_seq_name: {}},
        outdir,
        sequence_output_file,
    )


@dataclass
class RequestResult:
    """What :func:`run_request` wrote."""

    fasta: Path
    seqinfo: Path
    residues: int
    alt_error: str | None = None


def run_request(
    genome: Genome,
    request: Request,
    output_type: str,
    outdir: str | os.PathLike[str] = ".",
    *,
    sequence_output_file: str | None = None,
    unmasked: bool = False,
    codon_table: int | None = None,
    variants: VariantLookup | None = None,
) -> RequestResult:
    """Do one request's whole work on an already open genome and write its two files.

    Parameters
    ----------
    genome
        An open genome: :class:`Genome`, or range mode's genome (it is prefetched first).
    request
        The validated request.
    output_type
        ``protein`` or ``transcript``.
    outdir
        Where ``<id>-<type>.fa`` and ``<id>-seqinfo.json`` go.
    sequence_output_file
        Another name for the FASTA (PAVI's option).
    unmasked
        Uppercase soft-masked bases (transcripts).
    codon_table
        The run's NCBI table for requests that name none.
    variants
        ``(request_id, variant_id) -> Variant`` (see :class:`genomecache.variant_api.VariantSource`);
        needed when the request has ``variant_ids``.

    Raises
    ------
    GenomeCacheError
        One line naming the request (and the variant, for a variant that cannot be fetched).
    """
    if hasattr(genome, "prefetch"):  # range mode: all blocks of the request in one go
        genome.prefetch(request.seq_id, request.exons + request.cds)
    variant_list = []
    if request.variant_ids:
        if variants is None:
            raise RequestError(request.unique_entry_id, "variant_ids", "no variant API configured")
        # PAVI reads variant_ids as a set: a repeated id is embedded once
        variant_list = [variants(request.unique_entry_id, v) for v in dict.fromkeys(request.variant_ids)]
    sequence = retrieve(genome, request, output_type, unmasked=unmasked, codon_table=codon_table)
    if not sequence:
        raise GenomeCacheError(f"request {request.unique_entry_id}: the {output_type} sequence is empty")
    if not variant_list:
        fasta, info = write_outputs(request, output_type, sequence, outdir, sequence_output_file)
        return RequestResult(fasta, info, len(sequence))
    from .variants import embed_request  # only requests with variants pay for it

    alt = embed_request(
        genome, request, output_type, variant_list, unmasked=unmasked, codon_table=codon_table
    )
    ref_name = request.base_seq_name + "_ref"
    alt_name = request.base_seq_name + request.alt_seq_name_suffix
    if alt_name == ref_name:
        raise RequestError(
            request.unique_entry_id, "alt_seq_name_suffix", "'_ref' names the reference record"
        )
    records = [(ref_name, sequence)]
    if alt.sequence is not None:
        records.append((alt_name, alt.sequence))
    fasta, info = write_records(
        request, output_type, records, {ref_name: {}, alt_name: alt.info()}, outdir, sequence_output_file
    )
    return RequestResult(fasta, info, len(sequence), alt.error)
