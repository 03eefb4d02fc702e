"""Cold-cache range access: read a remote BGZF genome by fetching only the blocks a request needs.

On a cache miss, instead of downloading the whole genome, :func:`prepare` fetches the
source's ``.fai`` and ``.gzi``, checks the file's size and probes range support with
one exact ranged GET of the 28-byte BGZF end-of-file block (which also proves the file
is complete BGZF). :func:`open_genome` then serves pyfaidx's BGZF reader from a
block store: blocks already in the cache are read from disk, missing ones are fetched
with exact ``bytes=a-b`` ranges (adjacent missing blocks in one request) through
fsspec's HTTP or S3 file system, verified (BGZF structure, CRC32 and sizes against the
``.gzi``) and kept for later requests. Whenever ranges cannot be used (no ``.fai`` or
``.gzi``, not BGZF, the server answers a Range request with the whole file, a checksum
is required) it falls back to :meth:`GenomeCache.ensure`, the full download.

Layout under the cache root (beside ``genomes/``)::

    ranges/<entry>/                      one prepared range entry, published by rename
        <basename>.fai  <basename>.gzi   the source's indexes
        entry.json                       display URL (never the secret one), size, ETag
        blocks/<c >> 26>/<c>             bytes [c, next block start) of the remote file
    ranges/.partial-<entry>-<id>/        an entry being prepared (never read)
    locks/<entry>.ranges.lock            exclusive while preparing, shared while read

A block file is written under a temporary name in its own directory and renamed into
place, so readers see a whole block or none; two processes fetching the same block
write identical bytes, so that race is harmless. No metadata file is shared between
writers (fsspec's ``blockcache``/``filecache`` keep one that is not multi-process
safe). A block read from disk is verified again; a damaged one is fetched anew. On a
read-only cache blocks are kept in memory for the process instead.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import json
import logging
import os
import re
import shutil
import struct
import time
import uuid
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from . import fastaformat, sources
from .cache import (
    DIR_MODE,
    ENTRY_FILE,
    FILE_MODE,
    GenomeCache,
    Resolved,
    check_entry_name,
    resolve_for_reading,
)
from .errors import GenomeCacheError, IntegrityError, SourceError
from .locations import Location, parse_location, redact
from .requests import Region
from .retrieval import Genome

log = logging.getLogger(__name__)

BGZF_EOF = fastaformat.BGZF_EOF
BGZF_MAGIC = b"\x1f\x8b\x08\x04"
SHARD_BITS = 26  # blocks/<offset >> 26>/: a few hundred to a thousand block files per directory
MAX_REQUEST = 16 << 20  # split a run of missing blocks into requests of at most this many bytes
MEMORY_SPANS = 64  # blocks kept in memory per open genome (all of them on a read-only cache)
_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")  # as locations.safe_basename makes them
STALE = "stale"  # marks an entry whose remote file changed; the next prepare replaces it


# --- secrets stay out of logs ----------------------------------------------------------------


class _RedactUrls(logging.Filter):
    """fsspec logs request URLs at DEBUG; a presigned URL's query must not reach a log."""

    _URL = re.compile(r"\b(?:https?|s3)://[^\s'\"<>]+")

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is not ours to fix
            return True
        redacted = self._URL.sub(lambda m: redact(m.group(0)), message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


_REDACT = _RedactUrls()
for _name in ("fsspec", "fsspec.http", "fsspec.caching", "s3fs", "aiohttp.client"):
    logging.getLogger(_name).addFilter(_REDACT)


# --- errors --------------------------------------------------------------------------------


class RangesUnsupported(Exception):
    """The server answered a Range request with the whole file."""


class RemoteChanged(IntegrityError):
    """The remote file is no longer the one the range entry was prepared from."""


class _Transient(Exception):
    """A failure worth retrying (network, short or corrupt body)."""


class _Corrupt(_Transient):
    """Fetched bytes are not the blocks the ``.gzi`` describes (a flipped bit, or a changed file)."""


class _NoRange(Exception):
    """Why a source cannot be read by range; the caller downloads it whole."""


def _retrying(policy: sources.RetryPolicy, display: str, call: Callable[[], bytes]) -> bytes:
    for attempt in range(1, policy.attempts + 1):
        try:
            return call()
        except _Transient as exc:
            if attempt == policy.attempts and isinstance(exc, _Corrupt):
                raise RemoteChanged(
                    f"{display}: {exc} in {attempt} attempts; the file changed since it was "
                    "prepared for range access?"
                ) from None
            if attempt == policy.attempts:
                raise SourceError(f"{display}: {exc} (gave up after {attempt} attempts)") from None
            wait = policy.delay(attempt)
            log.warning("%s: %s; retry %d/%d in %.1fs", display, exc, attempt, policy.attempts - 1, wait)
            time.sleep(wait)
    raise AssertionError("unreachable")


# --- BGZF blocks -----------------------------------------------------------------------------


def check_bgzf(data: bytes, expected_ulen: int | None = None) -> None:
    """Raise ValueError unless ``data`` is whole BGZF blocks with matching CRC32 and sizes."""
    pos = total = 0
    while pos < len(data):
        if len(data) - pos < len(BGZF_EOF) or data[pos : pos + 4] != BGZF_MAGIC:
            raise ValueError(f"no BGZF block header at +{pos}")
        (xlen,) = struct.unpack_from("<H", data, pos + 10)
        bsize, x = None, pos + 12
        while x + 4 <= pos + 12 + xlen:
            sub, slen = data[x : x + 2], struct.unpack_from("<H", data, x + 2)[0]
            if sub == b"BC" and slen == 2:
                bsize = struct.unpack_from("<H", data, x + 4)[0] + 1
            x += 4 + slen
        if bsize is None or bsize < 12 + xlen + 8 or pos + bsize > len(data):
            raise ValueError(f"bad BGZF block size at +{pos}")
        crc, isize = struct.unpack_from("<II", data, pos + bsize - 8)
        try:
            out = zlib.decompress(data[pos + 12 + xlen : pos + bsize - 8], -15)
        except zlib.error as exc:
            raise ValueError(f"BGZF block at +{pos} does not inflate ({exc})") from None
        if len(out) != isize or zlib.crc32(out) != crc:
            raise ValueError(f"BGZF block at +{pos} fails its CRC32 or size check")
        total += isize
        pos += bsize
    if expected_ulen is not None and total != expected_ulen:
        raise ValueError(f"blocks hold {total} bytes, the .gzi says {expected_ulen}")


def parse_fai(data: bytes) -> list[tuple[str, int, int, int, int]]:
    """(name, length, offset, bases per line, bytes per line) per sequence."""
    records = []
    for number, line in enumerate(data.decode("ascii").splitlines(), 1):
        fields = line.split("\t")
        if len(fields) < 5:
            raise ValueError(f".fai line {number} has {len(fields)} fields")
        rlen, offset, lenc, lenb = (int(f) for f in fields[1:5])
        if rlen < 0 or offset < 0 or lenc < 1 or lenb < lenc:
            raise ValueError(f".fai line {number} is malformed")
        records.append((fields[0], rlen, offset, lenc, lenb))
    if not records:
        raise ValueError(".fai lists no sequences")
    return records


class BlockIndex:
    """The remote file cut into spans at every ``.gzi`` offset and at the EOF block.

    Span ``i`` is the compressed bytes ``[bounds[i], bounds[i + 1])``: one BGZF block
    when the ``.gzi`` lists every block (htslib's does), the EOF block the last span.
    """

    def __init__(self, gzi: list[tuple[int, int]], size: int) -> None:
        self.size = size
        self.eof_start = size - len(BGZF_EOF)
        points = [(0, 0), *gzi]
        cs = [c for c, _ in points]
        us = [u for _, u in points]
        if any(b <= a for a, b in zip(cs, cs[1:], strict=False)) or any(
            b < a for a, b in zip(us, us[1:], strict=False)
        ):
            raise ValueError(".gzi offsets are not in order")
        if cs[-1] > self.eof_start:
            raise ValueError(".gzi offsets lie beyond the end of the file")
        self.cstarts, self.ustarts = cs, us
        self.bounds = sorted({*cs, self.eof_start}) + [size]
        self._span = {c: i for i, c in enumerate(self.bounds)}
        # every span but the last data one lies between two .gzi points, so its length is known
        self._ulen = {c: u2 - u1 for (c, u1), (_, u2) in zip(points, points[1:], strict=False)}
        self._ulen[self.eof_start] = 0

    def __len__(self) -> int:
        return len(self.bounds) - 1

    def extent(self, i: int) -> tuple[int, int]:
        return self.bounds[i], self.bounds[i + 1]

    def expected_ulen(self, i: int) -> int | None:
        """Uncompressed length of span ``i`` when the ``.gzi`` says it (not for the last data span)."""
        return self._ulen.get(self.bounds[i])

    def span_at(self, offset: int) -> int:
        """The span holding compressed byte ``offset``."""
        return min(bisect.bisect_right(self.bounds, offset) - 1, len(self) - 1)

    def span_of_uoffset(self, uoffset: int) -> int:
        """The span holding uncompressed byte ``uoffset``."""
        k = max(bisect.bisect_right(self.ustarts, uoffset) - 1, 0)
        return self._span[self.cstarts[k]]


def needed_spans(index: BlockIndex, record, start: int, end: int) -> range:  # type: ignore[no-untyped-def]
    """Spans pyfaidx reads for bases ``start..end`` (1-based) of a sequence with ``.fai`` ``record``.

    The byte range is widened by a line end on each side: pyfaidx may start at the newline
    before the first base and read the one after the last, and when its first byte opens a
    block it loads the block before (with nothing to take from it).
    """
    newline = record.lenb - record.lenc

    def at(p0: int) -> int:
        return record.offset + (p0 // record.lenc) * record.lenb + p0 % record.lenc

    first = max(record.offset, at(start - 1) - newline - 1)
    last = at(end - 1) + newline
    return range(index.span_of_uoffset(first), index.span_of_uoffset(last) + 1)


# --- the remote file -------------------------------------------------------------------------


def _strong(etag: str | None) -> str | None:
    return etag if etag and not etag.startswith("W/") else None


class Remote:
    """Exact byte ranges of the remote genome through fsspec (HTTP) or s3fs (S3).

    The fsspec file is opened on the first read only, so a retrieval served wholly from
    the cache makes no request at all.
    """

    def __init__(self, location: Location, size: int, etag: str | None, policy: sources.RetryPolicy) -> None:
        self.location, self.size, self.etag, self.policy = location, size, etag, policy
        self._file = None
        self.requests = 0
        self.bytes = 0

    def _open(self):  # type: ignore[no-untyped-def]
        timeout = self.policy.timeout
        if self.location.scheme in ("http", "https"):
            import aiohttp
            import fsspec

            fs = fsspec.filesystem(
                "http",
                encoded=True,  # send the URL as given: re-quoting would break presigned signatures
                client_kwargs={"timeout": aiohttp.ClientTimeout(sock_connect=timeout, sock_read=timeout)},
            )
            headers = {"Accept-Encoding": "identity"}
            if _strong(self.etag):
                headers["If-Match"] = self.etag  # a changed file answers 412, not other bytes
            return fs.open(
                self.location.url,
                "rb",
                size=self.size,
                cache_type="none",
                block_size=1 << 20,
                headers=headers,
            )
        if self.location.scheme == "s3":
            import boto3
            import s3fs

            parts = urlsplit(self.location.url)
            path = f"{parts.hostname}{parts.path}"
            anonymous = (
                boto3.session.Session().get_credentials() is None
                or os.environ.get("GENOMECACHE_S3_ANONYMOUS") == "1"
            )
            fs = s3fs.S3FileSystem(
                anon=anonymous,
                skip_instance_cache=True,
                local_expiry_check=bool(self.etag),
                config_kwargs={
                    "connect_timeout": timeout,
                    "read_timeout": timeout,
                    "retries": {"max_attempts": 1},
                },
            )
            fs.retries = 1  # the retry policy here decides
            handle = fs.open(path, "rb", size=self.size, cache_type="none", block_size=5 << 20)
            if self.etag:  # the ETag seen when prepared: a changed object raises FileExpired
                handle.details = {"name": path, "size": self.size, "type": "file", "ETag": self.etag}
            return handle
        raise ValueError(f"range access does not support {self.location.scheme}://")

    def read(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)``, asked for as ``Range: bytes=start-(end-1)``."""
        display = self.location.display
        try:
            if self._file is None:
                self._file = self._open()
            self.requests += 1
            self._file.seek(start)
            data = self._file.read(end - start)
        except ValueError:  # fsspec's HTTPFile: a 200 answer to a Range request
            raise RangesUnsupported(f"{display}: the server ignores Range requests") from None
        except FileNotFoundError:
            raise SourceError(f"{display}: not found") from None
        except PermissionError:
            raise SourceError(f"{display}: access denied") from None
        except Exception as exc:  # aiohttp, botocore, timeouts; their messages may carry the URL
            if type(exc).__name__ == "FileExpired":  # s3fs: the ETag differs from the prepared one
                raise RemoteChanged(f"{display}: changed since its range entry was prepared") from None
            status = getattr(exc, "status", None)
            if isinstance(status, int):
                if status in (412, 416):
                    raise RemoteChanged(f"{display}: changed since its range entry was prepared") from None
                if status in (404, 410):
                    raise SourceError(f"{display}: not found (HTTP {status})") from None
                if status >= 500 or status == 429:
                    raise _Transient(f"HTTP {status}") from None
                raise SourceError(f"{display}: HTTP {status}") from None
            raise _Transient(type(exc).__name__) from None
        self.bytes += len(data)
        if len(data) != end - start:
            raise _Transient(f"short body: {len(data)} of {end - start} bytes")
        return data

    def close(self) -> None:
        if self._file is not None:
            with contextlib.suppress(Exception):
                self._file.close()
            self._file = None


# --- the block store ---------------------------------------------------------------------------


class BlockStore:
    """Verified spans of the remote file: memory, then the shared directory, then the network."""

    def __init__(
        self,
        directory: Path | None,
        index: BlockIndex,
        remote: Remote,
        policy: sources.RetryPolicy,
        inside: Callable[[Path], Path] = lambda p: p,
    ) -> None:
        self.directory, self.index, self.remote, self.policy = directory, index, remote, policy
        self.inside = inside
        self.writable = directory is not None
        self.memory: OrderedDict[int, bytes] = OrderedDict()
        self.present: set[int] = set()
        self.local = None  # the whole file, after a fallback to the full download
        self.fallback: Callable[[], Path] | None = None  # the full download, when ranges stop working
        self.on_changed: Callable[[], None] | None = None  # the remote file is not the prepared one
        self.from_disk = 0
        self._checked_dirs: set[Path] = set()

    def _path(self, i: int) -> Path | None:
        if self.directory is None:
            return None
        lo = self.index.bounds[i]
        folder = self.directory / str(lo >> SHARD_BITS)
        if folder not in self._checked_dirs and os.path.lexists(folder):
            self.inside(folder)  # a planted symlink must not lead reads or writes out of the cache
            self._checked_dirs.add(folder)
        return folder / str(lo)

    def _remember(self, i: int, data: bytes) -> None:
        self.memory[i] = data
        self.memory.move_to_end(i)
        self.present.add(i)
        while self.writable and len(self.memory) > MEMORY_SPANS:
            self.memory.popitem(last=False)

    def _on_disk(self, i: int) -> bool:
        path = self._path(i)
        lo, hi = self.index.extent(i)
        try:
            return path is not None and path.stat().st_size == hi - lo
        except OSError:
            return False

    def _from_disk(self, i: int) -> bytes | None:
        path = self._path(i)
        if path is None:
            return None
        lo, hi = self.index.extent(i)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None
        with open(fd, "rb") as handle:
            data = handle.read(hi - lo + 1)
        try:
            if len(data) != hi - lo:
                raise ValueError(f"{len(data)} bytes, expected {hi - lo}")
            check_bgzf(data, self.index.expected_ulen(i))
        except ValueError as exc:
            log.warning(
                "%s: cached block at %d is damaged (%s); fetching it again",
                self.remote.location.display,
                lo,
                exc,
            )
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        self.from_disk += 1
        return data

    def _save(self, i: int, data: bytes) -> None:
        path = self._path(i)
        if path is None or not self.writable:
            return
        folder = path.parent
        tmp = folder / f".{path.name}.{uuid.uuid4().hex[:12]}.tmp"
        try:
            if folder not in self._checked_dirs:
                if os.path.lexists(self.directory):
                    self.inside(self.directory)
                folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
                self.inside(folder)
                self._checked_dirs.add(folder)
            with open(tmp, "xb") as out:
                out.write(data)
            os.chmod(tmp, FILE_MODE)
            os.replace(tmp, path)  # whole or absent; a racing writer's copy is the same bytes
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            log.info(
                "%s: cannot keep blocks in the cache (%s); keeping them in memory",
                self.remote.location.display,
                exc.strerror or exc,
            )
            self.writable = False

    def ensure(self, spans: Iterable[int]) -> None:
        """Make ``spans`` available, fetching the missing ones in as few exact requests as possible."""
        if self.local is not None:
            return
        missing = [i for i in sorted(set(spans)) if i not in self.present and not self._on_disk(i)]
        run: list[int] = []
        for i in missing:
            lo, hi = self.index.extent(i)
            if run and (run[-1] != i - 1 or hi - self.index.bounds[run[0]] > MAX_REQUEST):
                self._fetch(run[0], run[-1])
                run = []
            run.append(i)
        if run:
            self._fetch(run[0], run[-1])

    def span(self, i: int) -> bytes:
        lo, hi = self.index.extent(i)
        if self.local is not None:
            self.local.seek(lo)
            return self.local.read(hi - lo)
        data = self.memory.get(i)
        if data is not None:
            self.memory.move_to_end(i)
            return data
        data = self._from_disk(i)
        if data is None:
            self._fetch(i, i)
            return self.span(i)  # from memory, or from the whole file after a fallback
        self._remember(i, data)
        return data

    def _fetch(self, first: int, last: int) -> None:
        if self.local is not None:
            return
        lo, hi = self.index.bounds[first], self.index.bounds[last + 1]

        def attempt() -> bytes:
            data = self.remote.read(lo, hi)
            for i in range(first, last + 1):
                a, b = self.index.extent(i)
                try:
                    check_bgzf(data[a - lo : b - lo], self.index.expected_ulen(i))
                except ValueError as exc:
                    raise _Corrupt(f"block at {a} failed verification ({exc})") from None
            return data

        try:
            data = _retrying(self.policy, self.remote.location.display, attempt)
        except RemoteChanged:
            if self.on_changed is not None:
                self.on_changed()
            raise
        except RangesUnsupported:
            if self.fallback is None:
                raise
            log.warning(
                "%s: the server stopped honouring Range requests; downloading the whole file",
                self.remote.location.display,
            )
            self.local = open(self.fallback(), "rb")  # noqa: SIM115 - closed by close()
            return
        for i in range(first, last + 1):
            a, b = self.index.extent(i)
            piece = data[a - lo : b - lo]
            self._save(i, piece)
            self._remember(i, piece)

    def close(self) -> None:
        self.remote.close()
        if self.local is not None:
            self.local.close()
            self.local = None


class RangedFile:
    """A read-only, seekable file over a :class:`BlockStore`, for ``Bio.bgzf.BgzfReader``.

    It starts positioned at the EOF block: BgzfReader loads the block at ``tell()`` when
    it is created, and the EOF block is already in the cache (the range probe fetched it),
    whereas block 0 is usually not needed at all. pyfaidx seeks before every read.
    """

    def __init__(self, store: BlockStore) -> None:
        self.store = store
        self.pos = store.index.eof_start
        self.closed = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self.pos, os.SEEK_END: self.store.index.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self.pos = base + offset
        return self.pos

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        total = self.store.index.size
        if size is None or size < 0:
            size = total - self.pos
        pieces = []
        while size > 0 and self.pos < total:
            i = self.store.index.span_at(self.pos)
            lo, hi = self.store.index.extent(i)
            data = self.store.span(i)
            piece = data[self.pos - lo : min(hi, self.pos + size) - lo]
            if not piece:
                break
            pieces.append(piece)
            self.pos += len(piece)
            size -= len(piece)
        return b"".join(pieces)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.store.close()

    def __enter__(self) -> RangedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _OneFile:
    """Just enough of an fsspec file system for pyfaidx to open one :class:`RangedFile`.

    pyfaidx takes an ``fsspec.core.OpenFile`` for the FASTA and compares its ``mtime``
    with the index files': 0 makes the local ``.fai``/``.gzi`` current.
    """

    def __init__(self, handle: RangedFile, path: str) -> None:
        self.handle, self.path = handle, path

    def open(self, path: str, mode: str = "rb", **kwargs: object) -> RangedFile:
        if path != self.path or mode != "rb":
            raise FileNotFoundError(path)
        return self.handle

    def info(self, path: str, **kwargs: object) -> dict:
        return {"name": path, "size": self.handle.store.index.size, "type": "file", "mtime": 0.0}

    stat = info

    def exists(self, path: str, **kwargs: object) -> bool:
        return path == self.path


# --- cache entries -----------------------------------------------------------------------------


def _ranges_root(cache: GenomeCache) -> Path:
    return cache.ranges


def _lock_name(entry: str) -> str:
    return GenomeCache._lock_name(entry, "range")


def range_dir(cache: GenomeCache, entry: str) -> Path:
    path = _ranges_root(cache) / check_entry_name(entry)
    if path.is_symlink() or _ranges_root(cache).is_symlink():
        raise IntegrityError(f"range entry {entry} is a symlink; refusing to use it")
    return cache._inside(path) if path.exists() else path


def read_range_entry(cache: GenomeCache, entry: str) -> dict | None:
    """A published range entry's record, or None when there is none (or it is incomplete)."""
    folder = range_dir(cache, entry)
    try:
        record = json.loads((folder / ENTRY_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("entry") != entry or record.get("access") != "range":
        return None
    if os.path.lexists(folder / STALE):
        return None
    name = record.get("fasta")
    if not isinstance(name, str) or not _FILE_NAME.fullmatch(name) or not isinstance(record.get("size"), int):
        return None
    for suffix in (".fai", ".gzi"):
        file = folder / f"{name}{suffix}"
        if file.is_symlink() or not file.is_file():
            return None
    return record


def _full_entry_available(cache: GenomeCache, location: Location) -> bool:
    if cache._from_mirror(location):
        return True
    try:
        return cache.read_entry(location.entry_name) is not None
    except IntegrityError:
        return False  # ensure() replaces it


def _resolved(cache: GenomeCache, location: Location, record: dict, fetched: int, seconds: float) -> Resolved:
    fasta = _ranges_root(cache) / location.entry_name / record["fasta"]
    return Resolved(
        location.display, location.entry_name, str(fasta), "range", record["size"], fetched, seconds
    )


def prepare(cache: GenomeCache, url: str, known_hash: str | None = None) -> Resolved:
    """Make ``url`` readable by range, or fall back to the full download, and say which.

    Returns a :class:`Resolved` with source ``range`` (its ``fasta`` names the entry, not a
    file) or, from :meth:`GenomeCache.ensure`, ``mirror``/``cache``/``network``. A full copy
    already at hand (mirror, cache) is preferred; ``file://`` sources and ``known_hash``
    (a whole-file checksum cannot be checked from blocks) always take the full path.
    """
    location = parse_location(url)
    if location.scheme == "file" or known_hash or _full_entry_available(cache, location):
        return cache.ensure(url, known_hash)
    entry = location.entry_name
    record = read_range_entry(cache, entry)
    if record is None:
        started = time.monotonic()
        with cache._lock(_lock_name(entry), exclusive=True):
            record = read_range_entry(cache, entry)
            if record is None:
                try:
                    record, fetched = _stage(cache, location)
                except _NoRange as why:
                    log.info("%s: %s; downloading it whole", location.display, why)
                except OSError as exc:
                    raise GenomeCacheError(
                        f"{location.display}: cannot write the cache: {exc.strerror or exc}"
                    ) from None
                else:
                    return _resolved(cache, location, record, fetched, time.monotonic() - started)
        if record is None:
            return cache.ensure(url)
    cache._touch(_lock_name(entry))
    return _resolved(cache, location, record, 0, 0.0)


def _stage(cache: GenomeCache, location: Location) -> tuple[dict, int]:
    """Fetch the indexes, probe ranges and publish ``ranges/<entry>``; :class:`_NoRange` to fall back."""
    if location.scheme not in ("http", "https", "s3"):
        raise _NoRange(f"range access does not support {location.scheme}://")
    policy = cache.policy
    blobs = {s: sources.fetch_small(location.sibling(s), policy) for s in (".fai", ".gzi")}
    if not all(blobs.values()):
        raise _NoRange("the source has no .fai and .gzi beside it")
    try:
        gzi = fastaformat.parse_gzi(blobs[".gzi"] or b"")
        fai = parse_fai(blobs[".fai"] or b"")
    except (ValueError, UnicodeDecodeError, IntegrityError) as exc:
        raise _NoRange(f"its index is unusable ({exc})") from None
    info = sources.backend(location, policy).stat()
    if info.size is None or info.size <= len(BGZF_EOF):
        raise _NoRange("the source does not say its size")
    try:
        index = BlockIndex(gzi, info.size)
    except ValueError as exc:
        raise _NoRange(f"its .gzi does not fit the file ({exc})") from None
    # the last sequence ends in the last data block: a .fai of another file rarely does
    last_end = max(
        offset + rlen + (rlen + lenc - 1) // lenc * (lenb - lenc) for _, rlen, offset, lenc, lenb in fai
    )
    if not index.ustarts[-1] - (1 << 16) < last_end <= index.ustarts[-1] + (1 << 16):
        raise _NoRange("its .fai does not fit its .gzi")
    remote = Remote(location, info.size, info.etag, policy)
    try:
        eof = _retrying(policy, location.display, lambda: remote.read(index.eof_start, info.size))
    except RangesUnsupported:
        raise _NoRange("the server does not honour Range requests") from None
    finally:
        remote.close()
    if eof != BGZF_EOF:
        raise _NoRange("it is not a complete BGZF file (no end-of-file block)")

    root = _ranges_root(cache)
    root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    cache._inside(root)
    staging = root / f".partial-{location.entry_name}-{uuid.uuid4().hex[:8]}"
    staging.mkdir(mode=DIR_MODE)
    try:
        name = location.basename
        (staging / f"{name}.fai").write_bytes(blobs[".fai"] or b"")
        (staging / f"{name}.gzi").write_bytes(blobs[".gzi"] or b"")
        record = {
            "url": location.display,
            "entry": location.entry_name,
            "fasta": name,
            "access": "range",
            "size": info.size,
            "etag": info.etag,
            "blocks": len(index),
            "prepared_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        (staging / ENTRY_FILE).write_text(json.dumps(record, indent=1) + "\n")
        eof_file = staging / "blocks" / str(index.eof_start >> SHARD_BITS) / str(index.eof_start)
        eof_file.parent.mkdir(mode=DIR_MODE, parents=True)
        eof_file.write_bytes(eof)
        for file in (staging / f"{name}.fai", staging / f"{name}.gzi", staging / ENTRY_FILE, eof_file):
            os.chmod(file, FILE_MODE)
            fastaformat.fsync_path(file)
        fastaformat.fsync_path(staging)
        cache.discard(location.entry_name, "range")  # an incomplete leftover is not served
        os.rename(staging, root / location.entry_name)
        fastaformat.fsync_path(root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    fetched = len(blobs[".fai"] or b"") + len(blobs[".gzi"] or b"") + len(eof)
    log.info(
        "%s: prepared for range access as %s (%d bytes fetched)",
        location.display,
        location.entry_name,
        fetched,
    )
    return record, fetched


# --- open a genome -----------------------------------------------------------------------------


@dataclass
class CachedGenome(Genome):
    """A :class:`Genome` opened through the cache: by range, or the whole file under a read lock."""

    resolved: Resolved | None = None
    store: BlockStore | None = None
    index: BlockIndex | None = None
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def prefetch(self, seq_id: str, regions: Iterable[Region]) -> None:
        """Fetch the blocks of all ``regions`` at once (adjacent ones in one request); no-op when whole."""
        if self.store is None or self.index is None:
            return
        record = self.faidx.index.get(seq_id)
        if record is None:
            return  # region() reports it
        spans: set[int] = set()
        for region in regions:
            start, end = (
                max(1, min(region.start, region.end)),
                min(record.rlen, max(region.start, region.end)),
            )
            if start <= end:
                spans.update(needed_spans(self.index, record, start, end))
        self.store.ensure(spans)

    def region(self, seq_id: str, region: Region, request_id: str = "?", field: str = "regions") -> str:
        self.prefetch(seq_id, [region])
        return super().region(seq_id, region, request_id, field)

    @property
    def stats(self) -> dict:
        """What this genome moved: requests and bytes over the network, blocks read from the cache."""
        source = self.resolved.source if self.resolved else "?"
        if self.store is None:
            return {"source": source, "requests": 0, "bytes_fetched": 0, "blocks_from_cache": 0}
        return {
            "source": source,
            "requests": self.store.remote.requests,
            "bytes_fetched": self.store.remote.bytes,
            "blocks_from_cache": self.store.from_disk,
        }

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.stack.close()


def open_genome(cache: GenomeCache, url: str) -> CachedGenome:
    """Open ``url`` for region reads, fetching only the blocks read when the source allows it.

    ``file://`` sources are read in place (as :func:`resolve_for_reading` does), a copy in
    the mirror or the cache is read whole; otherwise :func:`prepare` decides between range
    access and the full download.
    """
    location = parse_location(url)
    if location.scheme == "file":
        return _open_whole(cache, Resolved(location.display, "", resolve_for_reading(url, cache), "file", 0))
    resolved = prepare(cache, url)
    if resolved.source != "range":
        return _open_whole(cache, resolved)
    stack = contextlib.ExitStack()
    try:
        stack.enter_context(cache._lock(_lock_name(location.entry_name), exclusive=False))
        record = read_range_entry(cache, location.entry_name)
        if record is None:
            raise IntegrityError(f"range entry {location.entry_name} was removed while opening it; rerun")
        return _open_ranged(cache, location, record, resolved, stack)
    except BaseException:
        stack.close()
        raise


def _open_whole(cache: GenomeCache, resolved: Resolved) -> CachedGenome:
    stack = contextlib.ExitStack()
    try:
        path = stack.enter_context(cache.reading(resolved.fasta))
        opened = Genome.open(path)
        return CachedGenome(opened.path, opened.faidx, resolved=resolved, stack=stack)
    except BaseException:
        stack.close()
        raise


def _open_ranged(
    cache: GenomeCache, location: Location, record: dict, resolved: Resolved, stack: contextlib.ExitStack
) -> CachedGenome:
    import fsspec.core
    from pyfaidx import Faidx

    folder = range_dir(cache, location.entry_name)
    name = record["fasta"]
    fai, gzi = folder / f"{name}.fai", folder / f"{name}.gzi"
    gzi_bytes = gzi.read_bytes()
    try:
        index = BlockIndex(fastaformat.parse_gzi(gzi_bytes), record["size"])
    except (ValueError, IntegrityError) as exc:
        raise IntegrityError(f"range entry {location.entry_name}: {exc}") from None
    remote = Remote(location, record["size"], record.get("etag"), cache.policy)
    store = BlockStore(folder / "blocks", index, remote, cache.policy, cache._inside)

    def whole_file() -> Path:
        full = cache.ensure(location.url)
        path = stack.enter_context(cache.reading(full.fasta))
        same_size = Path(path).stat().st_size == record["size"]
        if not same_size or fastaformat.read_gzi(Path(f"{path}.gzi")) != fastaformat.parse_gzi(gzi_bytes):
            raise RemoteChanged(
                f"{location.display}: the downloaded file is not the one the range entry describes"
            )
        return path

    def mark_stale() -> None:
        with contextlib.suppress(OSError):
            (folder / STALE).write_text("the remote file changed since this entry was prepared\n")
        log.warning(
            "%s: changed since it was prepared for range access; the next run prepares it again",
            location.display,
        )

    store.fallback = whole_file
    store.on_changed = mark_stale
    handle = RangedFile(store)
    # pyfaidx picks its BGZF reader by the name's suffix
    pyfaidx_name = name if name.lower().endswith((".gz", ".bgz")) else f"{name}.gz"
    try:
        faidx = Faidx(
            fsspec.core.OpenFile(_OneFile(handle, pyfaidx_name), pyfaidx_name, mode="rb"),
            indexname=str(fai),
            gzi_indexname=str(gzi),
            build_index=False,
            rebuild=False,
            as_raw=True,
            sequence_always_upper=False,
        )
    except (SourceError, IntegrityError):
        handle.close()
        raise
    except Exception as exc:
        handle.close()
        raise GenomeCacheError(
            f"range entry {location.entry_name}: cannot open ({type(exc).__name__})"
        ) from None
    cache._touch(_lock_name(location.entry_name))
    return CachedGenome(str(folder / name), faidx, resolved=resolved, store=store, index=index, stack=stack)
