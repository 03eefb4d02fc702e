"""Range mode: read a remote BGZF genome by fetching only the blocks a request needs.

On a cache miss, instead of downloading the whole genome, :func:`prepare` fetches the
source's ``.fai`` and its ``.gzi`` (whole when small, otherwise only its header and last
page: the rest is read page by page when lookups need it), checks the file's size and
probes range support with one exact ranged GET of the 28-byte BGZF end-of-file block
(which also proves the file is complete BGZF). :func:`open_genome` then reads regions
through a :class:`blockstore.BlockStore`. Whenever ranges cannot be used (no ``.fai`` or
``.gzi``, not BGZF, the server answers a Range request with the whole file, a checksum
is required) it falls back to :meth:`GenomeCache.ensure`, the full download.

Layout under the cache root (beside ``genomes/``)::

    ranges/<entry>/                      one prepared range entry, published by rename
        <basename>.fai                   the source's .fai
        <basename>.gzi                   the source's .gzi, when it was fetched whole
        gzi/<page>.<sha256>              pages of a large .gzi (4 KiB each), as fetched
        entry.json                       display URL (never the secret one), size, ETag
        blocks/<c >> 26>/<c>             bytes [c, next block start) of the remote file
    ranges/.partial-<entry>-<id>/        an entry being prepared (never read)
    locks/<entry>.ranges.lock            exclusive while preparing, shared while read

The HTTP/S3 requests, retries and redirects are :mod:`transport`'s.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import re
import shutil
import struct
import threading
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import bgzf, fastaformat, transport
from .blockstore import (
    PAGE,
    PARALLEL,
    BlockStore,
    FaiRecord,
    GziIndex,
    RangedFasta,
    Remote,
    RemoteChanged,
    page_name,
    page_of,
)
from .blockstore import parse_fai as _parse_fai
from .cache import (
    DIR_MODE,
    ENTRY_FILE,
    FILE_MODE,
    GenomeCache,
    Resolved,
    check_entry_name,
    resolve_for_reading,
)
from .errors import GenomeCacheError, IntegrityError
from .locations import Location, parse_location
from .requests import Region
from .retrieval import Genome

__all__ = ["RemoteChanged", "check_bgzf", "open_genome", "parse_location", "prepare", "read_range_entry"]
log = logging.getLogger(__name__)

BGZF_EOF = bgzf.EOF
WHOLE_GZI = 8 + 16 * PAGE  # a .gzi up to this size (one 4 KiB page) is fetched whole, a larger one by page
_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")  # as locations.safe_basename makes them
STALE = "stale"  # marks an entry whose remote file changed; the next prepare replaces it


def check_bgzf(data: bytes, expected_ulen: int | None = None) -> None:
    """Raise ValueError unless ``data`` is whole BGZF blocks with matching CRC32 and sizes."""
    bgzf.check(data, expected_ulen)


class _NoRange(Exception):
    """Why a source cannot be read by range; the caller downloads it whole."""


# --- parsed once per process ------------------------------------------------------------------

_PARSED: dict[tuple, object] = {}
_PARSED_LOCK = threading.Lock()


def _parsed(path: Path, kind: str, parse):  # type: ignore[no-untyped-def]
    """``parse(bytes)`` of an index file, remembered while the file is unchanged."""
    stat = path.stat()
    key = (str(path), kind, stat.st_size, stat.st_mtime_ns, stat.st_ino)
    with _PARSED_LOCK:
        if key in _PARSED:
            return _PARSED[key]
    value = parse(path.read_bytes())
    with _PARSED_LOCK:
        _PARSED[key] = value
    return value


# --- cache entries -----------------------------------------------------------------------------


def range_dir(cache: GenomeCache, entry: str) -> Path:
    path = cache.ranges / check_entry_name(entry)
    if path.is_symlink() or cache.ranges.is_symlink():
        raise IntegrityError(f"range entry {entry} is a symlink; refusing to use it")
    return cache.inside(path) if path.exists() else path


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
    paged = record.get("gzi") == "paged"
    if paged and not (isinstance(record.get("gzi_count"), int) and isinstance(record.get("gzi_size"), int)):
        return None
    for suffix in (".fai",) if paged else (".fai", ".gzi"):
        file = folder / f"{name}{suffix}"
        if file.is_symlink() or not file.is_file():
            return None
    return record


def _full_entry_available(cache: GenomeCache, location: Location) -> bool:
    if cache.mirrored(location):
        return True
    try:
        return cache.read_entry(location.entry_name) is not None
    except IntegrityError:
        return False  # ensure() replaces it


def _resolved(cache: GenomeCache, location: Location, record: dict, fetched: int, seconds: float) -> Resolved:
    fasta = cache.ranges / location.entry_name / record["fasta"]
    return Resolved(
        location.display, location.entry_name, str(fasta), "range", record["size"], fetched, seconds
    )


def prepare(
    cache: GenomeCache,
    url: str,
    known_hash: str | None = None,
    hint: Iterable[tuple[str, Region]] = (),
) -> Resolved:
    """Make ``url`` readable by range, or fall back to the full download, and say which.

    ``hint``: regions about to be read; a large ``.gzi``'s pages for them come with the
    preparing requests (one round trip fewer on a cold cache).

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
        with cache.lock(cache.range_lock(entry), exclusive=True):
            record = read_range_entry(cache, entry)
            if record is None:
                try:
                    record, fetched = _stage(cache, location, hint)
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
    cache.touch(cache.range_lock(entry))
    return _resolved(cache, location, record, 0, 0.0)


