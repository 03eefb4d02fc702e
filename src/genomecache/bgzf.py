"""BGZF blocks: the one parser used by the cache check, range mode and the index builder.

A BGZF file is a chain of gzip members, each with a ``BC`` extra field giving its size,
a raw DEFLATE payload, then CRC32 and ISIZE; it ends with a 28-byte empty block
(:data:`EOF`). Blocks are inflated with ISA-L (``isal``) when it is installed, else
libdeflate (the ``deflate`` package, as htslib does), else zlib; all release the GIL, so a
thread pool checks blocks on every core while a download is still arriving.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import struct
import threading
import zlib
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

try:  # libdeflate compresses (Writer) and is the inflate fallback
    import deflate as _deflate

    def _compress(data: bytes | memoryview, level: int) -> bytes:
        return _deflate.deflate_compress(data, level)

    crc32: Callable[[bytes | memoryview], int] = _deflate.crc32
except ImportError:  # pragma: no cover - the fallback keeps the package usable without it
    _deflate = None  # type: ignore[assignment]

    def _compress(data: bytes | memoryview, level: int) -> bytes:
        packer = zlib.compressobj(level, zlib.DEFLATED, -15)
        return packer.compress(data) + packer.flush()

    crc32 = zlib.crc32


def _inflate_zlib(raw: bytes | memoryview, isize: int) -> bytes:
    return zlib.decompress(raw, -15, max(isize, 1))


# Inflaters, fastest first; each takes a block's raw DEFLATE payload and ISIZE and releases the
# GIL; the caller checks the length and CRC32. DNA blocks on this project's 2-core x86 machine,
# compressed MB per CPU-second: ISA-L 291, libdeflate 180 (htslib's), zlib 88.
INFLATERS: dict[str, tuple[Callable[[bytes | memoryview, int], bytes], tuple[type[Exception], ...]]] = {}
try:
    from isal import igzip_lib as _igzip

    def _inflate_isal(raw: bytes | memoryview, isize: int) -> bytes:
        return _igzip.decompress(raw, _igzip.DECOMP_DEFLATE, 15, isize or 1)

    INFLATERS["isa-l"] = (_inflate_isal, (_igzip.IsalError,))
except ImportError:  # pragma: no cover - an optional speed-up
    pass
if _deflate is not None:

    def _inflate_libdeflate(raw: bytes | memoryview, isize: int) -> bytes:
        return _deflate.deflate_decompress(raw, isize) if isize else zlib.decompress(raw, -15)

    INFLATERS["libdeflate"] = (_inflate_libdeflate, (_deflate.DeflateError, zlib.error))
INFLATERS["zlib"] = (_inflate_zlib, (zlib.error,))
INFLATER = next(iter(INFLATERS))  # the one in use
_inflate, _INFLATE_ERRORS = INFLATERS[INFLATER]

EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
MAGIC = b"\x1f\x8b\x08\x04"
MAX_DATA = 0xFF00  # uncompressed bytes per block, as bgzip writes them
HEADER = 18  # fixed header with the one BC subfield (as bgzip and htslib write it)


class BgzfError(ValueError):
    """The bytes are not valid BGZF (structure, inflate, CRC32 or size)."""


def is_bgzf(head: bytes) -> bool:
    """True when ``head`` (at least 16 bytes) starts with a BGZF block header."""
    return len(head) >= 16 and head[:4] == MAGIC and head[12:14] == b"BC"


def block_size(data: bytes | bytearray | memoryview, pos: int) -> int | None:
    """Size of the block starting at ``pos``; None when its header is not all there yet."""
    if len(data) - pos < 12:
        return None
    if bytes(data[pos : pos + 4]) != MAGIC:
        raise BgzfError(f"no BGZF block header at byte {pos}")
    (xlen,) = struct.unpack_from("<H", data, pos + 10)
    if len(data) - pos < 12 + xlen:
        return None
    x, end = pos + 12, pos + 12 + xlen
    while x + 4 <= end:
        sub, slen = bytes(data[x : x + 2]), struct.unpack_from("<H", data, x + 2)[0]
        if sub == b"BC" and slen == 2:
            size = struct.unpack_from("<H", data, x + 4)[0] + 1
            if size < 12 + xlen + 8:
                break
            return size
        x += 4 + slen
    raise BgzfError(f"BGZF block at byte {pos} has no valid size field")


_TRAILER = struct.Struct("<II")  # CRC32, ISIZE


def _checked(view: memoryview, pos: int, size: int, offset: int) -> bytes:
    """The data of the whole block at ``view[pos : pos + size]`` after checking its CRC32 and
    ISIZE; ``offset`` (its place in the file) names it in errors."""
    xlen = view[pos + 10] | view[pos + 11] << 8
    crc, isize = _TRAILER.unpack_from(view, pos + size - 8)
    try:
        out = _inflate(view[pos + 12 + xlen : pos + size - 8], isize)
    except _INFLATE_ERRORS as exc:
        raise BgzfError(f"corrupt BGZF block at byte {offset} (does not inflate: {exc})") from None
    if len(out) != isize or crc32(out) != crc:
        raise BgzfError(f"corrupt BGZF block at byte {offset} (CRC32 or size mismatch)")
    return out


def inflate(block: bytes | memoryview, offset: int = 0) -> bytes:
    """The uncompressed data of one whole block, after checking its CRC32 and ISIZE."""
    view = memoryview(block)
    return _checked(view, 0, len(view), offset)


def split(data: bytes | memoryview, base: int = 0) -> list[tuple[int, int]]:
    """(offset, size) of every block of ``data``, which must be whole blocks; no inflating."""
    view, pos, found = memoryview(data), 0, []
    while pos < len(view):
        size = block_size(view, pos)
        if size is None or pos + size > len(view):
            raise BgzfError(f"truncated BGZF block at byte {base + pos}")
        found.append((pos, size))
        pos += size
    return found


def check(data: bytes | memoryview, expected_ulen: int | None = None, base: int = 0) -> int:
    """Check that ``data`` is whole BGZF blocks with good CRC32 and sizes; their uncompressed length."""
    view, total = memoryview(data), 0
    for pos, size in split(view, base):
        total += len(inflate(view[pos : pos + size], base + pos))
    if expected_ulen is not None and total != expected_ulen:
        raise BgzfError(f"blocks hold {total} bytes, the .gzi says {expected_ulen}")
    return total


def decompress(data: bytes | memoryview, base: int = 0) -> bytes:
    """The checked uncompressed content of whole blocks."""
    view = memoryview(data)
    return b"".join(inflate(view[pos : pos + size], base + pos) for pos, size in split(view, base))


def scan_file(path: Path) -> list[tuple[int, int, int]]:
    """(compressed offset, uncompressed offset, uncompressed size) of every block of a file, from
    headers and trailers only; :class:`BgzfError` when it is not a chain of BGZF blocks."""
    blocks = []
    size = path.stat().st_size
    compressed = uncompressed = 0
    with open(path, "rb") as handle:
        while compressed < size:
            handle.seek(compressed)
            header = handle.read(HEADER)
            try:
                length = block_size(header, 0)
            except BgzfError:
                length = None
            if length is None:
                raise BgzfError(f"{path.name}: not a BGZF block at byte {compressed}")
            if compressed + length > size:
                raise BgzfError(f"{path.name}: BGZF block at byte {compressed} is truncated")
            handle.seek(compressed + length - 4)
            (isize,) = struct.unpack("<I", handle.read(4))
            blocks.append((compressed, uncompressed, isize))
            compressed += length
            uncompressed += isize
    return blocks


# --- .gzi: sorted (compressed, uncompressed) offsets of block starts --------------------------


def parse_gzi(data: bytes, name: str = ".gzi") -> list[tuple[int, int]]:
    """(compressed, uncompressed) offsets of every block start after the first, as htslib writes them."""
    if len(data) < 8:
        raise BgzfError(f"{name}: truncated .gzi")
    (count,) = struct.unpack_from("<Q", data)
    if len(data) != 8 + 16 * count:
        raise BgzfError(f"{name}: .gzi says {count} blocks but holds {(len(data) - 8) / 16:g}")
    flat = struct.unpack_from(f"<{2 * count}Q", data, 8)
    return list(zip(flat[0::2], flat[1::2], strict=True))


def gzi_bytes(blocks: Iterable[tuple[int, int, int]]) -> bytes:
    """The ``.gzi`` samtools writes for a file with these blocks: every data block after the first."""
    points = [(c, u) for c, u, n in list(blocks)[1:] if n]
    return struct.pack("<Q", len(points)) + b"".join(struct.pack("<QQ", c, u) for c, u in points)


def locate(gzi: list[tuple[int, int]], uoffset: int) -> tuple[int, int]:
    """(compressed start, uncompressed start) of the block holding uncompressed byte ``uoffset``."""
    starts = [(0, 0), *gzi]
    k = bisect.bisect_right([u for _, u in starts], uoffset) - 1
    return starts[max(k, 0)]


# --- threads: every core inflates while the network delivers ---------------------------------

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def pool() -> ThreadPoolExecutor:
    """One process-wide pool sized to the cores (libdeflate, zlib and hashlib release the GIL)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max(2, os.cpu_count() or 2), thread_name_prefix="bgzf")
        return _POOL


