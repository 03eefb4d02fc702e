"""Range mode's sparse block store and the FASTA reader on top of it.

- :class:`GziIndex`: the ``.gzi`` (sorted 16-byte records of block starts), held whole
  or read page by page (4 KiB, 256 records) with ranged GETs, found by interpolation
  then binary search; every page kept in the cache carries its sha256 in its name and
  is checked when read.
- :class:`BlockStore`: verified BGZF blocks of the remote file: memory, then the shared
  cache directory, then the network (exact ``bytes=a-b`` ranges, adjacent blocks in one
  request, runs fetched in parallel). Every block's CRC32 and size are checked when it
  arrives and again when read from disk.
- :class:`RangedFasta`: what retrieval needs of pyfaidx (``index``, ``fetch``), reading
  only the blocks that hold the requested bases.

Block files live in ``blocks/<offset >> 26>/<offset>`` (bytes ``[offset, next block)``),
written under a temporary name and renamed, so readers see a whole block or none; two
processes fetching one block write identical bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

from . import bgzf, transport
from .errors import IntegrityError, SourceError
from .locations import Location

log = logging.getLogger(__name__)

SHARD_BITS = 26  # blocks/<offset >> 26>/: a few hundred to a thousand block files per directory
MAX_REQUEST = 16 << 20  # a run of missing blocks is split into requests of at most this many bytes
# requests in flight per genome: a small ranged GET costs about one round trip (S3's first
# byte is tens of milliseconds), so a batch of regions takes about requests / PARALLEL of them
PARALLEL = 16
# uncompressed blocks kept in memory per open genome (all on a read-only cache): 2048 blocks
# (~128 MiB) hold a batch of a thousand regions, so no block fetched for it (inflated and
# checked on arrival) is read back from disk and inflated again before it is used
MEMORY_BLOCKS = 2048
PAGE = 256  # .gzi records per page: 4 KiB
DIR_MODE, FILE_MODE = 0o755, 0o644


class RemoteChanged(IntegrityError):
    """The remote file is no longer the one the range entry was prepared from."""


class _Corrupt(transport.Transient):
    """Fetched bytes are not the blocks the ``.gzi`` describes (a flipped bit, or a changed file)."""


class FaiRecord(NamedTuple):
    name: str
    rlen: int
    offset: int
    lenc: int
    lenb: int

    def at(self, p0: int) -> int:
        """Uncompressed offset of base ``p0`` (0-based) of this sequence in the FASTA text."""
        return self.offset + (p0 // self.lenc) * self.lenb + p0 % self.lenc


def parse_fai(data: bytes) -> dict[str, FaiRecord]:
    """The ``.fai`` records by name; ValueError when malformed."""
    records: dict[str, FaiRecord] = {}
    for number, line in enumerate(data.decode("ascii").splitlines(), 1):
        fields = line.split("\t")
        if len(fields) < 5:
            raise ValueError(f".fai line {number} has {len(fields)} fields")
        rlen, offset, lenc, lenb = (int(f) for f in fields[1:5])
        if rlen < 0 or offset < 0 or lenc < 1 or lenb < lenc:
            raise ValueError(f".fai line {number} is malformed")
        records[fields[0]] = FaiRecord(fields[0], rlen, offset, lenc, lenb)
    if not records:
        raise ValueError(".fai lists no sequences")
    return records


# --- the .gzi, whole or by page -------------------------------------------------------------


def page_of(k: int) -> int:
    """The ``.gzi`` page holding the start of block ``k`` (record ``k``; block 0 starts at 0)."""
    return (max(k, 1) - 1) // PAGE


class GziIndex:
    """Block starts ``point(k)`` = (compressed, uncompressed) for k = 0 (the implicit (0, 0))
    to ``count``; block ``k`` is the compressed bytes ``[point(k).c, point(k + 1).c)``, the
    last one ending at the EOF block."""

    def __init__(
        self,
        count: int,
        size: int,
        whole: list[tuple[int, int]] | None = None,
        load_pages: Callable[[list[int]], dict[int, list[tuple[int, int]]]] | None = None,
    ) -> None:
        self.count, self.size = count, size
        self.eof_start = size - len(bgzf.EOF)
        self.pages: dict[int, list[tuple[int, int]]] = {}
        self.load_pages = load_pages
        self.pages_fetched = 0
        self._lock = threading.Lock()
        if whole is not None:
            if len(whole) != count:
                raise ValueError(".gzi record count does not match")
            for p in range(0, max(count, 1), PAGE):
                self.pages[p // PAGE] = whole[p : p + PAGE]
            self._check(0, whole)

    @property
    def npages(self) -> int:
        return (self.count + PAGE - 1) // PAGE

    def _check(self, page: int, records: list[tuple[int, int]]) -> None:
        previous = (0, 0) if page == 0 else None
        for c, u in records:
            if previous is not None and (c <= previous[0] or u < previous[1]):
                raise ValueError(".gzi offsets are not in order")
            previous = (c, u)
        if records and records[-1][0] > self.eof_start:
            raise ValueError(".gzi offsets lie beyond the end of the file")

    def ensure_pages(self, pages: Iterable[int]) -> None:
        missing = sorted({p for p in pages if 0 <= p < self.npages and p not in self.pages})
        if not missing:
            return
        if self.load_pages is None:
            raise IntegrityError(".gzi page missing")
        loaded = self.load_pages(missing)
        with self._lock:
            for page, records in loaded.items():
                want = min(PAGE, self.count - page * PAGE)
                if len(records) != want:
                    raise IntegrityError(f".gzi page {page}: {len(records)} records, expected {want}")
                try:
                    self._check(page, records)
                except ValueError as exc:
                    raise IntegrityError(f".gzi page {page}: {exc}") from None
                self.pages[page] = records
                self.pages_fetched += 1

    def point(self, k: int) -> tuple[int, int]:
        if k == 0:
            return (0, 0)
        if k > self.count:
            return (self.eof_start, -1)
        page, i = divmod(k - 1, PAGE)
        records = self.pages.get(page)
        if records is None:
            self.ensure_pages([page])
            records = self.pages[page]
        return records[i]

    def extent(self, k: int) -> tuple[int, int]:
        """Compressed ``[start, end)`` of block ``k``."""
        return self.point(k)[0], self.point(k + 1)[0]

    def ulen(self, k: int) -> int | None:
        """Uncompressed length of block ``k`` when the ``.gzi`` says it (not for the last one)."""
        if k >= self.count:
            return None
        return self.point(k + 1)[1] - self.point(k)[1]

    def _average(self) -> int:
        """Uncompressed bytes per block, from the furthest record loaded (bgzip: 65280)."""
        if not self.pages:
            return bgzf.MAX_DATA
        page = max(self.pages)
        records = self.pages[page]
        k = page * PAGE + len(records)
        return max(1, records[-1][1] // k) if records and records[-1][1] else bgzf.MAX_DATA

    def guess(self, uoffset: int) -> int:
        """Where the block of ``uoffset`` probably is (blocks of the average size)."""
        return min(self.count, uoffset // self._average())

    def _probe(self, uoffset: int, average: int) -> tuple[int, int | None]:
        """``(k, None)``: the block holding ``uoffset`` as far as the loaded pages tell, or
        ``(k, page)``: the page of probe ``k`` to load before the search can go on.
        Interpolation (two probes), then bisection."""
        lo, hi = 0, self.count  # the answer lies in [lo, hi]
        k = min(self.count, uoffset // average)
        probes = 0
        while lo < hi:
            k = min(max(k, lo + 1), hi)  # probe k in (lo, hi]
            page = page_of(k)
            records = self.pages.get(page)
            if records is None:
                return k, page  # read a whole page around the probe: it usually holds the answer
            first, last = page * PAGE + 1, page * PAGE + len(records)
            probes += 1
            if records[0][1] > uoffset:
                hi = first - 1
                k = first - 1 - (records[0][1] - uoffset) // average
            elif records[-1][1] <= uoffset:
                lo = last
                k = last + 1 + (uoffset - records[-1][1]) // average
            else:  # inside this page: bisect it locally
                a, b = 0, len(records) - 1  # records[a].u <= uoffset < records[b].u
                while b - a > 1:
                    mid = (a + b) // 2
                    if records[mid][1] <= uoffset:
                        a = mid
                    else:
                        b = mid
                return first + a, None
            if probes >= 2:
                k = (lo + hi + 1) // 2
        return lo, None

    def find(self, uoffset: int) -> int:
        """The block ``k`` holding uncompressed byte ``uoffset`` (the last block past the end)."""
        while True:
            k, page = self._probe(uoffset, self._average())
            if page is None:
                return k
            self.ensure_pages([page])
            if page not in self.pages:
                raise IntegrityError(f".gzi page {page} missing")

    def prefetch(self, uoffsets: Iterable[int]) -> None:
        """Load the pages the lookups of ``uoffsets`` need, and those of the next block's start
        (a block's extent ends there): all pages one probe step needs in one go (ranged GETs in
        parallel), so a batch of lookups costs a round trip or two, not one per page."""
        pending = set(uoffsets)
        while pending:
            average = self._average()
            wanted: dict[int, list[int]] = {}
            for u in pending:
                k, page = self._probe(u, average)
                if page is not None:
                    wanted.setdefault(page, []).append(u)
                if k < self.count:  # found or probed: block k's end is block k + 1's start
                    after = page_of(k + 1)
                    if after not in self.pages:
                        wanted.setdefault(after, [])
            if not wanted:
                return
            self.ensure_pages(wanted)
            if not any(page in self.pages for page in wanted):
                return  # find() reports it
            pending = {u for us in wanted.values() for u in us}

    def pages_of(self, first: int, last: int) -> set[int]:
        """The pages holding the starts of blocks ``first`` to ``last``."""
        return set(range(page_of(first), page_of(min(last, self.count)) + 1))


# --- the remote file ---------------------------------------------------------------------------


class Remote:
    """Exact byte ranges of the remote genome through the transport; counts what it moved."""

    def __init__(
        self, location: Location, size: int, etag: str | None, policy: transport.RetryPolicy
    ) -> None:
        self.location, self.size, self.etag, self.policy = location, size, etag, policy
        self.source = transport.open_source(location, policy)
        self.requests = 0
        self.bytes = 0
        self._lock = threading.Lock()

    def read(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)``, asked for as ``Range: bytes=start-(end-1)``."""
        with self._lock:
            self.requests += 1
        try:
            data = self.source.read(start, end, self.etag)
        except transport.Changed:
            raise RemoteChanged(
                f"{self.location.display}: changed since its range entry was prepared"
            ) from None
        with self._lock:
            self.bytes += len(data)
        return data