def _read_pages(source: transport.Source, etag: str | None, count: int, pages: list[int]) -> dict[int, bytes]:
    """The raw bytes of ``.gzi`` pages (adjacent pages in one exact ranged GET, runs in parallel)."""
    runs: list[list[int]] = []
    for page in sorted(pages):
        if runs and runs[-1][-1] == page - 1:
            runs[-1].append(page)
        else:
            runs.append([page])

    def extent(page: int) -> tuple[int, int]:
        first = 8 + 16 * page * PAGE
        return first, first + 16 * min(PAGE, count - page * PAGE)

    def fetch(run: list[int]) -> dict[int, bytes]:
        lo, hi = extent(run[0])[0], extent(run[-1])[1]
        data = transport.retrying(source.policy, source.display, lambda: source.read(lo, hi, etag))
        return {p: data[extent(p)[0] - lo : extent(p)[1] - lo] for p in run}

    found: dict[int, bytes] = {}
    if len(runs) == 1:
        return fetch(runs[0])
    with ThreadPoolExecutor(min(PARALLEL, len(runs)), thread_name_prefix="gzi") as pool:
        for part in pool.map(fetch, runs):
            found.update(part)
    return found


def _records(data: bytes) -> list[tuple[int, int]]:
    flat = struct.unpack(f"<{len(data) // 8}Q", data)
    return list(zip(flat[0::2], flat[1::2], strict=True))