_HEAD = struct.Struct("<4s6xH2sHH")  # magic, XLEN, first subfield's id and length, BSIZE
_ISIZE = struct.Struct("<I")


def _check_chunk(data: bytes, spans: list[tuple[int, int]], base: int, keep: bool) -> bytes | None:
    """Check the whole blocks ``spans`` ((position, size) in ``data``, which starts at compressed
    offset ``base``); their data joined when ``keep``. One pool task per piece of a chunk fed:
    no per-block copies or futures."""
    view = memoryview(data)
    if not keep:
        for pos, size in spans:
            _checked(view, pos, size, base + pos)
        return None
    return b"".join([_checked(view, pos, size, base + pos) for pos, size in spans])


class StreamChecker:
    """Checks BGZF bytes as they arrive: structure, every block's CRC32 and size, the EOF block.

    ``feed`` parses headers in the caller's thread and hands the chunk's whole blocks to the
    pool (the chunk itself and a list of spans, in tasks of about :attr:`TASK` bytes);
    ``finish`` returns the block table (compressed offset, uncompressed offset, size), from
    which the ``.gzi`` is written or checked without reading the file back.
    """

    TASK = 1 << 20  # compressed bytes per pool task (a 4 MiB chunk keeps both cores busy)
    PENDING = 8  # tasks in flight before feed waits (bounds memory)

    def __init__(
        self,
        first_block: Callable[[bytes], None] | None = None,
        text: Callable[[bytes], None] | None = None,
    ) -> None:
        self.first_block = first_block  # sees the first block's data (is it FASTA?)
        self.text = text  # sees all uncompressed data in order, until stop_text()
        self.reset()

    def stop_text(self) -> None:
        """No more uncompressed data to ``text`` (it is not needed after all)."""
        self.text = None

    def reset(self) -> None:
        self.tail = bytearray()  # the start of a block whose end has not arrived yet
        self.offset = 0  # compressed offset of tail[0]
        self.uoffset = 0
        self.blocks: list[tuple[int, int, int]] = []
        self.pending: deque[Future] = deque()
        self.eof = False  # the last whole block seen is the EOF block

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        if not isinstance(data, bytes):
            data = bytes(data)  # the pool reads it later: never a buffer the caller reuses
        base = self.offset + len(self.tail)  # compressed offset of data[0]
        start = 0
        if self.tail:  # the block the last chunk cut: completed from this one's start
            if len(self.tail) + len(data) < self._need():
                self.tail += data  # still short of its end: no parsing, no copy of the tail
                return
            joined = bytes(self.tail) + data[: 1 << 17]  # a block and its header are < 64 KiB + 12
            used = self._parse(joined, 0, self.offset, limit=1)
            if not used:  # still not whole: this chunk was short
                self.tail += data
                return
            start = used - len(self.tail)
        used = self._parse(data, start, base)
        self.tail = bytearray(data[used:])
        self.offset = base + used

    def _need(self) -> int:
        """The size of the block ``tail`` starts, when its (usual) header is all there; else 0."""
        if len(self.tail) < HEADER:
            return 0
        magic, xlen, sub, slen, bsize = _HEAD.unpack_from(self.tail, 0)
        return bsize + 1 if magic == MAGIC and xlen == 6 and sub == b"BC" and slen == 2 else 0

    def _parse(self, data: bytes, pos: int, base: int, limit: int = 0) -> int:
        """Record and submit the whole blocks of ``data`` from ``pos`` (at most ``limit``);
        where the first incomplete block starts."""
        spans, end, task = [], len(data), pos
        unpack, isize_of, blocks, uoffset = _HEAD.unpack_from, _ISIZE.unpack_from, self.blocks, self.uoffset
        try:
            while end - pos >= HEADER:
                magic, xlen, sub, slen, bsize = unpack(data, pos)
                if magic == MAGIC and xlen == 6 and sub == b"BC" and slen == 2 and bsize >= 25:
                    size = bsize + 1  # the header bgzip and htslib write
                else:
                    size = block_size(data, pos)  # other extra fields, or not BGZF (raises)
                    if size is None:
                        break
                if pos + size > end:
                    break
                (isize,) = isize_of(data, pos + size - 4)
                if not blocks and self.first_block is not None:
                    self.first_block(_checked(memoryview(data), pos, size, base + pos))
                blocks.append((base + pos, uoffset, isize))
                uoffset += isize
                self.eof = size == len(EOF) and data[pos : pos + size] == EOF
                spans.append((pos, size))
                pos += size
                if pos - task >= self.TASK:
                    self._submit(data, spans, base)
                    spans, task = [], pos
                if limit and len(spans) >= limit:
                    break
        except BgzfError as exc:
            raise BgzfError(str(exc).replace(f"byte {pos}", f"byte {base + pos}")) from None
        finally:
            self.uoffset = uoffset
        if spans:
            self._submit(data, spans, base)
        return pos

    def _submit(self, data: bytes, spans: list[tuple[int, int]], base: int) -> None:
        self.pending.append(pool().submit(_check_chunk, data, spans, base, self.text is not None))
        while len(self.pending) > self.PENDING:
            self._done(self.pending.popleft())

    def _done(self, future: Future) -> None:
        text, sink = future.result(), self.text
        if text is not None and sink is not None:
            sink(text)

    def finish(self) -> list[tuple[int, int, int]]:
        """Wait for every check; the block table. :class:`BgzfError` for any problem."""
        while self.pending:
            self._done(self.pending.popleft())
        if self.tail:
            raise BgzfError(f"truncated BGZF block at byte {self.offset}")
        if not self.eof:
            raise BgzfError("BGZF end-of-file marker missing (truncated?)")
        return self.blocks


