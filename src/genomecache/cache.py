"""The shared genome cache: one download per URL, verified, published atomically.

Layout under the cache root (local disk or NFS/EFS)::

    genomes/<basename>-<digest>/       one published entry, never modified after publish
        <fasta>  <fasta>.fai  <fasta>.gzi  entry.json
    genomes/.partial-<entry>/           a download in progress (resumable, never read)
    locks/<entry>.lock                  fcntl lock; its mtime records the last use
    receipts/<entry>/receipt.json       Nextflow storeDir output of download_genomes
    ranges/<entry>/                     range mode's indexes and blocks (see :mod:`ranged`)

Writers take an exclusive fcntl lock (works on NFSv4/EFS; the kernel or the NFS
lease releases it when a holder dies, so a SIGKILLed downloader leaves no stale
lock), stage the whole entry in a hidden directory, fsync, and rename that
directory to its final name: readers see a complete entry with matching indexes
or nothing. Readers hold a shared lock so prune never removes a genome in use.
On Linux the locks are open-file-description locks, so they also exclude each
other between threads of one process (a reader and ``prune`` in one program).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import stat as statmod
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

from . import bgzf, fastaformat, sources
from .errors import GenomeCacheError, IntegrityError, SourceError
from .ingest import Ingest
from .locations import Location, parse_location
from .retrieval import is_bgzf, missing_files

log = logging.getLogger(__name__)
T = TypeVar("T")
ENTRY_FILE = "entry.json"
_THREAD_LOCKS: dict[str, threading.Lock] = {}
DIR_MODE, FILE_MODE, STAGING_MODE = 0o755, 0o644, 0o700
# a cache shared by a group (its root setgid or group-writable): see GenomeCache.shared
SHARED_DIR_MODE, SHARED_STAGING_MODE, SHARED_LOCK_MODE = 0o2775, 0o2770, 0o664
# published entries are read-only for everyone, so no task or library (pyfaidx rewrites a
# .fai it thinks stale) can change one in place; discard() makes them writable before removal
PUBLISHED_FILE_MODE, PUBLISHED_DIR_MODE = 0o444, 0o555
RECORD_FORMAT = 2  # entry.json with index digests and its own digest
INDEX_SUFFIXES = (".fai", ".gzi")
_ENTRY_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")


@dataclass
class Resolved:
    """Where a genome was found for one request of :meth:`GenomeCache.ensure`."""

    url: str
    entry: str
    fasta: str
    source: str  # mirror | cache | network | local (a file:// source copied in)
    size: int
    bytes_downloaded: int = 0
    seconds: float = 0.0


def default_cache_dir() -> str:
    """``$GENOMECACHE_DIR``, else ``$XDG_CACHE_HOME/genomecache`` (``~/.cache/genomecache``)."""
    return os.environ.get("GENOMECACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "genomecache"
    )


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def sha256_file(path: Path, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _try_lock(fd: int, exclusive: bool) -> None:
    """Lock ``fd`` without waiting; OSError (EAGAIN/EACCES) when another holder conflicts.

    Open file description locks (Linux, also over NFS) belong to the open file, not to
    the process: a shared lock taken by one thread excludes an exclusive one taken by
    another, and closing some other descriptor of the lock file does not drop it.
    Classic POSIX locks are the fallback elsewhere.
    """
    if hasattr(fcntl, "F_OFD_SETLK"):
        kind = fcntl.F_WRLCK if exclusive else fcntl.F_RDLCK
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack("hhqqi4x", kind, os.SEEK_SET, 0, 0, 0))
    else:
        fcntl.lockf(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)


def check_entry_name(entry: str) -> str:
    """An entry name is one plain path component as :mod:`locations` makes them (no ``/``, ``..``)."""
    if not isinstance(entry, str) or not _ENTRY_NAME.fullmatch(entry):
        raise GenomeCacheError(f"not a cache entry name: {entry!r}")
    return entry


def parse_known_hash(known: str | None) -> tuple[str, str] | None:
    """``"sha256:<hex>"`` (pooch style) or a bare sha256 hex into (algorithm, hex)."""
    if not known:
        return None
    algorithm, _, value = known.partition(":") if ":" in known else ("sha256", "", known)
    digits = _HASH_DIGITS.get(algorithm.lower())
    if digits is None:
        raise GenomeCacheError(f"unsupported checksum algorithm '{algorithm}' (use sha256:<hex>)")
    if not re.fullmatch(rf"[0-9a-fA-F]{{{digits}}}", value.strip()):
        raise GenomeCacheError(f"checksum {known!r} is not {algorithm.lower()}:<{digits} hex digits>")
    return algorithm.lower(), value.strip().lower()


_HASH_DIGITS = {"sha256": 64, "md5": 32, "sha1": 40, "sha512": 128}


def genome_requests(url: str, requests_file: Path) -> list:
    """The requests of ``requests_file`` (``check_requests.py``'s ``requests.json``, a JSON
    list of request objects) that read the genome at ``url``; those of other genomes are ignored."""
    from .requests import parse_request

    entry = parse_location(url).entry_name
    try:
        items = json.loads(Path(requests_file).read_text())
    except (OSError, ValueError) as exc:
        raise GenomeCacheError(f"--requests {requests_file}: unreadable ({_one_line(exc)})") from None
    if not isinstance(items, list):
        raise GenomeCacheError(f"--requests {requests_file}: must be a JSON list of request objects")
    requests = []
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("genome_entry") not in (None, entry):
            continue
        request = parse_request(item, i)
        if item.get("genome_entry") == entry or request.location.entry_name == entry:
            requests.append(request)
    return requests


def precheck_requests(cache: GenomeCache, url: str, requests_file: Path) -> str:
    """Check the requests of one genome against its ``.fai`` before the genome is fetched.

    The ``.fai`` is the cached entry's when published, else the source's (a small file).
    Returns ``"checked"``, or ``"after download"`` when the source has no ``.fai`` (call
    again once it is cached). :class:`RequestError` names the first request and field
    that do not fit.
    """
    from .requests import check_against_index, parse_fai

    location = parse_location(url)
    entry = location.entry_name
    requests = genome_requests(url, requests_file)
    if not requests:
        return "checked"
    try:
        record = cache.read_entry(entry)
    except IntegrityError:
        record = None
    fai: bytes | None = None
    if record:
        fai = Path(f"{cache.entry_dir(entry) / record['fasta']}.fai").read_bytes()
    else:
        try:
            fai = cache.source_index(location, ".fai")
        except (GenomeCacheError, OSError) as exc:  # the .fai is optional: check after download
            log.info("%s: no .fai to check requests before downloading (%s)", location.display, exc)
    if not fai:
        return "after download"
    try:
        lengths = parse_fai(fai, f"{location.basename}.fai")
    except GenomeCacheError as exc:
        log.warning("%s; requests are checked after the download", exc)
        return "after download"
    check_against_index(requests, lengths, location.basename)
    return "checked"


_ASIDE = re.compile(r"\.(?:quarantine|trash|partial)-(?P<entry>.+?)(?:-[0-9a-f]{8})?")


def _rmtree(path: Path) -> None:
    """Delete a directory tree whose folders are read-only (published entries are 0555)."""
    for folder in [path, *(p for p in path.rglob("*") if p.is_dir() and not p.is_symlink())]:
        with contextlib.suppress(OSError):
            os.chmod(folder, 0o700)
    shutil.rmtree(path, ignore_errors=True)


def _free(path: Path) -> str:
    from .sizes import human

    try:
        return human(shutil.disk_usage(path).free)
    except OSError:
        return "unknown"


class SpaceCheck:
    """A download consumer in front of another: fails early when the cache's file system
    cannot hold the download (and, for plain gzip or uncompressed FASTA, its BGZF copy).

    The source's size is known when the download begins; its format with the first bytes.
    """

    MARGIN = 16 << 20  # indexes, entry.json and file system overhead

    def __init__(self, inner: sources.Consumer, location: Location, dest: Path) -> None:
        self.inner, self.location, self.dest = inner, location, dest
        self.size: int | None = None
        self.sniffed = False

    def _need(self, nbytes: int, what: str) -> None:
        from .sizes import human

        try:
            free = shutil.disk_usage(self.dest.parent).free
        except OSError:
            return
        if nbytes + self.MARGIN > free:
            raise GenomeCacheError(
                f"{self.location.display}: not enough free space in {self.dest.parent.parent.parent} "
                f"for {what}: needs {human(nbytes + self.MARGIN)}, {human(free)} free; "
                "prune the cache or give it more room"
            )

    def begin(self, info: sources.RemoteInfo) -> None:
        self.size = info.size
        have = self.dest.stat().st_size if self.dest.exists() else 0
        if info.size is not None:
            self._need(max(0, info.size - have), f"the download ({info.size} bytes)")
        self.inner.begin(info)

    def feed(self, data: bytes) -> None:
        if not self.sniffed and data:
            self.sniffed = True
            if self.size is not None and not bgzf.is_bgzf(data):  # recompressed to BGZF beside the download
                need = self.size * 11 // 10 if data[:2] == b"\x1f\x8b" else self.size // 2
                self._need(need, "its BGZF copy")
        self.inner.feed(data)

    def reset(self) -> None:
        self.sniffed = False
        self.inner.reset()

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.inner, name)


class Quarantined(IntegrityError):
    """A reader found its entry damaged and moved it aside: opening it again fetches it again."""


def healing(call: Callable[[], T], attempts: int = 2) -> T:
    """Run ``call`` (open a genome through the cache and read it) once more when the entry
    turned out damaged while being read and was moved aside: the second call fetches it
    again, so bit rot in a block is healed within the same task."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Quarantined:
            if attempt == attempts:
                raise
            log.warning("reading again after fetching the damaged entry again")
    raise AssertionError("unreachable")


