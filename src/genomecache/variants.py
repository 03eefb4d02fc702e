"""Embed variants into a request's transcript or protein, with the results PAVI gives.

A request with ``variant_ids`` gets two records: the reference (``base_seq_name +
"_ref"``) and the alternative (``base_seq_name + alt_seq_name_suffix``), and in seqinfo
the alternative's ``embedded_variants``: where each variant sits in the output sequence.
The rules are PAVI's (``pipeline_components/seq_retrieval``), rewritten here:

- A variant on another ``seq_id``, outside the exons (transcript) or the in-frame
  CDS/ORF (protein), or an insertion whose two flanking bases are not both in one
  region is skipped; the alternative record is still written.
- Variants are applied per region, last first, so indels do not move the positions of
  the ones before them; a variant across an exon boundary is split over the regions and
  its two embedded parts fused into one entry. The reference allele is checked against
  the genome (case-insensitively).
- On the minus strand alleles are reverse-complemented.
- Protein: the in-frame coding sequence is altered; a changed start codon rejects it; the
  ORF then ends at the first in-frame stop; when the stop is lost the coding sequence is
  extended over the rest of the transcript to the next stop, and rejected without one.
- Rejected alternatives (overlapping variants, a reference allele that does not match the
  genome, an indel that only partly overlaps a region, a changed start codon, a lost stop
  without a later one) give only the reference record and an ``error`` entry, with
  PAVI's message.

Positions in ``embedded_variants`` are 1-based in the output sequence: substitutions
and indels span their bases (an indel the longer of its two alleles), insertions the
inserted bases, deletions the two flanking bases; protein positions are the codons'.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from Bio.Data import CodonTable
from Bio.Seq import reverse_complement

from .requests import Region, Request
from .retrieval import coding_sequence
from .translation import STANDARD_TABLE, translate

log = logging.getLogger(__name__)

SUBSTITUTION, DELETION, INSERTION, INDEL = "substitution", "deletion", "insertion", "indel"

# PAVI's error texts: the first note its exceptions carry, which is what its seqinfo shows
START_CHANGED = (
    "Reference start codon is different from alternative start codon. "
    "Alternative coding sequence rejected. No alternatives searched."
)
STOP_LOST = (
    "Stop codon lost and no alternative found in extended alternative coding sequence. "
    "Alternative coding sequence rejected."
)
PROTEIN_FAILED = "Cannot translate due to failures in alternative coding sequence retrieval."
TRANSCRIPT_FAILED = "Unkown error occured while retrieving alternative transcript sequence."


class VariantDataError(ValueError):
    """A variant record is unusable (positions, alleles)."""


@dataclass(frozen=True)
class Variant:
    """One genomic variant, 1-based closed ``start..end`` on the plus strand.

    An insertion has ``ref == ""`` and ``start..end`` its two flanking bases; a
    deletion has ``alt == ""``.
    """

    variant_id: str
    seq_id: str
    start: int
    end: int
    ref: str = ""
    alt: str = ""

    def __post_init__(self) -> None:
        if not self.seq_id:
            raise VariantDataError("no sequence (chromosome) name")
        for name in ("start", "end"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise VariantDataError(f"{name} {value!r} is not a positive integer")
        if self.start > self.end:
            raise VariantDataError(f"start {self.start} > end {self.end}")
        if not self.ref and not self.alt:
            raise VariantDataError("neither a reference nor an alternative allele")
        if not self.ref and self.end != self.start + 1:
            raise VariantDataError(
                f"an insertion must name its two flanking bases, not {self.start}..{self.end}"
            )

    @property
    def kind(self) -> str:
        """PAVI's substitution type: substitution, deletion, insertion or indel."""
        if self.ref and self.alt and len(self.ref) == len(self.alt):
            return SUBSTITUTION
        if not self.alt:
            return DELETION
        if not self.ref:
            return INSERTION
        return INDEL

    def to_json(self) -> dict[str, Any]:
        return {
            "variant_id": self.variant_id,
            "seq_id": self.seq_id,
            "start": self.start,
            "end": self.end,
            "ref": self.ref,
            "alt": self.alt,
        }

    @classmethod
    def from_json(cls, data: Any) -> Variant:
        if not isinstance(data, dict):
            raise VariantDataError("not an object")
        try:
            return cls(
                str(data["variant_id"]),
                str(data["seq_id"]),
                data["start"],
                data["end"],
                str(data.get("ref") or ""),
                str(data.get("alt") or ""),
            )
        except KeyError as exc:
            raise VariantDataError(f"missing {exc.args[0]}") from None

    def covers(self, seq_id: str, start: int, end: int) -> bool:
        """Whether the variant falls in ``start..end``; an insertion needs both flanks inside."""
        if seq_id != self.seq_id or self.end < start or self.start > end:
            return False
        return bool(self.ref) or (self.start >= start and self.end <= end)

    def overlaps(self, other: Variant) -> bool:
        """PAVI's overlap of two variants (an insertion overlaps what holds both its flanks)."""
        if self.seq_id != other.seq_id or self.end < other.start or self.start > other.end:
            return False
        if not self.ref:
            return self.start >= other.start and self.end <= other.end
        if not other.ref:
            return other.start >= self.start and other.end <= self.end
        return True