def _compress_block(data: bytes, level: int) -> bytes:
    raw = _compress(data, level)
    header = MAGIC + b"\0\0\0\0\0\xff\x06\0BC\x02\0" + struct.pack("<H", len(raw) + 25)
    return header + raw + struct.pack("<II", crc32(data), len(data))


class Writer:
    """Writes BGZF as bgzip does (blocks of 65280 bytes, EOF block), compressing on every core.

    Keeps the block table (for the ``.gzi``) and the SHA-256 of what it wrote.
    """

    PENDING = 16

    def __init__(self, path: Path, level: int = 6) -> None:
        self.out = open(path, "wb")  # noqa: SIM115 - closed by close()
        self.level = level
        self.pending: deque[tuple[Future, int]] = deque()
        self.buffer = bytearray()
        self.blocks: list[tuple[int, int, int]] = []
        self.offset = self.uoffset = 0
        self.sha256 = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.buffer += data
        cut = len(self.buffer) - len(self.buffer) % MAX_DATA
        for start in range(0, cut, MAX_DATA):
            piece = bytes(self.buffer[start : start + MAX_DATA])
            self.pending.append((pool().submit(_compress_block, piece, self.level), len(piece)))
            while len(self.pending) > self.PENDING:
                self._drain_one()
        del self.buffer[:cut]

    def _drain_one(self) -> None:
        future, length = self.pending.popleft()
        self._put(future.result(), length)

    def _put(self, block: bytes, length: int) -> None:
        self.out.write(block)
        self.sha256.update(block)
        self.blocks.append((self.offset, self.uoffset, length))
        self.offset += len(block)
        self.uoffset += length

    def close(self) -> list[tuple[int, int, int]]:
        """Flush, write the EOF block, fsync; the block table."""
        if self.buffer:
            piece = bytes(self.buffer)
            self.pending.append((pool().submit(_compress_block, piece, self.level), len(piece)))
            self.buffer = bytearray()
        while self.pending:
            self._drain_one()
        self._put(EOF, 0)
        self.out.flush()
        os.fsync(self.out.fileno())
        self.out.close()
        return self.blocks

    def abort(self) -> None:
        self.out.close()


