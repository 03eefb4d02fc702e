"""PAVI request payloads: parse, validate and normalise.

A payload is a JSON list of objects, one per transcript to retrieve. Regions are
``{"start": s, "end": e[, "frame": f]}`` objects or ``"s..e"`` strings, 1-based and
inclusive; on the minus strand PAVI sends start > end, so either order is accepted.
Every problem is reported as :class:`RequestError` naming the request and field.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from . import aliases
from .errors import GenomeCacheError, RequestError
from .locations import Location, parse_location

STRANDS = {"+": "+", "+1": "+", "1": "+", "pos": "+", "-": "-", "-1": "-", "neg": "-"}
_REGION_STR = re.compile(r"\s*(\d+)\s*\.\.\s*(\d+)\s*")
_SAFE_ID = re.compile(r"[A-Za-z0-9_:][A-Za-z0-9_.:+|-]*")
# names become FASTA header text: no whitespace, control characters or '>' (a newline and a
# '>' would start a second record in the output FASTA)
_NAME_PROBLEM = re.compile(r"[\s\x00-\x1f\x7f-\x9f>]")


@dataclass(frozen=True)
class Region:
    """A genomic interval, 1-based closed, ``start <= end``; ``frame`` is 0-2 or None."""

    start: int
    end: int
    frame: int | None = None

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def to_json(self) -> dict[str, int]:
        data = {"start": self.start, "end": self.end}
        if self.frame is not None:
            data["frame"] = self.frame
        return data


@dataclass(frozen=True)
class Request:
    """One validated transcript request."""

    unique_entry_id: str
    base_seq_name: str
    seq_id: str
    strand: str
    fasta_file_url: str
    exons: tuple[Region, ...]
    cds: tuple[Region, ...] = ()
    codon_table: int | None = None
    alt_seq_name_suffix: str = "_alt"
    variant_ids: tuple[str, ...] = field(default=())

    @property
    def location(self) -> Location:
        return parse_location(self.fasta_file_url)


def parse_strand(value: Any, request_id: str = "?", field_name: str = "seq_strand") -> str:
    """Normalise ``+ - +1 -1 pos neg`` (and integers 1/-1) to ``'+'`` or ``'-'``."""
    strand = STRANDS.get(str(value).strip()) if isinstance(value, (str, int)) else None
    if strand is None or isinstance(value, bool):
        raise RequestError(request_id, field_name, f"unknown strand {value!r} (use + - +1 -1 pos neg)")
    return strand


def _coordinate(value: Any, request_id: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(request_id, where, f"coordinate {value!r} is not an integer")
    if value < 1:
        raise RequestError(request_id, where, f"coordinate {value} is below 1 (coordinates are 1-based)")
    return value


def parse_region(value: Any, request_id: str = "?", field_name: str = "regions") -> Region:
    """Parse one region object or ``"s..e"`` string; either order of start and end."""
    frame = None
    if isinstance(value, str):
        match = _REGION_STR.fullmatch(value)
        if not match:
            raise RequestError(request_id, field_name, f"region {value!r} is not 'start..end' with integers")
        start, end = int(match.group(1)), int(match.group(2))
        _coordinate(start, request_id, field_name)
        _coordinate(end, request_id, field_name)
    elif isinstance(value, dict):
        for key in ("start", "end"):
            if key not in value:
                raise RequestError(request_id, f"{field_name}.{key}", "missing")
        start = _coordinate(value["start"], request_id, f"{field_name}.start")
        end = _coordinate(value["end"], request_id, f"{field_name}.end")
        frame = value.get("frame")
        if frame is not None and (isinstance(frame, bool) or frame not in (0, 1, 2)):
            raise RequestError(request_id, f"{field_name}.frame", f"frame {frame!r} is not 0, 1 or 2")
    else:
        raise RequestError(request_id, field_name, f"region {value!r} is neither an object nor 'start..end'")
    return Region(min(start, end), max(start, end), frame)


def parse_regions(value: Any, request_id: str, field_name: str, required: bool) -> tuple[Region, ...]:
    """Parse a list of regions (a JSON string of a list is accepted, as PAVI's CLI passes)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise RequestError(request_id, field_name, f"not valid JSON ({exc.msg})") from None
    if value is None:
        value = []
    if not isinstance(value, list):
        raise RequestError(request_id, field_name, "must be a list of regions")
    if required and not value:
        raise RequestError(request_id, field_name, "must list at least one region")
    return tuple(parse_region(item, request_id, field_name) for item in value)


def _text(data: dict[str, Any], key: str, request_id: str, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RequestError(request_id, key, "missing")
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise RequestError(request_id, key, f"must be a string, got {type(value).__name__}")
    return str(value).strip()


def check_name(value: str, request_id: str, field_name: str) -> str:
    """A name that goes into a FASTA header: no whitespace, control characters or ``>``."""
    bad = _NAME_PROBLEM.search(value)
    if bad:
        raise RequestError(
            request_id,
            field_name,
            f"must not contain whitespace, control characters or '>' (found {bad.group()!r})",
        )
    return value


def parse_codon_table(value: Any, request_id: str = "?") -> int | None:
    """Validate an NCBI translation table id (``None`` means the Standard table)."""
    if value is None or value == "":
        return None
    try:
        table = int(value)
        if isinstance(value, bool) or float(value) != table:
            raise ValueError
    except (TypeError, ValueError):
        raise RequestError(request_id, "codon_table", f"{value!r} is not an NCBI table id") from None
    from Bio.Data import CodonTable  # when a table is named: ~20 ms to import

    if table not in CodonTable.unambiguous_dna_by_id:
        raise RequestError(request_id, "codon_table", f"{table} is not an NCBI translation table")
    return table


def parse_request(
    data: Any, index: int = 0, base_dir: str | None = None, allow_variants: bool = True
) -> Request:
    """Validate one request object of a payload.

    ``index`` names a request without an id; a relative plain path in
    ``fasta_file_url`` is taken relative to ``base_dir`` (the payload's folder).
    ``variant_ids`` are kept (retrieval embeds them, see :mod:`genomecache.variants`);
    ``allow_variants=False`` refuses them, for a step that must not see any.
    """
    if not isinstance(data, dict):
        raise RequestError(f"#{index + 1}", "(request)", "must be a JSON object")
    raw_id = data.get("unique_entry_id")
    request_id = str(raw_id) if raw_id not in (None, "") else f"#{index + 1}"
    if _NAME_PROBLEM.search(request_id):  # an id with a newline must not break the one-line error
        request_id = f"#{index + 1}"
    entry_id = _text(data, "unique_entry_id", request_id)
    if isinstance(raw_id, str):  # it names output files: checked as given, before any stripping
        check_name(raw_id, request_id, "unique_entry_id")
    assert entry_id is not None
    if len(entry_id) > 200 or not _SAFE_ID.fullmatch(entry_id):
        raise RequestError(
            request_id, "unique_entry_id", "must be letters, digits and _ . : + | - (it names output files)"
        )
    url = _text(data, "fasta_file_url", request_id)
    if url:  # 'worm' or 'WBcel235' names conf/genomes.json's URL: resolved before dedup, one entry
        url = aliases.resolve(url)
    if url and base_dir and "://" not in url and not os.path.isabs(url):
        url = os.path.join(base_dir, url)
    try:
        parse_location(url or "")
    except GenomeCacheError as exc:
        raise RequestError(request_id, "fasta_file_url", str(exc)) from None
    variants = data.get("variant_ids") or []
    if isinstance(variants, str):
        try:
            variants = json.loads(variants) if variants.strip() else []
        except json.JSONDecodeError as exc:
            raise RequestError(request_id, "variant_ids", f"not valid JSON ({exc.msg})") from None
    if not isinstance(variants, list) or not all(isinstance(v, str) for v in variants):
        raise RequestError(request_id, "variant_ids", "must be a list of variant id strings")
    if variants and not allow_variants:
        raise RequestError(
            request_id,
            "variant_ids",
            "variants are not accepted here; drop variant_ids",
        )
    cds = parse_regions(data.get("cds_seq_regions"), request_id, "cds_seq_regions", required=False)
    if any(region.frame is None for region in cds):
        raise RequestError(request_id, "cds_seq_regions.frame", "every CDS region needs a frame (0-2)")
    base_seq_name = _text(data, "base_seq_name", request_id) or ""
    suffix = _text(data, "alt_seq_name_suffix", request_id, required=False) or "_alt"
    for name in ("base_seq_name", "alt_seq_name_suffix"):  # as given: not even a trailing newline
        if isinstance(data.get(name), str):
            check_name(data[name], request_id, name)
    return Request(
        unique_entry_id=entry_id,
        base_seq_name=base_seq_name,
        seq_id=_text(data, "seq_id", request_id) or "",
        strand=parse_strand(data.get("seq_strand"), request_id),
        fasta_file_url=url or "",
        exons=parse_regions(data.get("exon_seq_regions"), request_id, "exon_seq_regions", required=True),
        cds=cds,
        codon_table=parse_codon_table(data.get("codon_table"), request_id),
        alt_seq_name_suffix=suffix,
        variant_ids=tuple(variants),
    )


def parse_payload(
    text: str, source: str = "input", base_dir: str | None = None, allow_variants: bool = True
) -> list[Request]:
    """Parse a whole JSON payload; unique_entry_ids must be unique (they name outputs)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GenomeCacheError(
            f"{source}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data:
        raise GenomeCacheError(f"{source}: must be a non-empty JSON list of request objects")
    requests = [parse_request(item, i, base_dir, allow_variants) for i, item in enumerate(data)]
    seen: set[str] = set()
    for request in requests:
        if request.unique_entry_id in seen:
            raise RequestError(request.unique_entry_id, "unique_entry_id", "used by more than one request")
        seen.add(request.unique_entry_id)
    return requests


def request_to_json(request: Request) -> dict[str, Any]:
    """The normalised PAVI form of a request (what the pipeline passes on)."""
    data: dict[str, Any] = {
        "unique_entry_id": request.unique_entry_id,
        "base_seq_name": request.base_seq_name,
        "seq_id": request.seq_id,
        "seq_strand": request.strand,
        "fasta_file_url": request.fasta_file_url,
        "exon_seq_regions": [r.to_json() for r in request.exons],
        "cds_seq_regions": [r.to_json() for r in request.cds],
        "variant_ids": list(request.variant_ids),
        "alt_seq_name_suffix": request.alt_seq_name_suffix,
    }
    if request.codon_table is not None:
        data["codon_table"] = request.codon_table
    return data


def parse_fai(data: bytes, name: str = ".fai") -> dict[str, int]:
    """Sequence lengths from a ``.fai`` (samtools faidx); :class:`GenomeCacheError` when malformed."""
    from .blockstore import parse_fai as fai_records  # the one .fai parser

    try:
        return {seq_id: record.rlen for seq_id, record in fai_records(data).items()}
    except (ValueError, UnicodeDecodeError) as exc:
        raise GenomeCacheError(f"{name}: not a .fai ({exc})") from None


def check_against_index(requests: list[Request], lengths: dict[str, int], genome: str) -> None:
    """Every request's ``seq_id`` is in the genome and its regions lie inside it.

    Uses the genome's ``.fai`` only, so a wrong request fails before the genome is
    downloaded; the messages are those retrieval gives.
    """
    for request in requests:
        length = lengths.get(request.seq_id)
        if length is None:
            raise RequestError(
                request.unique_entry_id, "seq_id", f"'{request.seq_id}' is not in genome {genome}"
            )
        for field_name, regions in (("exon_seq_regions", request.exons), ("cds_seq_regions", request.cds)):
            for region in regions:
                if region.end > length:
                    raise RequestError(
                        request.unique_entry_id,
                        field_name,
                        f"region {region.start}..{region.end} ends beyond {request.seq_id} (length {length})",
                    )
