"""Merge per-sequence info with a clustal alignment into PAVI's ``aligned_seq_info.json``.

Each ``<id>-seqinfo.json`` maps sequence names to an info object: empty for a reference
sequence, ``embedded_variants`` or ``error`` for an alternative one (ours and PAVI's
retrieval write the same; PAVI's may also carry ``sequence``). The
merged file keeps every info object as it is. The one addition is PAVI's: a
variant embedded in an aligned sequence gets ``alignment_start_pos`` and
``alignment_end_pos``, its ``seq_start_pos``/``seq_end_pos`` as alignment columns.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from Bio import AlignIO

from .errors import GenomeCacheError

log = logging.getLogger(__name__)

GAP = "-"

SeqInfo = dict[str, Any]


class SeqInfoError(GenomeCacheError):
    """A sequence info or alignment file is unreadable, malformed or ambiguous."""


def read_seqinfo(paths: Iterable[str | os.PathLike[str]]) -> dict[str, SeqInfo]:
    """Merge sequence info files into one mapping of sequence name to info.

    Parameters
    ----------
    paths
        JSON files, each an object of sequence name to info object.

    Returns
    -------
    dict
        Every sequence name of every file with its info.

    Raises
    ------
    SeqInfoError
        A file is unreadable or not such an object, or two files name one sequence.
    """
    merged: dict[str, SeqInfo] = {}
    origin: dict[str, str] = {}
    for path in paths:
        name = os.fspath(path)
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise SeqInfoError(f"sequence info {name}: {exc}") from exc
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise SeqInfoError(f"sequence info {name}: expected an object of sequence name to info object")
        for seq_name, info in data.items():
            if seq_name in merged:
                raise SeqInfoError(f"sequence {seq_name!r} is in both {origin[seq_name]} and {name}")
            merged[seq_name], origin[seq_name] = info, name
    return merged


def read_alignment(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read a clustal alignment (as ``clustalo --outfmt=clustal [--resno]`` writes it).

    Parameters
    ----------
    path
        The clustal file.

    Returns
    -------
    dict
        Sequence name to its gapped sequence, in alignment order.

    Raises
    ------
    SeqInfoError
        The file is unreadable, not one clustal alignment, or names a sequence twice.
    """
    try:
        alignment = AlignIO.read(os.fspath(path), "clustal")
    except Exception as exc:  # Bio's clustal parser also fails with AssertionError and IndexError
        raise SeqInfoError(f"alignment {os.fspath(path)}: {type(exc).__name__} {exc}".rstrip()) from exc
    rows: dict[str, str] = {}
    for record in alignment:
        if record.id in rows:
            raise SeqInfoError(f"alignment {os.fspath(path)}: sequence {record.id!r} appears twice")
        rows[record.id] = str(record.seq)
    return rows


def alignment_position(gapped: str, pos: int) -> int:
    """Alignment column (1-based) of a sequence position (1-based), as PAVI computes it.

    Position ``length + 1`` (just past the last residue, where an insertion after
    the end sits) maps to the column after the last residue, or to the last column
    when the residue ends the alignment.

    Parameters
    ----------
    gapped
        The sequence's row of the alignment, gaps as ``-``.
    pos
        Position in the ungapped sequence, 1 to length + 1.

    Returns
    -------
    int
        The alignment column.

    Raises
    ------
    SeqInfoError
        ``pos`` is outside 1 to length + 1, or the row has no residues.
    """
    columns = [i for i, char in enumerate(gapped, start=1) if char != GAP]
    if not columns:
        raise SeqInfoError("cannot place a position in an alignment row without residues")
    if 1 <= pos <= len(columns):
        return columns[pos - 1]
    if pos == len(columns) + 1:
        return min(columns[-1] + 1, len(gapped))
    raise SeqInfoError(f"position {pos} is outside the sequence (1 to {len(columns) + 1})")


def align_info(name: str, info: SeqInfo, gapped: str) -> SeqInfo:
    """A copy of one sequence's info with its embedded variants placed in the alignment.

    Parameters
    ----------
    name
        The sequence name, for error messages.
    info
        Its info object; ``embedded_variants``, if present, is a list of objects
        with integer ``seq_start_pos`` and ``seq_end_pos``.
    gapped
        The sequence's alignment row.

    Returns
    -------
    dict
        The info, each embedded variant with ``alignment_start_pos`` and ``alignment_end_pos``.

    Raises
    ------
    SeqInfoError
        An embedded variant lacks integer sequence positions or they fall outside the sequence.
    """
    aligned = copy.deepcopy(info)
    variants = aligned.get("embedded_variants")
    if variants is None:
        return aligned
    if not isinstance(variants, list):
        raise SeqInfoError(f"sequence {name!r}: embedded_variants must be a list")
    for index, variant in enumerate(variants, start=1):
        if not isinstance(variant, dict):
            raise SeqInfoError(f"sequence {name!r}: embedded variant {index} is not an object")
        where = f"sequence {name!r}, variant {variant.get('variant_id', index)}"
        for key in ("seq_start_pos", "seq_end_pos"):
            if not isinstance(variant.get(key), int) or isinstance(variant.get(key), bool):
                raise SeqInfoError(f"{where}: {key} must be an integer")
        try:
            variant["alignment_start_pos"] = alignment_position(gapped, variant["seq_start_pos"])
            variant["alignment_end_pos"] = alignment_position(gapped, variant["seq_end_pos"])
        except SeqInfoError as exc:
            raise SeqInfoError(f"{where}: {exc}") from exc
    return aligned


def align_seqinfo(seqinfo: Mapping[str, SeqInfo], alignment: Mapping[str, str]) -> dict[str, SeqInfo]:
    """Merge sequence info with the alignment, as PAVI's ``seq_info_align.py`` does.

    Every sequence keeps its info, also one missing from the alignment (such as a
    sequence whose retrieval reported an ``error``); the embedded variants of aligned
    sequences get alignment positions. An aligned sequence without info is logged.

    Parameters
    ----------
    seqinfo
        Sequence name to info, from :func:`read_seqinfo`.
    alignment
        Sequence name to gapped row, from :func:`read_alignment`.

    Returns
    -------
    dict
        Sequence name to aligned info, sorted by name.
    """
    for name in alignment:
        if name not in seqinfo:
            log.warning("aligned sequence %r has no sequence info", name)
    merged = {
        name: align_info(name, info, alignment[name]) if name in alignment else copy.deepcopy(info)
        for name, info in seqinfo.items()
    }
    return dict(sorted(merged.items()))


def write_aligned_seqinfo(
    seqinfo_files: Iterable[str | os.PathLike[str]],
    alignment_file: str | os.PathLike[str],
    output: str | os.PathLike[str] = "aligned_seq_info.json",
) -> dict[str, SeqInfo]:
    """Read the info files and the alignment, write the merged JSON.

    Parameters
    ----------
    seqinfo_files
        ``<id>-seqinfo.json`` files.
    alignment_file
        The clustal alignment of their sequences.
    output
        Where to write ``aligned_seq_info.json``.

    Returns
    -------
    dict
        What was written.
    """
    merged = align_seqinfo(read_seqinfo(seqinfo_files), read_alignment(alignment_file))
    Path(output).write_text(json.dumps(merged, indent=1, sort_keys=True) + "\n")
    return merged