# --- the block store ---------------------------------------------------------------------------


class BlockStore:
    """Verified blocks of the remote file: memory, then the shared directory, then the network."""

    def __init__(
        self,
        directory: Path | None,
        gzi: GziIndex,
        remote: Remote,
        policy: transport.RetryPolicy,
        inside: Callable[[Path], Path] = lambda p: p,
    ) -> None:
        self.directory, self.gzi, self.remote, self.policy = directory, gzi, remote, policy
        self.inside = inside
        self.writable = directory is not None
        self.memory: OrderedDict[int, bytes] = OrderedDict()  # k -> uncompressed, verified
        self.local = None  # the whole file, after a fallback to the full download
        self.fallback: Callable[[], Path] | None = None
        self.on_changed: Callable[[], None] | None = None
        self.from_disk = 0
        self._checked_dirs: set[Path] = set()
        self._lock = threading.RLock()
        if directory is not None and os.path.lexists(directory):
            self.inside(directory)  # a planted symlink must not lead reads or writes out of the cache
            if directory.is_dir():
                for folder in directory.iterdir():
                    self.inside(folder)
                    self._checked_dirs.add(folder)

    @property
    def display(self) -> str:
        return self.remote.location.display

    def _path(self, k: int) -> Path | None:
        if self.directory is None:
            return None
        lo = self.gzi.extent(k)[0]
        folder = self.directory / str(lo >> SHARD_BITS)
        if folder not in self._checked_dirs and os.path.lexists(folder):
            self.inside(folder)
            self._checked_dirs.add(folder)
        return folder / str(lo)

    def _remember(self, k: int, data: bytes) -> None:
        with self._lock:
            self.memory[k] = data
            self.memory.move_to_end(k)
            while self.writable and len(self.memory) > MEMORY_BLOCKS:
                self.memory.popitem(last=False)

    def _on_disk(self, k: int) -> bool:
        path = self._path(k)
        lo, hi = self.gzi.extent(k)
        try:
            return path is not None and path.stat().st_size == hi - lo
        except OSError:
            return False

    def _verify(self, k: int, block: bytes | memoryview) -> bytes:
        lo = self.gzi.extent(k)[0]
        data = bgzf.decompress(block, lo)
        expected = self.gzi.ulen(k)
        if expected is not None and len(data) != expected:
            raise bgzf.BgzfError(f"blocks at {lo} hold {len(data)} bytes, the .gzi says {expected}")
        return data

    def _from_disk(self, k: int) -> bytes | None:
        path = self._path(k)
        if path is None:
            return None
        lo, hi = self.gzi.extent(k)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None
        with open(fd, "rb") as handle:
            block = handle.read(hi - lo + 1)
        try:
            if len(block) != hi - lo:
                raise ValueError(f"{len(block)} bytes, expected {hi - lo}")
            data = self._verify(k, block)
        except ValueError as exc:
            log.warning("%s: cached block at %d is damaged (%s); fetching it again", self.display, lo, exc)
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        self.from_disk += 1
        return data

    def _save(self, k: int, block: bytes) -> None:
        path = self._path(k)
        if path is None or not self.writable:
            return
        folder = path.parent
        tmp = folder / f".{path.name}.{uuid.uuid4().hex[:12]}.tmp"
        try:
            if folder not in self._checked_dirs:
                if os.path.lexists(self.directory):  # type: ignore[arg-type]
                    self.inside(self.directory)  # type: ignore[arg-type]
                folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
                self.inside(folder)
                self._checked_dirs.add(folder)
            with open(tmp, "xb") as out:
                out.write(block)
            os.chmod(tmp, FILE_MODE)
            os.replace(tmp, path)  # whole or absent; a racing writer's copy is the same bytes
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            log.info(
                "%s: cannot keep blocks in the cache (%s); keeping them in memory",
                self.display,
                exc.strerror or exc,
            )
            self.writable = False

    def ensure(self, blocks: Iterable[int]) -> None:
        """Make ``blocks`` available, fetching the missing ones in as few exact requests as
        possible (adjacent blocks in one), several requests at once."""
        if self.local is not None:
            return
        missing = [k for k in sorted(set(blocks)) if k not in self.memory and not self._on_disk(k)]
        runs: list[list[int]] = []
        for k in missing:
            if (
                runs
                and runs[-1][-1] == k - 1
                and self.gzi.extent(k)[1] - self.gzi.extent(runs[-1][0])[0] <= MAX_REQUEST
            ):
                runs[-1].append(k)
            else:
                runs.append([k])
        if len(runs) <= 1:
            for run in runs:
                self._fetch(run[0], run[-1])
            return
        with ThreadPoolExecutor(min(PARALLEL, len(runs)), thread_name_prefix="ranges") as pool:
            for future in [pool.submit(self._fetch, run[0], run[-1]) for run in runs]:
                future.result()

    def block(self, k: int) -> bytes:
        """Uncompressed, verified data of block ``k``."""
        if self.local is not None:
            lo, hi = self.gzi.extent(k)
            self.local.seek(lo)
            return self._verify(k, self.local.read(hi - lo))
        data = self.memory.get(k)
        if data is not None:
            with self._lock:
                self.memory.move_to_end(k)
            return data
        data = self._from_disk(k)
        if data is None:
            self._fetch(k, k)
            return self.block(k)  # from memory, or from the whole file after a fallback
        self._remember(k, data)
        return data

    def read(self, ustart: int, uend: int) -> bytes:
        """Uncompressed bytes ``[ustart, uend)`` of the file."""
        if uend <= ustart:
            return b""
        first, last = self.gzi.find(ustart), self.gzi.find(uend - 1)
        self.ensure(range(first, last + 1))
        data = b"".join(self.block(k) for k in range(first, last + 1))
        base = self.gzi.point(first)[1]
        return data[ustart - base : uend - base]

    def _fetch(self, first: int, last: int) -> None:
        if self.local is not None:
            return
        lo, hi = self.gzi.extent(first)[0], self.gzi.extent(last)[1]
        corrupt = False

        def attempt() -> list[tuple[int, bytes, bytes]]:
            nonlocal corrupt
            data = memoryview(self.remote.read(lo, hi))
            verified = []
            for k in range(first, last + 1):
                a, b = self.gzi.extent(k)
                try:
                    verified.append((k, bytes(data[a - lo : b - lo]), self._verify(k, data[a - lo : b - lo])))
                except ValueError as exc:
                    corrupt = True
                    raise _Corrupt(f"block at {a} failed verification ({exc})") from None
            corrupt = False
            return verified

        try:
            pieces = transport.retrying(self.policy, self.display, attempt)
        except RemoteChanged:
            if self.on_changed is not None:
                self.on_changed()
            raise
        except SourceError as exc:
            if corrupt:
                if self.on_changed is not None:
                    self.on_changed()
                raise RemoteChanged(
                    f"{exc}; the file changed since it was prepared for range access?"
                ) from None
            raise
        except transport.RangesIgnored:
            if self.fallback is None:
                raise
            log.warning(
                "%s: the server stopped honouring Range requests; downloading the whole file", self.display
            )
            with self._lock:
                if self.local is None:
                    self.local = open(self.fallback(), "rb")  # noqa: SIM115 - closed by close()
            return
        for k, block, data in pieces:
            self._save(k, block)
            self._remember(k, data)

    def close(self) -> None:
        if self.local is not None:
            self.local.close()
            self.local = None