def _hinted_pages(fai: dict[str, FaiRecord], count: int, hint: Iterable[tuple[str, Region]]) -> set[int]:
    """The ``.gzi`` pages that lookups of the hinted regions' first and last bytes probably
    need (blocks of bgzip's size; a page missed here is fetched when the lookup needs it)."""
    pages = set()
    for seq_id, region in hint:
        record = fai.get(seq_id)
        if record is None:
            continue
        for pos in (max(1, min(region.start, region.end)), min(record.rlen, max(region.start, region.end))):
            k = min(count, record.at(max(0, pos - 1)) // bgzf.MAX_DATA)
            pages.add(page_of(k))
            if k < count:
                pages.add(page_of(k + 1))  # block k ends where block k + 1 starts
    return pages


def _stage(
    cache: GenomeCache, location: Location, hint: Iterable[tuple[str, Region]] = ()
) -> tuple[dict, int]:
    """Fetch the indexes, probe ranges and publish ``ranges/<entry>``; :class:`_NoRange` to fall back.

    Three requests at once: the ``.fai``; the ``.gzi``'s first ``WHOLE_GZI`` bytes (all of it
    when small, else its header and first page); the genome's size and ETag (HEAD). Then one
    exact ranged GET of the genome's 28-byte end-of-file block proves range support and a
    complete BGZF file (and, for a large ``.gzi``, one of its last page, for the check that the
    ``.fai`` fits it).
    """
    if location.scheme not in ("http", "https", "s3"):
        raise _NoRange(f"range access does not support {location.scheme}://")
    policy, display = cache.policy, location.display
    gzi_source = transport.open_source(location.sibling(".gzi"), policy)
    source = transport.open_source(location, policy)
    first = max(8, WHOLE_GZI)
    with ThreadPoolExecutor(3, thread_name_prefix="prepare") as pool:
        fai_future = pool.submit(transport.fetch_small, location.sibling(".fai"), policy)
        gzi_future = pool.submit(transport.retrying, policy, display, lambda: gzi_source.read_upto(0, first))
        stat_future = pool.submit(source.stat)
        fai_bytes = fai_future.result()
        try:
            head, gzi_size, gzi_etag = gzi_future.result()
        except transport.NotFound:
            raise _NoRange("the source has no .gzi beside it") from None
        except transport.RangesIgnored:
            raise _NoRange("the server does not honour Range requests") from None
        info = stat_future.result()
    if not fai_bytes:
        raise _NoRange("the source has no .fai beside it")
    size = info.size
    if size is None or size <= len(BGZF_EOF):
        raise _NoRange("the source does not say its size")
    pages: dict[int, bytes] = {}
    gzi_bytes = None
    try:
        fai = _parse_fai(fai_bytes)
        if gzi_size is None or len(head) < 8 or (gzi_size - 8) % 16:
            raise ValueError(".gzi size is not a whole number of records")
        count = (gzi_size - 8) // 16
        if struct.unpack_from("<Q", head)[0] != count:
            raise ValueError(".gzi size does not match its record count")
    except (ValueError, UnicodeDecodeError) as exc:
        raise _NoRange(f"its index is unusable ({exc})") from None
    last = (count - 1) // PAGE
    if len(head) == gzi_size:  # the whole .gzi
        gzi_bytes = head
    else:
        for page in range((len(head) - 8) // (16 * PAGE)):  # whole pages of the first read
            pages[page] = head[8 + 16 * PAGE * page : 8 + 16 * PAGE * (page + 1)]
    # the end-of-file block and (a large .gzi) its last page and the hint's pages: one round trip
    with ThreadPoolExecutor(2, thread_name_prefix="prepare") as pool:
        eof_future = pool.submit(
            transport.retrying, policy, display, lambda: source.read(size - len(BGZF_EOF), size, None)
        )
        wanted: set[int] = set()
        if gzi_bytes is None and count:  # a large .gzi: its last page, and pages for the hint
            wanted = ({last} | _hinted_pages(fai, count, hint)) - set(pages)
        page_future = (
            pool.submit(_read_pages, gzi_source, gzi_etag, count, sorted(wanted)) if wanted else None
        )
        try:
            eof = eof_future.result()
            fetched_pages = page_future.result() if page_future is not None else {}
        except transport.RangesIgnored:
            raise _NoRange("the server does not honour Range requests") from None
    if eof != BGZF_EOF:
        raise _NoRange("it is not a complete BGZF file (no end-of-file block)")
    pages.update(fetched_pages)
    fetched = len(fai_bytes) + len(head) + len(eof) + sum(len(d) for d in fetched_pages.values())
    try:
        points = bgzf.parse_gzi(gzi_bytes) if gzi_bytes is not None else _records(pages.get(last, b""))
    except (ValueError, IntegrityError) as exc:
        raise _NoRange(f"its index is unusable ({exc})") from None
    if points and (
        points[-1][0] > size - len(BGZF_EOF)
        or any(b[0] <= a[0] or b[1] < a[1] for a, b in zip(points, points[1:], strict=False))
    ):
        raise _NoRange("its .gzi does not fit the file")
    # the last sequence ends in the last data block: a .fai of another file rarely does
    last_u = points[-1][1] if points else 0
    last_end = max(
        r.offset + r.rlen + (r.rlen + r.lenc - 1) // r.lenc * (r.lenb - r.lenc) for r in fai.values()
    )
    if not last_u - (1 << 16) < last_end <= last_u + (1 << 16):
        raise _NoRange("its .fai does not fit its .gzi")
    eof_start = size - len(BGZF_EOF)
    gzi_info = transport.RemoteInfo(gzi_size, gzi_etag)

    root = cache.ranges
    root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    cache.inside(root)
    staging = root / f".partial-{location.entry_name}-{uuid.uuid4().hex[:8]}"
    staging.mkdir(mode=DIR_MODE)
    try:
        name = location.basename
        files = [staging / f"{name}.fai", staging / ENTRY_FILE]
        (staging / f"{name}.fai").write_bytes(fai_bytes)
        if gzi_bytes is not None:
            (staging / f"{name}.gzi").write_bytes(gzi_bytes)
            files.append(staging / f"{name}.gzi")
        else:
            (staging / "gzi").mkdir(mode=DIR_MODE)
            for page, data in pages.items():
                files.append(staging / "gzi" / page_name(page, data))
                files[-1].write_bytes(data)
        record = {
            "url": location.display,
            "entry": location.entry_name,
            "fasta": name,
            "access": "range",
            "size": info.size,
            "etag": info.etag,
            "blocks": count + 2,
            "gzi": "whole" if gzi_bytes is not None else "paged",
            "gzi_count": count,
            "gzi_size": 8 + 16 * count,
            "gzi_etag": gzi_info.etag,
            "prepared_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        (staging / ENTRY_FILE).write_text(json.dumps(record, indent=1) + "\n")
        eof_file = staging / "blocks" / str(eof_start >> 26) / str(eof_start)
        eof_file.parent.mkdir(mode=DIR_MODE, parents=True)
        eof_file.write_bytes(eof)
        for file in [*files, eof_file]:
            os.chmod(file, FILE_MODE)
        with ThreadPoolExecutor(8, thread_name_prefix="fsync") as pool:  # flushes overlap
            list(pool.map(fastaformat.fsync_path, [*files, eof_file, staging]))
        cache.discard(location.entry_name, "range")  # an incomplete leftover is not served
        os.rename(staging, root / location.entry_name)
        fastaformat.fsync_path(root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
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
    index: GziIndex | None = None
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def prefetch(self, seq_id: str, regions: Iterable[Region]) -> None:
        """Fetch the blocks of all ``regions`` at once (adjacent ones in one request, runs in
        parallel); a no-op when the genome is read whole."""
        self.prefetch_many((seq_id, region) for region in regions)

    def prefetch_many(self, wanted: Iterable[tuple[str, Region]]) -> None:
        """:meth:`prefetch` for regions on several sequences (a batch of requests)."""
        if self.store is None or self.index is None or not isinstance(self.faidx, RangedFasta):
            return
        spans = []
        for seq_id, region in wanted:
            record = self.faidx.index.get(seq_id)
            if record is None:
                continue  # region() reports it
            start = max(1, min(region.start, region.end))
            end = min(record.rlen, max(region.start, region.end))
            if start <= end:
                spans.append(self.faidx.byte_range(record, start, end))
        self.index.prefetch(u for span in spans for u in (span[0], span[1] - 1))
        blocks: set[int] = set()
        pages: set[int] = set()
        for first, stop in spans:
            a, b = self.index.find(first), self.index.find(stop - 1)
            blocks.update(range(a, b + 1))
            pages |= self.index.pages_of(a, b + 1)  # every block's start and end
        self.index.ensure_pages(pages)
        self.store.ensure(blocks)

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
            "index_pages_fetched": self.index.pages_fetched if self.index else 0,
        }

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.stack.close()

    def __exit__(self, *exc: Any) -> bool | None:
        try:
            Genome.close(self)
        except BaseException:
            self.stack.close()
            raise
        # the cache's read context sees what went wrong, so damage found mid-read becomes one
        # line naming the entry (and quarantines it) as in full mode, never a raw traceback
        return self.stack.__exit__(*exc)


def open_genome(cache: GenomeCache, url: str, hint: Iterable[tuple[str, Region]] = ()) -> CachedGenome:
    """Open ``url`` for region reads, fetching only the blocks read when the source allows it.

    ``hint``: the ``(seq_id, region)`` pairs about to be read (see :func:`prepare`).

    ``file://`` sources are read in place (as :func:`resolve_for_reading` does), a copy in
    the mirror or the cache is read whole; otherwise :func:`prepare` decides between range
    access and the full download.
    """
    location = parse_location(url)
    if location.scheme == "file":
        return _open_whole(cache, Resolved(location.display, "", resolve_for_reading(url, cache), "file", 0))
    resolved = prepare(cache, url, hint=hint)
    if resolved.source != "range":
        return _open_whole(cache, resolved)
    stack = contextlib.ExitStack()
    try:
        stack.enter_context(cache.lock(cache.range_lock(location.entry_name), exclusive=False))
        record = read_range_entry(cache, location.entry_name)
        if record is None:
            raise IntegrityError(f"range entry {location.entry_name} was removed while opening it; rerun")
        return _open_ranged(cache, location, record, resolved, stack)
    except BaseException as exc:
        _unwind(stack, exc)
        raise


def _open_whole(cache: GenomeCache, resolved: Resolved) -> CachedGenome:
    stack = contextlib.ExitStack()
    try:
        path = stack.enter_context(cache.reading(resolved.fasta))
        opened = Genome.open(path)
        return CachedGenome(opened.path, opened.faidx, resolved=resolved, stack=stack)
    except BaseException as exc:
        _unwind(stack, exc)
        raise


def _unwind(stack: contextlib.ExitStack, exc: BaseException) -> None:
    """Close ``stack`` with ``exc`` passing through its contexts: the cache's read context turns
    damage found while opening into one line naming the entry (and quarantines it)."""
    stack.__exit__(type(exc), exc, exc.__traceback__)


def _page_loader(cache: GenomeCache, folder: Path, location: Location, record: dict):  # type: ignore[no-untyped-def]
    """Loads ``.gzi`` pages: from ``gzi/`` (each checked against the digest in its name), else
    by range from the source (and kept there)."""
    count, etag = record["gzi_count"], record.get("gzi_etag")
    pages_dir = folder / "gzi"

    def load(pages: list[int]) -> dict[int, list[tuple[int, int]]]:
        found: dict[int, list[tuple[int, int]]] = {}
        on_disk = {}
        if pages_dir.is_dir():
            cache.inside(pages_dir)
            for file in pages_dir.iterdir():
                number, _, digest = file.name.partition(".")
                if number.isdigit() and int(number) in pages:
                    on_disk[int(number)] = (file, digest)
        missing = []
        for page in pages:
            want = 16 * min(PAGE, count - page * PAGE)
            if page in on_disk:
                file, digest = on_disk[page]
                try:
                    data = file.read_bytes() if not file.is_symlink() else b""
                except OSError:
                    data = b""
                if len(data) == want and hashlib.sha256(data).hexdigest()[:32] == digest:
                    found[page] = _records(data)
                    continue
                log.warning("%s: cached .gzi page %d is damaged; fetching it again", location.display, page)
                with contextlib.suppress(OSError):
                    file.unlink()
            missing.append(page)
        if missing:
            source = transport.open_source(location.sibling(".gzi"), cache.policy)
            for page, data in _read_pages(source, etag, count, missing).items():
                found[page] = _records(data)
                with contextlib.suppress(OSError):
                    pages_dir.mkdir(mode=DIR_MODE, exist_ok=True)
                    cache.inside(pages_dir)
                    target = pages_dir / page_name(page, data)
                    tmp = pages_dir / f".{target.name}.{uuid.uuid4().hex[:8]}.tmp"
                    with open(tmp, "xb") as out:
                        out.write(data)
                    os.chmod(tmp, FILE_MODE)
                    os.replace(tmp, target)
        return found

    return load


def _open_ranged(
    cache: GenomeCache, location: Location, record: dict, resolved: Resolved, stack: contextlib.ExitStack
) -> CachedGenome:
    folder = range_dir(cache, location.entry_name)
    name = record["fasta"]
    fai_path = folder / f"{name}.fai"
    try:
        fai: dict[str, FaiRecord] = _parsed(fai_path, "fai", _parse_fai)
        if record.get("gzi") == "paged":
            key = (str(folder), "gzi-pages", record["gzi_count"], record["size"], record.get("prepared_at"))
            with _PARSED_LOCK:
                index = _PARSED.get(key)
                if index is None:
                    loader = _page_loader(cache, folder, location, record)
                    index = _PARSED[key] = GziIndex(record["gzi_count"], record["size"], load_pages=loader)
        else:
            points = _parsed(folder / f"{name}.gzi", "gzi", bgzf.parse_gzi)
            index = GziIndex(len(points), record["size"], whole=points)
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        raise IntegrityError(f"range entry {location.entry_name}: {exc}") from None
    assert isinstance(index, GziIndex)
    remote = Remote(location, record["size"], record.get("etag"), cache.policy)
    store = BlockStore(folder / "blocks", index, remote, cache.policy, cache.inside)

    def whole_file() -> Path:
        full = cache.ensure(location.url)
        path = stack.enter_context(cache.reading(full.fasta))
        local = fastaformat.read_gzi(Path(f"{path}.gzi"))
        same = Path(path).stat().st_size == record["size"] and len(local) == index.count
        same = same and all(local[p * PAGE : p * PAGE + PAGE] == rows for p, rows in index.pages.items())
        if not same:
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
    cache.touch(cache.range_lock(location.entry_name))
    return CachedGenome(
        str(folder / name), RangedFasta(fai, store), resolved=resolved, store=store, index=index, stack=stack
    )  # type: ignore[arg-type]