@dataclass(frozen=True)
class Embedded:
    """A variant as embedded in an output sequence (positions 1-based in that sequence)."""

    variant: Variant
    start: int
    end: int
    ref_len: int
    alt_len: int

    def to_json(self) -> dict[str, Any]:
        """The object PAVI writes in seqinfo's ``embedded_variants`` (same keys, same order)."""
        v = self.variant
        return {
            "variant_id": v.variant_id,
            "genomic_seq_id": v.seq_id,
            "genomic_start_pos": v.start,
            "genomic_end_pos": v.end,
            "seq_length": v.end - v.start + 1,
            "genomic_ref_seq": v.ref,
            "genomic_alt_seq": v.alt,
            "seq_substitution_type": v.kind,
            "seq_start_pos": self.start,
            "seq_end_pos": self.end,
            "embedded_ref_seq_len": self.ref_len,
            "embedded_alt_seq_len": self.alt_len,
        }

    def translated(self) -> Embedded:
        """Positions in the protein, from positions in its coding sequence (codon 1 = start)."""
        start, end = _codon(self.start), _codon(self.end)
        if self.variant.kind == DELETION:
            # the flank before a deletion is not itself affected; a deletion of whole codons
            # from a codon boundary shows the amino acid before it too
            after = self.start + 1
            start = _codon(after)
            if self.ref_len >= 3 and self.ref_len % 3 == 0 and after % 3 == 1:
                start -= 1
        return Embedded(self.variant, start, end, _codon(self.ref_len), _codon(self.alt_len))


