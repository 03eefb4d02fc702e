"""FASTA formats: detect, convert to BGZF, build and check ``.fai``/``.gzi``.

Every cached genome is BGZF with both indexes, so one reader path serves all and
``samtools faidx`` reads the cached file identically. Plain gzip (NCBI's
``.fna.gz``) and uncompressed FASTA are recompressed once, at download time.
"""

from __future__ import annotations

import gzip
import os
import re
import struct
import zlib
from pathlib import Path

from Bio import bgzf
from pyfaidx import Faidx, FastaIndexingError

from .errors import IntegrityError, NotFastaError
from .retrieval import is_bgzf

BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
_BASES = re.compile(r"[A-Za-z*-]+")


def sniff(path: Path) -> str:
    """``'bgzf'``, ``'gzip'`` or ``'plain'``; :class:`NotFastaError` unless the content is FASTA."""
    with open(path, "rb") as handle:
        magic = handle.read(2)
    fmt = "plain"
    if magic == b"\x1f\x8b":
        fmt = "bgzf" if is_bgzf(path) else "gzip"
    try:
        with (gzip.open(path, "rb") if fmt != "plain" else open(path, "rb")) as handle:
            head = handle.read(4096).lstrip()
    except (OSError, EOFError, zlib.error) as exc:
        raise NotFastaError(f"{path.name}: not a readable {fmt} file ({exc})") from None
    if not head.startswith(b">"):
        raise NotFastaError(f"{path.name}: not FASTA (does not start with '>')")
    return fmt


def has_bgzf_eof(path: Path) -> bool:
    """True when the file ends with the 28-byte BGZF end-of-file block (truncation check)."""
    size = path.stat().st_size
    if size < len(BGZF_EOF):
        return False
    with open(path, "rb") as handle:
        handle.seek(size - len(BGZF_EOF))
        return handle.read() == BGZF_EOF


def to_bgzf(source: Path, dest: Path, fmt: str) -> None:
    """Recompress plain gzip (all members) or uncompressed FASTA as BGZF."""
    opener = gzip.open if fmt == "gzip" else open
    try:
        with opener(source, "rb") as src, bgzf.BgzfWriter(str(dest), "wb") as out:
            while data := src.read(1 << 20):
                out.write(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise NotFastaError(f"{source.name}: cannot decompress ({exc})") from None


def build_indexes(path: Path) -> None:
    """Write ``.fai`` and ``.gzi`` beside a BGZF FASTA (only in a private staging directory)."""
    for suffix in (".fai", ".gzi"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    try:
        Faidx(str(path), build_index=True).close()
    except (FastaIndexingError, ValueError, UnicodeDecodeError) as exc:
        raise NotFastaError(f"{path.name}: not a well-formed FASTA ({exc})") from None


def read_gzi(path: Path) -> list[tuple[int, int]]:
    """(compressed, uncompressed) offsets of every block start after the first."""
    data = path.read_bytes()
    if len(data) < 8:
        raise IntegrityError(f"{path.name}: truncated .gzi")
    (count,) = struct.unpack_from("<Q", data)
    if len(data) != 8 + 16 * count:
        raise IntegrityError(f"{path.name}: .gzi says {count} blocks but holds {(len(data) - 8) / 16:g}")
    return [struct.unpack_from("<QQ", data, 8 + 16 * i) for i in range(count)]


def check_indexes(path: Path) -> None:
    """Check ``.fai``/``.gzi`` against the data: offsets in range, first and last base of
    every sequence read as bases (a stale index lands on headers or newlines)."""
    gzi = read_gzi(Path(f"{path}.gzi"))
    compressed = path.stat().st_size
    if any(c >= compressed for c, _ in gzi) or gzi != sorted(gzi):
        raise IntegrityError(f"{path.name}: .gzi offsets do not fit the file")
    try:
        faidx = Faidx(str(path), build_index=False, rebuild=False, as_raw=True)
    except Exception as exc:  # pyfaidx raises several types for a malformed .fai
        raise IntegrityError(f"{path.name}: unreadable .fai ({exc})") from None
    try:
        if not faidx.index:
            raise IntegrityError(f"{path.name}: .fai lists no sequences")
        for name, record in faidx.index.items():
            if record.rlen < 1 or record.lenc < 1 or record.lenb <= record.lenc:
                raise IntegrityError(f"{path.name}: .fai record {name} is malformed")
            for pos in {1, record.rlen}:
                base = str(faidx.fetch(name, pos, pos))
                if not _BASES.fullmatch(base):
                    raise IntegrityError(f"{path.name}: .fai does not match the data at {name}:{pos}")
    except IntegrityError:
        raise
    except Exception as exc:
        raise IntegrityError(f"{path.name}: .fai does not match the data ({exc})") from None
    finally:
        faidx.close()


def fsync_path(path: Path) -> None:
    """Flush a file or directory to stable storage before it is published."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