# --- reading a FASTA through the store --------------------------------------------------------


class RangedFasta:
    """Bases of an indexed BGZF FASTA read through a :class:`BlockStore` (pyfaidx's interface
    as retrieval uses it: ``index`` and ``fetch`` with 1-based closed coordinates)."""

    def __init__(self, index: dict[str, FaiRecord], store: BlockStore) -> None:
        self.index, self.store = index, store

    def byte_range(self, record: FaiRecord, start: int, end: int) -> tuple[int, int]:
        """Uncompressed ``[first, last + 1)`` holding bases ``start..end`` (1-based, closed)."""
        return record.at(start - 1), record.at(end - 1) + 1

    def blocks(self, name: str, start: int, end: int) -> range:
        record = self.index[name]
        start, end = max(1, start), min(record.rlen, end)
        if start > end:
            return range(0)
        first, stop = self.byte_range(record, start, end)
        return range(self.store.gzi.find(first), self.store.gzi.find(stop - 1) + 1)

    def fetch(self, name: str, start: int, end: int) -> str:
        record = self.index[name]
        start, end = max(1, start), min(record.rlen, end)
        if start > end:
            return ""
        first, stop = self.byte_range(record, start, end)
        raw = self.store.read(first, stop)
        return raw.replace(b"\n", b"").replace(b"\r", b"").decode("latin-1")

    def close(self) -> None:
        self.store.close()


def page_name(page: int, data: bytes) -> str:
    """A cached ``.gzi`` page's file name: its number and the sha256 of its bytes."""
    return f"{page}.{hashlib.sha256(data).hexdigest()[:32]}"