def _codon(position: int) -> int:
    return -(-position // 3)


class Rejected(Exception):
    """The alternative sequence cannot be built; ``reason`` is PAVI's message class."""

    def __init__(self, detail: str, reason: str = "other") -> None:
        super().__init__(detail)
        self.detail, self.reason = detail, reason


@dataclass
class Part:
    """One region in transcript order: genomic ``start..end`` and its bases in transcript orientation."""

    start: int
    end: int
    seq: str

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def rel(self, pos: int, strand: str) -> int:
        """1-based offset of genomic ``pos`` in the transcript-oriented sequence."""
        return self.end - pos + 1 if strand == "-" else pos - self.start + 1

    def sub(self, first: int, last: int, strand: str) -> Part:
        """Bases ``first..last`` (1-based, transcript orientation) as a part."""
        if first < 1 or last > self.length or last < first:
            raise Rejected(f"sub-region {first}..{last} outside region {self.start}..{self.end}")
        if strand == "-":
            return Part(self.end - last + 1, self.end - first + 1, self.seq[first - 1 : last])
        return Part(self.start + first - 1, self.start + last - 1, self.seq[first - 1 : last])


def sub_parts(parts: Sequence[Part], first: int, last: int, strand: str) -> list[Part]:
    """Bases ``first..last`` (1-based) of the joined parts, as parts."""
    total = sum(p.length for p in parts)
    if last < first or first < 1 or last > total:
        raise Rejected(f"sub-region {first}..{last} outside the joined regions (length {total})")
    out, done = [], 0
    for part in parts:
        if done + part.length >= first:
            out.append(part.sub(max(1, first - done), min(last - done, part.length), strand))
        done += part.length
        if last <= done:
            break
    return out


def in_frame_parts(parts: Sequence[Part], frame: int, strand: str) -> list[Part]:
    """The whole codons of the joined parts, starting ``frame`` bases in."""
    length = (sum(p.length for p in parts) - frame) // 3 * 3
    return sub_parts(parts, frame + 1, frame + length, strand)


def rel_position(parts: Sequence[Part], pos: int, strand: str) -> int:
    """1-based position of genomic ``pos`` in the joined parts."""
    done = 0
    for part in parts:
        if part.start <= pos <= part.end:
            return done + part.rel(pos, strand)
        done += part.length
    raise Rejected(f"position {pos} is not in any region")


def check_overlaps(variants: Sequence[Variant]) -> None:
    """Reject overlapping variants (PAVI compares neighbours in (seq_id, start) order)."""
    ordered = sorted(variants, key=lambda v: (v.seq_id, v.start))
    for first, second in zip(ordered, ordered[1:], strict=False):
        if first.overlaps(second):
            raise Rejected(f"variants {first.variant_id} and {second.variant_id} overlap")


def _embed_part(part: Part, strand: str, variants: Iterable[Variant]) -> tuple[str, list[Embedded]]:
    """Apply variants to one part; embedded positions relative to the part."""
    placed: dict[int, tuple[Variant, int, str, str]] = {}
    for v in variants:
        if strand == "-":
            first, last = min(v.end, part.end), max(v.start, part.start)
            before, after = v.end - first, last - v.start
        else:
            first, last = max(v.start, part.start), min(v.end, part.end)
            before, after = first - v.start, v.end - last
        if (before or after) and v.alt and len(v.ref) != len(v.alt):
            raise Rejected(f"indel {v.variant_id} only partly overlaps region {part.start}..{part.end}")
        ref, alt = (reverse_complement(v.ref), reverse_complement(v.alt)) if strand == "-" else (v.ref, v.alt)
        ref = ref[before : len(ref) - after]
        alt = alt[before : len(alt) - after] if alt else alt
        rel = part.rel(first, strand)
        if rel in placed:
            # PAVI keeps one of the two, depending on set order: refuse instead of guessing
            raise Rejected(f"variants {placed[rel][0].variant_id} and {v.variant_id} start at one base")
        placed[rel] = (v, rel + abs(last - first), ref, alt)
    seq = part.seq
    for rel in sorted(placed, reverse=True):
        v, rel_end, ref, alt = placed[rel]
        if v.kind == INSERTION:
            seq = seq[:rel] + alt + seq[rel_end - 1 :]
            continue
        found = seq[rel - 1 : rel_end]
        if found.upper() != ref.upper():
            raise Rejected(
                f"variant {v.variant_id}: reference allele {ref!r} does not match the genome ({found!r})"
            )
        seq = seq[: rel - 1] + alt + seq[rel_end:]
    embedded, offset = [], 0
    for rel in sorted(placed):
        v, rel_end, ref, alt = placed[rel]
        start, end = rel + offset, rel_end + offset
        if v.kind == DELETION:  # the two flanking bases
            start, end = start - 1, end + 1 - len(ref)
        elif v.kind == INSERTION:  # the inserted bases
            start, end = start + 1, end - 1 + len(alt)
        elif v.kind == INDEL and len(ref) < len(alt):
            end += len(alt) - len(ref)
        embedded.append(Embedded(v, start, end, len(ref), len(alt)))
        offset += len(alt) - len(ref)
    return seq, embedded


def _fuse(head: Embedded, tail: Embedded) -> Embedded:
    """One variant's entries on the two sides of a region boundary as one entry."""
    if not (tail.start == 1 or (head.variant.kind == DELETION and tail.start == 0)):
        raise Rejected(f"variant {head.variant.variant_id} cannot be joined across regions")
    end = head.end + tail.end - (1 if head.variant.kind == DELETION else 0)
    return Embedded(head.variant, head.start, end, head.ref_len + tail.ref_len, head.alt_len + tail.alt_len)


def embed(
    parts: Sequence[Part], seq_id: str, strand: str, variants: Sequence[Variant]
) -> tuple[str, list[Embedded]]:
    """The joined parts with the variants applied, and where each variant landed.

    Variants on another ``seq_id``, outside the parts' span or between parts are skipped.
    """
    span_start, span_end = min(p.start for p in parts), max(p.end for p in parts)
    order = sorted(variants, key=(lambda v: -v.end) if strand == "-" else (lambda v: v.start))
    kept = []
    for v in order:
        if v.seq_id != seq_id or v.start > span_end or v.end < span_start:
            log.warning(
                "variant %s (%s:%d-%d) is outside the regions; skipped",
                v.variant_id,
                v.seq_id,
                v.start,
                v.end,
            )
            continue
        kept.append(v)
    seq, embedded = "", []
    for part in parts:
        here = [v for v in kept if v.covers(seq_id, part.start, part.end)]
        if not here:
            seq += part.seq
            continue
        part_seq, part_embedded = _embed_part(part, strand, here)
        if (
            part_embedded
            and embedded
            and embedded[-1].variant.variant_id == part_embedded[0].variant.variant_id
        ):
            embedded[-1] = _fuse(embedded[-1], part_embedded.pop(0))
        embedded.extend(replace(e, start=e.start + len(seq), end=e.end + len(seq)) for e in part_embedded)
        seq += part_seq
    return seq, embedded


def trim(embedded: Sequence[Embedded], last: int) -> list[Embedded]:
    """Keep what lies in positions 1..``last``, cutting entries that run past it."""
    kept = []
    for e in embedded:
        if e.start > last or (e.start == last and e.variant.kind == DELETION):
            continue
        kept.append(replace(e, end=last) if e.end > last else e)
    return kept


def embed_in_frame(
    parts: Sequence[Part], frame: int, seq_id: str, strand: str, variants: Sequence[Variant]
) -> tuple[str, list[Embedded]]:
    """The in-frame codons of the parts with the variants applied, cut to whole codons."""
    seq, embedded = embed(in_frame_parts(parts, frame, strand), seq_id, strand, variants)
    if embedded:
        whole = len(seq) // 3 * 3
        seq, embedded = seq[:whole], trim(embedded, whole)
    return seq, embedded


def first_orf_end(seq: str, table: CodonTable.CodonTable) -> int | None:
    """End (1-based, stop codon included) of the ORF opened by the first codon, or None without a stop."""
    upper = seq.upper()
    if upper[:3] not in table.start_codons:
        raise Rejected(f"the coding sequence does not start with a start codon ({seq[:3]!r})")
    for pos in range(3, len(upper) - 2, 3):
        if upper[pos : pos + 3] in table.stop_codons:
            return pos + 3
    return None


def longest_orf_span(seq: str, table: CodonTable.CodonTable) -> tuple[int, int] | None:
    """1-based start and end of the longest complete ORF (the rule of :func:`translation.longest_orf`)."""
    upper, best = seq.upper(), None
    for frame in range(3):
        opened = -1
        for pos in range(frame, len(upper) - 2, 3):
            codon = upper[pos : pos + 3]
            if opened >= 0 and codon in table.stop_codons:
                if best is None or pos + 3 - opened >= best[1] - best[0] + 1:
                    best = (opened + 1, pos + 3)
                opened = -1
            elif opened < 0 and codon in table.start_codons:
                opened = pos
    return best


@dataclass
class AltResult:
    """The alternative record: its sequence and embedded variants, or PAVI's error."""

    sequence: str | None
    embedded: list[Embedded]
    error: str | None = None

    def info(self) -> dict[str, Any]:
        """The record's seqinfo object."""
        if self.error is not None:
            return {"error": self.error}
        return {"embedded_variants": [e.to_json() for e in self.embedded]}


def _parts(genome: Any, request: Request, regions: Sequence[Region], field: str) -> list[Part]:
    ordered = sorted(regions, key=lambda r: r.start, reverse=request.strand == "-")
    parts = []
    for region in ordered:
        bases = genome.region(request.seq_id, region, request.unique_entry_id, field)
        parts.append(
            Part(region.start, region.end, reverse_complement(bases) if request.strand == "-" else bases)
        )
    return parts


def _alt_coding(
    genome: Any, request: Request, variants: Sequence[Variant], table: CodonTable.CodonTable, table_id: int
) -> tuple[str, list[Embedded]]:
    """The altered coding sequence (start codon to stop codon) and its embedded variants."""
    seq_id, strand = request.seq_id, request.strand
    exons = _parts(genome, request, request.exons, "exon_seq_regions")
    if request.cds:
        coding = _parts(genome, request, request.cds, "cds_seq_regions")
        frame = sorted(request.cds, key=lambda r: r.start, reverse=strand == "-")[0].frame or 0
        reference = coding_sequence(genome, request, table_id)
    else:
        span = longest_orf_span("".join(p.seq for p in exons), table)
        if span is None:  # the reference retrieval already failed for this
            raise Rejected("no open reading frame in the transcript")
        coding, frame = sub_parts(exons, span[0], span[1], strand), 0
        reference = "".join(p.seq for p in coding).upper()  # PAVI keeps the ORF unmasked
    check_overlaps(variants)
    seq, embedded = embed_in_frame(coding, frame, seq_id, strand, variants)
    if reference[:3] != seq[:3]:
        raise Rejected(f"start codon {reference[:3]!r} becomes {seq[:3]!r}", "start")
    end = first_orf_end(seq, table)
    if end is not None:
        return seq[:end], trim(embedded, end)
    # the stop is lost: read on through the rest of the transcript to the next stop
    first_base = max(p.end for p in coding) if strand == "-" else min(p.start for p in coding)
    start = rel_position(exons, first_base, strand) + frame
    extended = sub_parts(exons, start, sum(p.length for p in exons), strand)
    seq, embedded = embed_in_frame(extended, 0, seq_id, strand, variants)
    end = first_orf_end(seq, table)
    if end is None:
        raise Rejected("the stop codon is lost and the transcript has no later one", "stop")
    return seq[:end], trim(embedded, end)


def embed_request(
    genome: Any,
    request: Request,
    output_type: str,
    variants: Sequence[Variant],
    unmasked: bool = False,
    codon_table: int | None = None,
) -> AltResult:
    """The alternative record of a request: its variants embedded in the transcript or protein.

    Parameters
    ----------
    genome
        The open genome (anything with ``region(seq_id, region, request_id, field)``).
    request
        The request; its regions, strand and table.
    output_type
        ``transcript`` or ``protein``.
    variants
        The request's variants (each once).
    unmasked
        Uppercase the transcript.
    codon_table
        The run's NCBI table when the request names none (PAVI: Standard).

    Returns
    -------
    AltResult
        The sequence and embedded variants, or, when PAVI rejects the alternative, its error.
    """
    try:
        if output_type == "transcript":
            check_overlaps(variants)
            exons = _parts(genome, request, request.exons, "exon_seq_regions")
            seq, embedded = embed(exons, request.seq_id, request.strand, variants)
            return AltResult(seq.upper() if unmasked else seq, embedded)
        table_id = request.codon_table if request.codon_table is not None else codon_table
        table = CodonTable.unambiguous_dna_by_id[table_id or STANDARD_TABLE]
        coding, embedded = _alt_coding(genome, request, variants, table, table_id or STANDARD_TABLE)
        return AltResult(translate(coding, table_id), [e.translated() for e in embedded])
    except Rejected as exc:
        if output_type == "transcript":
            message = TRANSCRIPT_FAILED
        else:
            message = {"start": START_CHANGED, "stop": STOP_LOST}.get(exc.reason, PROTEIN_FAILED)
        log.warning(
            "request %s: alternative %s rejected: %s", request.unique_entry_id, output_type, exc.detail
        )
        return AltResult(None, [], message)