class Reader:
    """Random reads of uncompressed bytes of a BGZF file through its ``.gzi``; every block read
    is CRC-checked (a damaged block raises :class:`BgzfError`, never returns other bytes)."""

    def __init__(self, path: Path, gzi: list[tuple[int, int]]) -> None:
        self.path = path
        self.handle = open(path, "rb")  # noqa: SIM115 - closed by close()
        self.size = path.stat().st_size
        self.starts = [(0, 0), *gzi]
        self.ustarts = [u for _, u in self.starts]
        self.recent: dict[int, tuple[int, bytes]] = {}

    def _block(self, offset: int) -> tuple[int, bytes]:
        """(size, data) of the block at compressed ``offset``."""
        if offset in self.recent:
            return self.recent[offset]
        self.handle.seek(offset)
        head = self.handle.read(HEADER)
        size = block_size(head, 0) if len(head) >= 12 else None
        if size is None or offset + size > self.size:
            raise BgzfError(f"{self.path.name}: truncated BGZF block at byte {offset}")
        self.handle.seek(offset)
        found = (size, inflate(self.handle.read(size), offset))
        if len(self.recent) > 8:
            self.recent.clear()
        self.recent[offset] = found
        return found

    def read(self, offset: int, length: int) -> bytes:
        """``length`` uncompressed bytes from ``offset`` (fewer at the end of the file)."""
        k = max(bisect.bisect_right(self.ustarts, offset) - 1, 0)
        compressed, skip = self.starts[k][0], offset - self.starts[k][1]
        out = bytearray()
        while len(out) < length and compressed < self.size:
            size, data = self._block(compressed)
            if skip >= len(data):
                skip -= len(data)
            else:
                out += data[skip : skip + length - len(out)]
                skip = 0
            compressed += size
        return bytes(out)

    def close(self) -> None:
        self.handle.close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FaiBuilder:
    """Builds the ``.fai`` of a FASTA from its text as it streams by, as ``samtools faidx``
    writes it, with C-speed scans over each piece in place (``find``, ``count``, a strided
    slice; no copies of the text) instead of a loop per line.

    Only the regular layout is handled (``\\n`` line ends, every line of a sequence but its last
    of one length, no blank lines, a newline at the end); anything else sets ``irregular`` and
    the caller builds the index the slow way.
    """

    def __init__(self) -> None:
        self.offset = 0  # uncompressed offset of the next piece
        self.records: list[tuple[str, int, int, int, int]] = []
        self.header: list[bytes] | None = None  # the header line being read, when in one
        self.name = ""
        self.start = self.rlen = self.lenc = self.line = 0  # line: bytes of the unfinished line
        self.short = False  # the current sequence's short (last) line has been seen
        self.irregular = False

    def feed(self, text: bytes) -> None:
        i, end = 0, len(text)
        while i < end and not self.irregular:
            if self.header is not None:
                j = text.find(b"\n", i)
                self.header.append(text[i : j if j >= 0 else end])
                if j < 0:
                    break
                self._open(self.offset + j + 1)
                i = j + 1
            elif self.line == 0 and text[i] == 0x3E:  # '>' at a line start: a header
                self._close()
                self.header = []
                i += 1
            elif not self.name:
                self.irregular = True  # text before the first header
            else:  # sequence up to the next header ('>' is found by memchr, unlike '\n>')
                h = text.find(b">", i)
                if h >= 0 and (h == i or text[h - 1] != 0x0A):
                    self.irregular = True  # '>' inside a line
                    break
                stop = h if h >= 0 else end
                self._sequence(text, i, stop)
                i = stop
        self.offset += end

    def _open(self, start: int) -> None:
        line = b"".join(self.header or [])
        self.header = None
        name = line.split(None, 1)
        if not name or b"\r" in line:
            self.irregular = True
            return
        self.name, self.start = name[0].decode("latin-1"), start
        self.rlen = self.lenc = self.line = 0
        self.short = False

    def _sequence(self, text: bytes, s: int, e: int) -> None:
        """Sequence bytes ``text[s:e]`` (no header among them), at ``self.line`` bytes into a line."""
        if self.short or text.find(b"\r", s, e) >= 0:
            self.irregular = True  # lines after a short one, CR
            return
        if not self.lenc:  # the first line sets the width
            j = text.find(b"\n", s, e)
            if j < 0:
                self.line += e - s
                return
            self.lenc = self.line + j - s
            if self.lenc == 0:
                self.irregular = True  # a blank line
                return
            self.rlen += self.lenc
            self.line, s = 0, j + 1
            if s == e:
                return
        lenc, lenb, p = self.lenc, self.lenc + 1, self.line
        span = e - s + p  # bytes from the unfinished line's start to e
        full, tail = divmod(span, lenb)
        first = s - p + lenc  # where the unfinished line's newline belongs (>= s)
        if full and text[first : s - p + full * lenb : lenb] != b"\n" * full:
            self.irregular = True
            return
        lines = text.count(b"\n", s, e)
        if lines == full:  # the tail (if any) is the start of a line still arriving
            self.line = tail
        elif tail > 1 and lines == full + 1 and text[e - 1] == 0x0A:  # a short last line
            self.short, self.line = True, 0
            self.rlen += tail - 1
        else:
            self.irregular = True  # a blank line, lines of other lengths
            return
        self.rlen += full * lenc

    def _close(self) -> None:
        if self.name:
            if self.rlen == 0 or self.line:
                self.irregular = True  # samtools' way with empty sequences is not worth copying
            self.records.append((self.name, self.rlen, self.start, self.lenc, self.lenc + 1))
            self.name = ""

    def finish(self) -> bytes | None:
        """The ``.fai``; None when the layout was not regular (or names repeat)."""
        if self.header is not None or self.line:
            self.irregular = True  # no newline at the end
        self._close()
        names = [r[0] for r in self.records]
        if self.irregular or not self.records or len(set(names)) != len(names):
            return None
        return "".join(f"{n}\t{rl}\t{o}\t{c}\t{b}\n" for n, rl, o, c, b in self.records).encode()