def record_digest(record: dict) -> str:
    """sha256 of an entry record without its own digest (any change to ``entry.json`` shows)."""
    body = {k: v for k, v in record.items() if k != "record_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _one_line(exc: BaseException) -> str:
    """An exception as one short line (damaged data can make messages long or multi-line)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


class GenomeCache:
    """A cache root, optionally backed by a read-only mirror of files by basename."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        mirror: str | os.PathLike[str] | None = None,
        policy: sources.RetryPolicy | None = None,
        progress: bool = True,
        session: str = "",
    ) -> None:
        self.root = Path(root).absolute()
        self.session = session  # the run that fetches a genome is recorded in its entry
        self.mirror = Path(mirror).absolute() if mirror else None
        self.policy = policy or sources.RetryPolicy()
        self.progress = progress
        self.genomes = self.root / "genomes"
        self.locks = self.root / "locks"
        self.receipts = self.root / "receipts"
        self.ranges = self.root / "ranges"
        # a source index fetched to check requests, kept for the download that follows it in
        # this process (the .fai is then fetched once per run, not twice); used at most once
        self._fetched_indexes: dict[str, bytes] = {}

    def source_index(self, location: Location, suffix: str) -> bytes | None:
        """The source's ``.fai``/``.gzi`` (small files), kept for this process's download of it."""
        index = location.sibling(suffix)
        blob = sources.fetch_small(index, self.policy)
        if blob:
            self._fetched_indexes[index.url] = blob
        return blob

    # --- paths ---------------------------------------------------------------------------

    def _inside(self, path: Path) -> Path:
        """Refuse any path that resolves outside the cache (planted symlinks included)."""
        base = self.root.resolve()
        resolved = path.resolve()
        if base != resolved and base not in resolved.parents:
            raise IntegrityError(f"cache path {path.name} resolves outside the cache; refusing")
        return path

    def entry_dir(self, entry: str) -> Path:
        path = self.genomes / check_entry_name(entry)
        if path.is_symlink():
            raise IntegrityError(f"cache entry {entry} is a symlink; refusing to use it")
        return self._inside(path)

    @property
    def shared(self) -> bool:
        """A cache shared by a group: its root is setgid or group-writable (README: sharing).

        Then its folders are made setgid and group-writable, and lock files and partial
        downloads group-writable, whatever the umask; otherwise the umask is respected.
        """
        try:
            return bool(self.root.stat().st_mode & (statmod.S_ISGID | statmod.S_IWGRP))
        except OSError:
            return False

    def _staging_mode(self) -> int:
        return SHARED_STAGING_MODE if self.shared else STAGING_MODE

    def _mkdirs(self) -> None:
        # mkdir(parents=True) ignores ``mode`` for the parents it creates: create the root itself
        shared = self.shared
        for path in (self.root, self.genomes, self.locks):
            existed = path.is_dir()
            path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            self._inside(path)
            if shared and not existed and path != self.root:
                with contextlib.suppress(OSError):
                    os.chmod(path, SHARED_DIR_MODE)

    def _claim_staging(self, entry: str) -> None:
        """In a shared cache, drop another member's partial files this user cannot append to.

        Called under the entry's exclusive lock, so no one is writing them.
        """
        staging = self.genomes / f".partial-{entry}"
        if not self.shared or not staging.is_dir() or staging.is_symlink():
            return
        if staging.stat().st_uid != os.geteuid():  # its files are not ours to append to: restart
            os.rename(staging, self.genomes / f".quarantine-{entry}-{uuid.uuid4().hex[:8]}")
            return
        for file in staging.iterdir():
            if file.is_file() and not os.access(file, os.W_OK):
                file.unlink()

    # --- locks ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _lock(self, entry: str, exclusive: bool, wait: bool = True) -> Iterator[bool]:
        """Hold the entry's fcntl lock; yields False when ``wait`` is off and it is busy.

        On a read-only mount (EFS for retrieval jobs) readers open the existing lock
        file read-only, which is enough for a shared lock; every published entry has
        one, as its download created it. Without it they read unlocked.
        """
        path = self.locks / f"{check_entry_name(entry)}.lock"
        try:
            if exclusive:
                self._mkdirs()
            # never follow a symlink planted in place of a lock file (it would be created or touched)
            fd = os.open(
                path, ((os.O_RDWR | os.O_CREAT) if exclusive else os.O_RDONLY) | os.O_NOFOLLOW, 0o664
            )
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise IntegrityError(f"cache entry {entry}: its lock file is a symlink; refusing") from None
            if exclusive or exc.errno not in (errno.EROFS, errno.EACCES, errno.ENOENT, errno.EPERM):
                raise GenomeCacheError(f"cannot lock cache entry {entry}: {exc.strerror}") from None
            yield True
            return
        if exclusive and self.shared:  # every member of the group must be able to lock it
            with contextlib.suppress(OSError):
                os.fchmod(fd, SHARED_LOCK_MODE)
        # POSIX locks (the fallback to OFD locks) belong to the process: threads need this too
        thread_lock = (
            _THREAD_LOCKS.setdefault(f"{self.root}/{entry}", threading.Lock()) if exclusive else None
        )
        if thread_lock and not thread_lock.acquire(blocking=wait):
            os.close(fd)
            yield False
            return
        try:
            waited = 0.0
            while True:
                try:
                    _try_lock(fd, exclusive)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                        raise
                    if not wait:
                        yield False
                        return
                    if waited and waited % 30 < 0.5:
                        log.info("%s: waiting for another process to finish downloading it", entry)
                    time.sleep(0.5)
                    waited += 0.5
            yield True
        finally:
            os.close(fd)
            if thread_lock:
                thread_lock.release()

    def _touch(self, entry: str) -> None:
        with contextlib.suppress(OSError, NotImplementedError):
            os.utime(self.locks / f"{entry}.lock", follow_symlinks=False)

    # --- lookup ----------------------------------------------------------------------------

    def read_entry(self, entry: str) -> dict | None:
        """The published entry's record, or None when it is not (completely) published.

        Checks what can be checked cheaply on every open: ``entry.json`` against its own
        digest, the FASTA's size, modification time and BGZF end-of-file marker, and each
        index's size and sha256 as recorded at publish (indexes are small; a changed
        ``.fai``/``.gzi`` would serve wrong bases). A FASTA whose modification time changed
        is hashed whole. Data blocks are covered by their BGZF CRCs when read.
        :class:`IntegrityError` names the entry and what is wrong.
        """
        path = self.entry_dir(entry) / ENTRY_FILE
        try:
            record = json.loads(path.read_bytes())
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, ValueError) as exc:
            raise IntegrityError(f"cache entry {entry}: unreadable {ENTRY_FILE} ({_one_line(exc)})") from None
        # a damaged or tampered record must not crash us nor name a file outside the entry
        name = record.get("fasta") if isinstance(record, dict) else None
        if (
            not isinstance(name, str)
            or name != Path(name).name
            or name.startswith(".")
            or not isinstance(record.get("size"), int)
        ):
            raise IntegrityError(f"cache entry {entry}: malformed {ENTRY_FILE}")
        sealed = record.get("format") == RECORD_FORMAT
        if sealed and record.get("record_sha256") != record_digest(record):
            raise IntegrityError(f"cache entry {entry}: {ENTRY_FILE} changed since publish")
        fasta = self.entry_dir(entry) / name
        for file in (fasta, Path(f"{fasta}.fai"), Path(f"{fasta}.gzi")):
            if file.is_symlink() or not file.is_file():
                raise IntegrityError(f"cache entry {entry}: {file.name} is missing or not a regular file")
        stat = fasta.stat()
        if stat.st_size != record["size"] or not fastaformat.has_bgzf_eof(fasta):
            raise IntegrityError(f"cache entry {entry}: {fasta.name} is truncated or changed since publish")
        if not sealed:  # published before index digests were recorded: check indexes against the data
            fastaformat.check_indexes(fasta)
            return record
        indexes = record.get("index_files")
        if not isinstance(indexes, dict):
            raise IntegrityError(f"cache entry {entry}: malformed {ENTRY_FILE}")
        for suffix in INDEX_SUFFIXES:
            index = Path(f"{fasta}{suffix}")
            want = indexes.get(suffix) or {}
            if index.stat().st_size != want.get("size") or sha256_file(index) != want.get("sha256"):
                raise IntegrityError(f"cache entry {entry}: {index.name} changed since publish")
        if stat.st_mtime_ns != record.get("mtime_ns") and sha256_file(fasta) != record.get("sha256"):
            raise IntegrityError(
                f"cache entry {entry}: {fasta.name} changed since publish (checksum mismatch)"
            )
        return record

    def seal(self, staging: Path, record: dict) -> dict:
        """Record each index's size and sha256, who fetched it and the record's own digest,
        then write ``entry.json`` into ``staging``; called once just before publish."""
        fasta = staging / record["fasta"]
        record = {k: v for k, v in record.items() if k not in ("record_sha256", "last_used", "disk_bytes")}
        record["format"] = RECORD_FORMAT
        record["mtime_ns"] = fasta.stat().st_mtime_ns
        record["index_files"] = {
            suffix: {
                "size": Path(f"{fasta}{suffix}").stat().st_size,
                "sha256": sha256_file(Path(f"{fasta}{suffix}")),
            }
            for suffix in INDEX_SUFFIXES
        }
        if self.session and "session" not in record:
            record["session"] = self.session
        record["record_sha256"] = record_digest(record)
        (staging / ENTRY_FILE).write_text(json.dumps(record, indent=1) + "\n")
        # the (redacted) source URL outside the entry too, so a reader can fetch an entry
        # again whose entry.json is damaged
        with contextlib.suppress(OSError):
            source = self.locks / f"{check_entry_name(record['entry'])}.source"
            tmp = source.with_name(f".{source.name}.{uuid.uuid4().hex[:8]}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "w") as out:
                out.write(json.dumps({"url": record["url"]}) + "\n")
            os.replace(tmp, source)
        return record

    def _from_mirror(self, location: Location) -> Path | None:
        if not self.mirror:
            return None
        fasta = self.mirror / location.basename
        if not fasta.is_file():
            return None
        with open(fasta, "rb") as handle:
            gzipped = handle.read(2) == b"\x1f\x8b"
        if gzipped and not (is_bgzf(fasta) and fasta.name.endswith((".gz", ".bgz"))):
            # pyfaidx reads only BGZF named *.gz/*.bgz; plain gzip cannot be read by region at all
            log.warning("mirror has %s, which is not BGZF named *.gz; not using it", fasta.name)
            return None
        if missing_files(fasta):
            log.warning("mirror has %s without its index; not using it", fasta.name)
            return None
        return fasta

    def ensure(self, url: str, known_hash: str | None = None) -> Resolved:
        """Make the genome at ``url`` available locally and say where it came from.

        Mirror first, then the cache, then the network (one download under any
        concurrency: others wait on the lock and reuse the result).
        """
        location = parse_location(url)
        parse_known_hash(known_hash)  # a malformed checksum fails before anything is fetched
        entry = location.entry_name
        mirrored = self._from_mirror(location)
        if mirrored:
            return Resolved(location.display, entry, str(mirrored), "mirror", mirrored.stat().st_size)
        hit, problem = self._hit(location, discard_bad=False)
        if hit:
            return hit
        if problem and not self.writable():
            raise IntegrityError(self.repair_hint(entry, problem))
        with self._lock(entry, exclusive=True):
            hit, _ = self._hit(location, discard_bad=True)
            if hit:
                return hit
            try:
                self._claim_staging(entry)
                resolved = self._download(location, known_hash)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                # a partial that filled the disk would wedge every later fetch: never keep it
                _rmtree(self.genomes / f".partial-{entry}")
                raise GenomeCacheError(
                    f"{location.display}: no space left on device in cache {self.root} while "
                    f"downloading it; the partial download was removed (free: {_free(self.genomes)})"
                ) from None
        with contextlib.suppress(OSError, GenomeCacheError):
            self.sweep(partials=False)  # quarantined entries no reader holds any more
        return resolved

    def writable(self) -> bool:
        """Whether this process can publish into the cache (False on a read-only mount)."""
        path = self.genomes if self.genomes.is_dir() else self.root
        while not path.exists() and path != path.parent:
            path = path.parent
        return os.access(path, os.W_OK)

    def repair_hint(self, entry: str, problem: str) -> str:
        return (
            f"{problem}; the cache is not writable here: run "
            f"'genome_cache.py --cache-dir {self.root} verify {entry}' (or 'remove {entry}') "
            "where it is writable, then rerun"
        )

    def _hit(self, location: Location, discard_bad: bool) -> tuple[Resolved | None, str | None]:
        """The published entry if it passes :meth:`read_entry`, else the problem found."""
        try:
            record = self.read_entry(location.entry_name)
        except IntegrityError as exc:
            if discard_bad:  # only under the exclusive lock
                log.warning("%s; it will be fetched again", exc)
                self.discard(location.entry_name)
            return None, str(exc)
        if record is None:
            return None, None
        self._touch(location.entry_name)
        fasta = self.entry_dir(location.entry_name) / record["fasta"]
        return Resolved(location.display, location.entry_name, str(fasta), "cache", record["size"]), None

    def discard(self, entry: str, kind: str = "genome", held: bool = True) -> None:
        """Move a bad or pruned entry (``genome`` or ``range``) out of sight atomically.

        With ``held`` (the caller holds the entry's exclusive lock, so no one reads it) it is
        deleted at once; otherwise (a reader found damage under its shared lock) it stays in
        ``.quarantine-*`` until no one holds the lock (:meth:`sweep`, run by prune and
        fetch). The storeDir receipt goes too, so the next run fetches the entry again.
        """
        parent = self.genomes if kind == "genome" else self.ranges
        path = parent / check_entry_name(entry)
        if os.path.lexists(path):
            trash = parent / f".quarantine-{entry}-{uuid.uuid4().hex[:8]}"
            os.rename(path, trash)
            if trash.is_symlink():
                trash.unlink()
            elif held:
                _rmtree(trash)
        receipts = self.receipts / entry
        shutil.rmtree(receipts if kind == "genome" else receipts / "range", ignore_errors=True)

    def quarantine(self, entry: str, problem: str) -> IntegrityError:
        """Move a damaged entry aside (a reader found it); the message says what happens next.

        Never waits: readers holding the shared lock keep their open files; the entry is
        deleted once no one holds it. On a cache this process cannot write, the message
        names the command that repairs it.
        """
        try:
            self.discard(entry, held=False)
        except OSError:
            return IntegrityError(self.repair_hint(entry, problem))
        log.warning("%s; moved aside, it will be fetched again", problem)
        return Quarantined(f"{problem}; moved aside, rerun to fetch it again")

    def sweep(self, partials: bool = True) -> list[str]:
        """Delete quarantined entries (and stale partial downloads) that no process holds."""
        removed = []
        for parent, kind in ((self.genomes, "genome"), (self.ranges, "range")):
            if not parent.is_dir():
                continue
            for path in sorted(parent.iterdir()):
                match = _ASIDE.fullmatch(path.name)
                if not match or path.is_symlink() or (path.name.startswith(".partial-") and not partials):
                    continue
                entry = match.group("entry")
                if not _ENTRY_NAME.fullmatch(entry):
                    continue
                lock = entry if kind == "genome" else self._lock_name(entry, kind)
                with self._lock(lock, exclusive=True, wait=False) as free:
                    if not free:
                        continue
                    _rmtree(path)
                if os.path.lexists(path):  # another member's files in a group-shared cache: not ours
                    continue
                removed.append(path.name)
        return removed

    # --- download and publish --------------------------------------------------------------

    def _download(self, location: Location, known_hash: str | None) -> Resolved:
        entry = location.entry_name
        staging = self.genomes / f".partial-{entry}"
        if staging.is_symlink() or (os.path.lexists(staging) and not staging.is_dir()):
            staging.unlink()
        staging.mkdir(mode=self._staging_mode(), exist_ok=True)  # INTEGRITY: group-shared caches
        self._inside(staging)
        os.chmod(staging, self._staging_mode())  # a download in progress is private until it is published
        for leftover in staging.iterdir():  # resume or reuse only our own regular files
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover)
            elif leftover.is_symlink() or not leftover.is_file():
                leftover.unlink()
        raw = staging / "download"
        log.info("%s: downloading", location.display)
        expected = parse_known_hash(known_hash)
        # one pass: digests, every BGZF block's CRC (or the BGZF recompression) while the
        # bytes arrive, and the source's indexes fetched alongside
        side = ThreadPoolExecutor(1, thread_name_prefix="indexes")
        source_indexes: list[Future[dict[str, bytes | None]]] = []

        def indexes_alongside() -> None:
            """Once the source has answered (it exists), fetch its indexes beside the body; when
            both come, no ``.fai`` needs building from the text."""
            future = side.submit(self._source_indexes, location)
            future.add_done_callback(
                lambda done: (
                    ingest.drop_fai() if done.exception() is None and all(done.result().values()) else None
                )
            )
            source_indexes.append(future)

        ingest = Ingest(
            location.display,
            staging / "recompressed.gz",
            {expected[0]} if expected else set(),
            on_begin=indexes_alongside,
        )
        try:
            got = sources.download(  # INTEGRITY: free space checked once the size is known
                location, raw, self.policy, self.progress, consumer=SpaceCheck(ingest, location, raw)
            )
            record = self._verify_and_index(
                location, staging, got, known_hash, ingest, source_indexes[0] if source_indexes else None
            )
        except IntegrityError:
            ingest.close()
            shutil.rmtree(staging, ignore_errors=True)  # never resume from bad bytes
            raise
        except BaseException:
            ingest.close()
            if not raw.is_file() or raw.stat().st_size == 0:  # nothing to resume: leave no trace
                shutil.rmtree(staging, ignore_errors=True)
            raise
        finally:
            side.shutdown(wait=False)
        record.update(bytes_downloaded=got.bytes_transferred, seconds=round(got.seconds, 3))
        record = self.seal(staging, record)  # INTEGRITY: index digests, session, record digest
        keep = {record["fasta"], f"{record['fasta']}.fai", f"{record['fasta']}.gzi", ENTRY_FILE}
        for file in staging.iterdir():
            if file.name not in keep:  # leftovers of an interrupted attempt are not published
                file.unlink()
                continue
            os.chmod(file, PUBLISHED_FILE_MODE)
            fastaformat.fsync_path(file)
        os.chmod(staging, PUBLISHED_DIR_MODE)
        fastaformat.fsync_path(staging)
        self.discard(entry)  # a leftover without entry.json (never ours) is not served
        os.rename(staging, self.genomes / entry)
        fastaformat.fsync_path(self.genomes)
        self._touch(entry)
        log.info("%s: cached as %s (%d bytes fetched)", location.display, entry, got.bytes_transferred)
        return Resolved(
            location.display,
            entry,
            str(self.genomes / entry / record["fasta"]),
            "local" if location.scheme == "file" else "network",  # a file:// copy moved no network bytes
            record["size"],
            got.bytes_transferred,
            got.seconds,
        )

    def _verify_and_index(
        self,
        location: Location,
        staging: Path,
        got: sources.Download,
        known_hash: str | None,
        ingest: Ingest,
        source_indexes: Future[dict[str, bytes | None]] | None,
    ) -> dict:
        """Finish the checks :class:`Ingest` ran during the download and index the FASTA.

        Nothing here reads the genome back whole: digests and block CRCs are known, the
        ``.gzi`` is checked against (or written from) the block table, and only the
        ``.fai`` check (a few reads per sequence) or build reads the data.
        """
        raw = got.path
        done = ingest.finish()  # NotFastaError; a bad block or truncation is done.problem
        expected = parse_known_hash(known_hash)
        if expected and done.digests[expected[0]] != expected[1]:
            raise IntegrityError(
                f"{location.display}: {expected[0]} mismatch: expected {expected[1]}, "
                f"got {done.digests[expected[0]]}; the download was removed"
            )
        if got.md5 and done.digests.get("md5") != got.md5:
            raise IntegrityError(
                f"{location.display}: MD5 does not match the S3 ETag; the download was removed"
            )
        if done.problem:
            raise IntegrityError(done.problem)
        # always *.gz: pyfaidx reads BGZF only under that name, and it cannot clash with
        # the staging files (download, download.json, entry.json)
        base = location.basename
        name = base if base.endswith((".gz", ".bgz")) else f"{base}.gz"
        fasta = staging / name
        if done.fmt == "bgzf":
            raw.rename(fasta)
            fastaformat.remember_blocks(fasta, done.blocks)  # checks of the indexes need no re-scan
            blobs = source_indexes.result() if source_indexes else self._source_indexes(location)
            indexes = self._fetch_indexes(location, fasta, done.blocks, blobs, done.fai)
        else:
            log.info("%s: %s FASTA; recompressed as BGZF while downloading", location.display, done.fmt)
            (staging / "recompressed.gz").rename(fasta)
            fastaformat.remember_blocks(fasta, done.blocks)
            raw.unlink()
            if done.fai is not None:  # built while the text went by: no re-read of the genome
                Path(f"{fasta}.fai").write_bytes(done.fai)
                Path(f"{fasta}.gzi").write_bytes(bgzf.gzi_bytes(done.blocks))
            else:
                fastaformat.build_indexes(fasta, done.blocks)
            indexes = "built"
            fastaformat.check_indexes(fasta)
        raw.with_name(raw.name + ".json").unlink(missing_ok=True)
        return {
            "url": location.display,
            "entry": location.entry_name,
            "fasta": name,
            "size": fasta.stat().st_size,
            "sha256": done.fasta_sha256,
            "source_format": done.fmt,
            "source_size": got.size,
            "source_etag": got.etag,
            "indexes": indexes,
            "fetched_at": _now(),
            "verified_at": _now(),
        }

    def _source_indexes(self, location: Location) -> dict[str, bytes | None]:
        """The source's ``.fai`` and ``.gzi`` (None for each that cannot be had)."""
        blobs: dict[str, bytes | None] = {".fai": None, ".gzi": None}
        for suffix in blobs:
            index = location.sibling(suffix)
            remembered = self._fetched_indexes.pop(index.url, None)
            try:
                blobs[suffix] = remembered or sources.fetch_small(index, self.policy)
            except SourceError as exc:
                log.warning("%s; building indexes instead", exc)
            if not blobs[suffix]:
                break
        return blobs

    def _fetch_indexes(
        self,
        location: Location,
        fasta: Path,
        blocks: list[tuple[int, int, int]],
        blobs: dict[str, bytes | None],
        fai: bytes | None = None,
    ) -> str:
        """Use the source's ``.fai``/``.gzi`` when both exist and match; otherwise build them.

        The indexes are optional: any failure to fetch them (403 for a presigned URL that
        signs only the FASTA, 403 for a missing key without s3:ListBucket, retries used up)
        means building them, never failing a download that succeeded. The ``.gzi`` is
        checked against the block table of the download, the ``.fai`` against the data.
        """
        if all(blobs.values()):
            for suffix, blob in blobs.items():
                Path(f"{fasta}{suffix}").write_bytes(blob or b"")
            try:
                fastaformat.check_indexes(fasta)
                return "downloaded"
            except IntegrityError as exc:
                log.warning("%s; building indexes instead", exc)
        if fai is not None:  # built from the text during the download: no re-read
            Path(f"{fasta}.fai").write_bytes(fai)
            Path(f"{fasta}.gzi").write_bytes(bgzf.gzi_bytes(blocks))
        else:
            fastaformat.build_indexes(fasta, blocks)
        fastaformat.check_indexes(fasta)
        return "built"

    # --- public entry API for range mode and other modules (TRANSPORT) ---------------------
    # Small wrappers so no other module calls a private method of GenomeCache.

    def lock(self, name: str, exclusive: bool, wait: bool = True) -> contextlib.AbstractContextManager[bool]:
        """The fcntl lock ``locks/<name>.lock`` (an entry, or :meth:`range_lock` of one)."""
        return self._lock(name, exclusive, wait)

    def touch(self, name: str) -> None:
        """Record a use of ``name`` (its lock file's mtime orders pruning)."""
        self._touch(name)

    def inside(self, path: Path) -> Path:
        """``path`` when it resolves inside the cache; IntegrityError otherwise."""
        return self._inside(path)

    def mirrored(self, location: Location) -> Path | None:
        """The mirror's indexed copy of ``location``, if any."""
        return self._from_mirror(location)

    @staticmethod
    def range_lock(entry: str) -> str:
        """The lock name of range entry ``entry``."""
        return GenomeCache._lock_name(entry, "range")

    # --- reading ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def reading(self, fasta: str | os.PathLike[str]) -> Iterator[Path]:
        """Hold a shared lock on the entry a cached FASTA belongs to while it is read.

        The entry is checked on open (:meth:`read_entry`). Anything but a
        :class:`GenomeCacheError` raised while reading (a BGZF CRC error, ``struct.error``,
        pyfaidx on a damaged file) becomes one :class:`IntegrityError` line naming the
        entry; if the entry is then found damaged it is quarantined, so the next run
        fetches it again.
        """
        fasta = self.entry_path(fasta) or Path(fasta).absolute()
        entry = fasta.parent.name
        if fasta.parent.parent != self.genomes:
            # a mirror or user file: not ours to prune or heal, but never a traceback
            try:
                yield fasta
            except GenomeCacheError:
                raise
            except Exception as exc:
                log.debug("reading %s failed", fasta, exc_info=True)
                raise IntegrityError(f"genome {fasta.name}: unreadable ({_one_line(exc)})") from None
            return
        with self._lock(entry, exclusive=False):
            try:
                record = self.read_entry(entry)
            except IntegrityError as exc:
                raise self.quarantine(entry, str(exc)) from None
            if record is None or record["fasta"] != fasta.name:
                raise IntegrityError(
                    f"cache entry {entry} is not published (pruned?); rerun to fetch it again"
                )
            self._touch(entry)
            try:
                yield fasta
            except GenomeCacheError:
                raise
            except Exception as exc:
                log.debug("reading %s failed", fasta, exc_info=True)
                raise self._read_failed(entry, fasta, exc) from None

    def entry_path(self, path: str | os.PathLike[str]) -> Path | None:
        """``genomes/<entry>/<file>`` of this cache when ``path`` names a file of an entry,
        also through another spelling of the cache root (a symlink, a relative path)."""
        path = Path(path).absolute()
        if path.parent.parent == self.genomes:
            return path
        try:
            if path.parent.parent.resolve() == self.genomes.resolve():
                return self.genomes / path.parent.name / path.name
        except OSError:
            pass
        return None

    def _read_failed(self, entry: str, fasta: Path, exc: BaseException) -> IntegrityError:
        """Tell damage (quarantined) from any other failure while reading an entry."""
        problem = f"cache entry {entry}: reading {fasta.name} failed ({_one_line(exc)})"
        try:
            fastaformat.check_bgzf(fasta)  # every block's CRC: slow, but only on this path
            fastaformat.check_indexes(fasta)
        except IntegrityError as damage:
            return self.quarantine(entry, f"cache entry {entry}: damaged ({damage})")
        except OSError as err:
            return IntegrityError(f"{problem}; {err.strerror or err}")
        return IntegrityError(problem)

    # --- management ------------------------------------------------------------------------

    def entries(self) -> list[dict]:
        """Published entries with kind, size, source URL, last use and verification time.

        ``genome`` entries are whole cached genomes; ``range`` entries hold the indexes and
        fetched blocks of range mode (blocks are CRC-checked on every read).
        """
        result = []
        for kind, parent in (("genome", self.genomes), ("range", self.ranges)):
            if not parent.is_dir():
                continue
            for path in sorted(parent.iterdir()):
                if path.name.startswith(".") or path.is_symlink():
                    continue
                try:
                    record = self.read_entry(path.name) if kind == "genome" else _range_record(path)
                except IntegrityError as exc:
                    record = {"entry": path.name, "problem": str(exc)}
                if record is None:
                    continue
                lock = self.locks / f"{self._lock_name(path.name, kind)}.lock"
                record["kind"] = kind
                record["last_used"] = lock.stat().st_mtime if lock.exists() else path.stat().st_mtime
                record["disk_bytes"] = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
                result.append(record)
        return result

    @staticmethod
    def _lock_name(entry: str, kind: str) -> str:
        return entry if kind == "genome" else f"{entry}.ranges"

    def verify(self, entry: str, remove_bad: bool = True) -> str | None:
        """Recompute the checksum and every block's CRC, check EOF marker and indexes.

        A bad entry is removed (it is fetched again on next use).
        """
        with self._lock(entry, exclusive=True):
            try:
                record = self.read_entry(entry)
                if record is None:
                    return f"{entry}: not published"
                fasta = self.entry_dir(entry) / record["fasta"]
                if sha256_file(fasta) != record["sha256"]:
                    raise IntegrityError(f"cache entry {entry}: checksum mismatch (bit rot or tampering)")
                fastaformat.check_bgzf(fasta)
                fastaformat.check_indexes(fasta)
            except IntegrityError as exc:
                if remove_bad:
                    self.discard(entry)
                    return f"{exc}; removed, it will be fetched again on next use"
                return str(exc)
            record["verified_at"] = _now()
            with contextlib.suppress(OSError):  # only the entry's owner may note it in place
                self._rewrite_record(entry, record)
            return None

    def _rewrite_record(self, entry: str, record: dict) -> None:
        """Replace ``entry.json`` atomically (re-sealed), briefly opening the read-only folder."""
        folder = self.entry_dir(entry)
        path = folder / ENTRY_FILE
        tmp = path.with_name(f".{ENTRY_FILE}.{uuid.uuid4().hex[:8]}")
        record = {k: v for k, v in record.items() if k not in ("last_used", "disk_bytes", "kind")}
        if record.get("format") == RECORD_FORMAT:
            record["record_sha256"] = record_digest(record)
        os.chmod(folder, DIR_MODE)
        try:
            tmp.write_text(json.dumps(record, indent=1) + "\n")
            os.chmod(tmp, PUBLISHED_FILE_MODE)
            fastaformat.fsync_path(tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
            os.chmod(folder, PUBLISHED_DIR_MODE)

    def remove(self, entry: str) -> str:
        """Remove one entry (genome and range data) now; refuses while a task reads or downloads it."""
        check_entry_name(entry)
        kinds = [
            k
            for k in ("genome", "range")
            if os.path.lexists((self.genomes if k == "genome" else self.ranges) / entry)
        ]
        if not kinds:
            raise GenomeCacheError(f"cache entry {entry}: not in the cache")
        for kind in kinds:
            with self._lock(self._lock_name(entry, kind), exclusive=True, wait=False) as free:
                if not free:
                    raise GenomeCacheError(f"cache entry {entry}: in use by another task; not removed")
                self.discard(entry, kind)
        return entry

    def prune(self, max_size: int, dry_run: bool = False) -> list[str]:
        """Remove least recently used entries until the cache holds at most ``max_size`` bytes.

        An entry being read (shared lock held) or downloaded is skipped, never removed.
        Quarantined entries and partial downloads that no process holds are removed too.
        """
        removed = []
        for record in self.prune_plan(max_size)["remove"]:
            lock = self._lock_name(record["entry"], record["kind"])
            with self._lock(lock, exclusive=True, wait=False) as locked:
                if not locked:
                    log.info("%s: in use; not pruned", record["entry"])
                    continue
                if not dry_run:
                    self.discard(record["entry"], record["kind"])
            removed.append(record["entry"])
        if not dry_run:
            removed += self.sweep()
        return removed

    def prune_plan(self, max_size: int) -> dict:
        """Which entries prune keeps and which it removes (least recently used first)."""
        entries = sorted(self.entries(), key=lambda r: r["last_used"])
        total = sum(r.get("disk_bytes", 0) for r in entries)
        keep, remove = [], []
        for record in entries:
            if total > max_size:
                remove.append(record)
                total -= record.get("disk_bytes", 0)
            else:
                keep.append(record)
        return {"keep": keep, "remove": remove, "bytes_after": total}

    def status(self) -> dict:
        """Totals and any downloads in progress or abandoned."""
        entries = self.entries()
        partial = sorted(p.name for p in self.genomes.glob(".partial-*")) if self.genomes.is_dir() else []
        return {
            "root": str(self.root),
            "mirror": str(self.mirror) if self.mirror else None,
            "entries": len(entries),
            "bytes": sum(r.get("disk_bytes", 0) for r in entries),
            "problems": [r["problem"] for r in entries if "problem" in r],
            "partial_downloads": partial,
            # damaged or removed entries waiting for their last reader; prune deletes them
            "quarantined": sorted(p.name for p in self.genomes.glob(".quarantine-*"))
            if self.genomes.is_dir()
            else [],
        }

    # --- small cached records (variant API answers); section owned by the variants code ----

    def cached_record(self, kind: str, key: str, fetch: Callable[[], dict]) -> dict:
        """A small JSON record kept in ``records/<kind>/``, fetched at most once per cache.

        Parameters
        ----------
        kind
            Lower-case name of the record family, e.g. ``variant``.
        key
            What identifies the record (e.g. a redacted URL); only its digest names the file.
        fetch
            Returns the record; it raises for a bad answer, so nothing bad is stored.

        Returns
        -------
        dict
            The stored record, or the fetched one (stored under the record's exclusive lock
            and published with one atomic rename; on a read-only cache it is not stored).
        """
        if not re.fullmatch(r"[a-z][a-z0-9_]*", kind):
            raise GenomeCacheError(f"not a record kind: {kind!r}")
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        folder = self.root / "records" / kind
        path = folder / f"{digest}.json"
        record = self._stored_record(path, key)
        if record is not None:
            return record
        if not self.writable():
            log.info("cache %s is read-only: %s record not stored", self.root, kind)
            return fetch()
        with self._lock(f"record-{kind}-{digest}", exclusive=True):
            record = self._stored_record(path, key)  # another process may have stored it meanwhile
            if record is not None:
                return record
            record = fetch()
            for directory in (self.root / "records", folder):
                directory.mkdir(mode=DIR_MODE, exist_ok=True)
                self._inside(directory)
            tmp = folder / f".{digest}.{uuid.uuid4().hex[:8]}.tmp"
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
                with os.fdopen(fd, "w") as out:
                    json.dump({"kind": kind, "key": key, "stored_at": _now(), "data": record}, out)
                fastaformat.fsync_path(tmp)
                os.replace(tmp, path)
                fastaformat.fsync_path(folder)
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                log.warning("%s record not stored in the cache: %s", kind, exc.strerror)
            return record

    def _stored_record(self, path: Path, key: str) -> dict | None:
        """A stored record for ``key``, or None (absent, unreadable, or not ours: refetched)."""
        try:
            if path.is_symlink():
                return None
            self._inside(path)
            stored = json.loads(path.read_text())
        except (OSError, ValueError, IntegrityError):
            return None
        if not isinstance(stored, dict) or stored.get("key") != key:
            return None
        if not isinstance(stored.get("data"), dict):
            return None
        return stored["data"]


def _range_record(path: Path) -> dict | None:
    """A range entry's record (its ``entry.json``), or None while it is being prepared."""
    try:
        record = json.loads((path / ENTRY_FILE).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        raise IntegrityError(f"range entry {path.name}: unreadable {ENTRY_FILE}") from None
    if not isinstance(record, dict):
        raise IntegrityError(f"range entry {path.name}: malformed {ENTRY_FILE}")
    return record


def resolve_for_reading(url: str, cache: GenomeCache) -> str:
    """A local path to read ``url`` from: indexed local files in place, anything else via the cache.

    A file inside the cache (the pipeline hands a cached genome over as ``file://``) is
    the cache entry itself: it is checked, and when damaged or gone it is fetched again
    from the URL its entry records, never treated as a source of its own.
    """
    location = parse_location(url)
    if location.scheme == "file":
        path = Path(location.local_path)
        inside = cache.entry_path(path)
        if inside is not None:
            return _resolve_entry_file(inside, cache)
        if not missing_files(path):
            return str(path)
    return _ensure_for_reading(url, cache)


def _ensure_for_reading(url: str, cache: GenomeCache) -> str:
    location = parse_location(url)
    try:
        return cache.ensure(url).fasta
    except GenomeCacheError:
        raise
    except OSError as exc:
        raise GenomeCacheError(
            f"{location.display}: cache {cache.root}: {exc.strerror or _one_line(exc)}"
        ) from None


def _resolve_entry_file(path: Path, cache: GenomeCache) -> str:
    """A cached FASTA named by path: the entry if sound, else fetched again from its URL."""
    entry = path.parent.name
    try:
        record = cache.read_entry(entry)
        if record is not None and record["fasta"] == path.name:
            return str(path)
        problem = f"cache entry {entry} is not published (pruned or removed)"
    except IntegrityError as exc:
        problem = str(exc)
        record = None
    # the URL an entry records is trusted only if it names this very entry
    url = _recorded_url(cache, entry) if record is None else record.get("url")
    if not url:
        if not cache.writable():
            raise IntegrityError(cache.repair_hint(entry, problem))
        with contextlib.suppress(OSError):
            cache.discard(entry, held=False)  # and its receipt: the next run fetches it again
        raise IntegrityError(
            f"{problem}; its source URL is unknown here: moved aside, rerun the pipeline (its "
            f"download step fetches it again) or run 'genome_cache.py --cache-dir {cache.root} fetch URL'"
        )
    log.warning("%s; fetching it again from %s", problem, url)
    try:
        return _ensure_for_reading(url, cache)
    except SourceError as exc:
        raise SourceError(f"{problem}; fetching it again failed: {exc}") from None


def _recorded_url(cache: GenomeCache, entry: str) -> str | None:
    """The URL in an entry's (possibly damaged) record, if it still names this entry."""
    for path in (
        cache.genomes / entry / ENTRY_FILE,
        cache.locks / f"{entry}.source",
        cache.receipts / entry / "receipt.json",
    ):
        try:
            url = json.loads(path.read_bytes()).get("url")
            if isinstance(url, str) and parse_location(url).entry_name == entry:
                return url
        except (OSError, ValueError, AttributeError, GenomeCacheError):
            continue
    return None


def to_json(resolved: Resolved) -> dict:
    return asdict(resolved)
