"""FASTA files: build and check ``.fai``/``.gzi`` (detection and recompression are :mod:`ingest`'s).

Every cached genome is BGZF with both indexes, so one reader path serves all and
``samtools faidx`` reads the cached file identically. Plain gzip (NCBI's
``.fna.gz``) and uncompressed FASTA are recompressed once, at download time.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from . import bgzf
from .errors import IntegrityError, NotFastaError

BGZF_EOF = bgzf.EOF
_BASES = re.compile(r"[A-Za-z*-]+")


def has_bgzf_eof(path: Path) -> bool:
    """True when the file ends with the 28-byte BGZF end-of-file block (truncation check)."""
    size = path.stat().st_size
    if size < len(BGZF_EOF):
        return False
    with open(path, "rb") as handle:
        handle.seek(size - len(BGZF_EOF))
        return handle.read() == BGZF_EOF


def check_bgzf(path: Path) -> None:
    """Inflate every block on all cores, checking each one's CRC32 and length, and the EOF block.

    :class:`IntegrityError` names the problem; the ``.gzi`` and a few reads through the
    index would only notice damage in the blocks they happen to touch.
    """
    checker = bgzf.StreamChecker()
    try:
        with open(path, "rb") as handle:
            while data := handle.read(1 << 22):
                checker.feed(data)
        checker.finish()
    except bgzf.BgzfError as exc:
        raise IntegrityError(f"{path.name}: corrupt compressed data ({exc})") from None


def build_indexes(path: Path, blocks: list[tuple[int, int, int]] | None = None) -> None:
    """Write ``.fai`` and ``.gzi`` beside a BGZF FASTA (only in a private staging directory).

    With the file's block table (known from the pass that wrote or checked it) the ``.gzi``
    is written from it and only the ``.fai`` needs a read of the data.
    """
    for suffix in (".fai", ".gzi"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    if blocks is not None:
        Path(f"{path}.gzi").write_bytes(bgzf.gzi_bytes(blocks))
    from pyfaidx import Faidx, FastaIndexingError  # imported when used: range mode never needs it

    try:
        Faidx(str(path), build_index=True).close()
    except (FastaIndexingError, ValueError, UnicodeDecodeError) as exc:
        raise NotFastaError(f"{path.name}: not a well-formed FASTA ({exc})") from None


def parse_gzi(data: bytes, name: str = ".gzi") -> list[tuple[int, int]]:
    """(compressed, uncompressed) offsets of every block start after the first, as htslib writes them."""
    try:
        return bgzf.parse_gzi(data, name)
    except bgzf.BgzfError as exc:
        raise IntegrityError(str(exc)) from None


def read_gzi(path: Path) -> list[tuple[int, int]]:
    return parse_gzi(path.read_bytes(), path.name)


_KNOWN_BLOCKS: dict[tuple[int, int, int, int], list[tuple[int, int, int]]] = {}


def _file_key(path: Path) -> tuple[int, int, int, int]:
    stat = path.stat()
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


def remember_blocks(path: Path, blocks: list[tuple[int, int, int]]) -> None:
    """The block table of ``path`` as the pass that wrote or checked its bytes found it; used by
    :func:`bgzf_blocks` in this process while the file is unchanged (same inode, size, mtime)."""
    _KNOWN_BLOCKS.clear()  # one genome at a time: never hold tables of files long gone
    _KNOWN_BLOCKS[_file_key(path)] = blocks


def bgzf_blocks(path: Path) -> list[tuple[int, int, int]]:
    """(compressed offset, uncompressed offset, uncompressed size) of every BGZF block, read
    from the block headers and trailers (no decompression); :class:`IntegrityError` when the
    file is not a chain of BGZF blocks."""
    known = _KNOWN_BLOCKS.get(_file_key(path))
    if known is not None:
        return known
    try:
        return bgzf.scan_file(path)
    except bgzf.BgzfError as exc:
        raise IntegrityError(str(exc)) from None


def check_indexes(path: Path) -> None:
    """Check ``.fai``/``.gzi`` against a BGZF FASTA; :class:`IntegrityError` when they do not fit.

    The ``.gzi`` must list the file's blocks (from their headers); for every ``.fai``
    record the line before its offset must be its header, the first line must be
    ``linebases`` bases and a newline, and the last base must be followed by a line end
    and the next header or the end of the file. A stale index (another line length, other
    offsets or lengths) fails one of these, where reading a base or two would not notice.
    """
    gzi = read_gzi(Path(f"{path}.gzi"))
    blocks = bgzf_blocks(path)
    every = {(c, u) for c, u, _ in blocks[1:]}
    needed = {(c, u) for c, u, n in blocks[1:] if n}
    if gzi != sorted(gzi) or not needed <= set(gzi) <= every:
        raise IntegrityError(f"{path.name}: .gzi does not list the file's BGZF blocks (stale index?)")
    # the project's one .fai parser (pyfaidx took 0.1-0.25 s here: its import and a re-read of the .gzi)
    from .blockstore import parse_fai

    try:
        fai = Path(f"{path}.fai").read_bytes()
        records = parse_fai(fai)
        if len(records) != len(fai.splitlines()):
            raise ValueError("a sequence name is listed twice")
    except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise IntegrityError(f"{path.name}: unreadable .fai ({exc})") from None
    total = blocks[-1][1] + blocks[-1][2] if blocks else 0
    with bgzf.Reader(path, gzi) as reader:  # the one BGZF parser; every block read is CRC-checked
        read = reader.read

        try:
            for name, rec in records.items():
                _check_record(path.name, name, rec, read, total)
        except IntegrityError:
            raise
        except Exception as exc:  # a wild offset makes the BGZF reader itself fail
            raise IntegrityError(f"{path.name}: .fai does not match the data at {name} ({exc})") from None


def _check_record(label: str, name: str, rec, read, total: int) -> None:  # type: ignore[no-untyped-def]
    def bad(what: str) -> IntegrityError:
        return IntegrityError(f"{label}: .fai does not match the data: {name} {what}")

    if rec.rlen < 1 or rec.lenc < 1 or rec.lenb <= rec.lenc or rec.offset < 2 or rec.offset > total:
        raise bad("has a malformed record")
    before = read(max(0, rec.offset - 65536), min(rec.offset, 65536))
    header = before[before.rfind(b"\n", 0, len(before) - 1) + 1 :]
    if not before.endswith(b"\n") or not re.match(rb">" + re.escape(name.encode()) + rb"(\s|$)", header):
        raise bad("is not preceded by its header line")
    newline = rec.lenb - rec.lenc
    first = read(rec.offset, min(rec.rlen, rec.lenc) + newline)
    if not _BASES.fullmatch(first[: min(rec.rlen, rec.lenc)].decode("latin-1")):
        raise bad("does not start with a line of bases")
    if rec.rlen > rec.lenc and first[rec.lenc :] not in (b"\n", b"\r\n"):
        raise bad(f"lines are not {rec.lenc} bases long")
    tail = read(rec.at(rec.rlen - 1), 3 + newline)
    after = tail[1:].lstrip(b"\r\n")
    if (
        not _BASES.fullmatch(tail[:1].decode("latin-1"))
        or tail[1:2] not in (b"", b"\n", b"\r")
        or not (after == b"" or after.startswith(b">"))
    ):
        raise bad(f"is not {rec.rlen} bases long")


def fsync_path(path: Path) -> None:
    """Flush a file or directory to stable storage before it is published."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
