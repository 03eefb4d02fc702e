"""Fetch genome files over http(s)://, s3:// and file://, resumably and with retries.

A download appends to a partial file; after a dropped connection it resumes with an
exact ``Range: bytes=<have>-<last>`` request (ranged GetObject on S3), guarded by
the ETag so a changed remote file restarts from zero. Transient failures (5xx,
resets, timeouts, short bodies) back off exponentially a bounded number of times.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from http.client import HTTPException
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from .errors import IntegrityError, SourceError
from .locations import Location

log = logging.getLogger(__name__)
CHUNK = 1 << 20


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff; environment variables let tests shorten it."""

    attempts: int = int(os.environ.get("GENOMECACHE_RETRIES", "5"))
    backoff: float = float(os.environ.get("GENOMECACHE_BACKOFF", "1.0"))
    max_backoff: float = 30.0
    timeout: float = float(os.environ.get("GENOMECACHE_TIMEOUT", "60"))

    def delay(self, attempt: int) -> float:
        return min(self.backoff * 2 ** (attempt - 1), self.max_backoff)


@dataclass
class RemoteInfo:
    """What the source says about a file before we read it."""

    size: int | None
    etag: str | None = None

    @property
    def md5(self) -> str | None:
        """The ETag when it is a plain MD5 (single-part S3 uploads), else None."""
        tag = (self.etag or "").strip('"')
        return tag.lower() if len(tag) == 32 and all(c in "0123456789abcdefABCDEF" for c in tag) else None


class NotFound(SourceError):
    """The source answered that the file does not exist."""


class Transient(Exception):
    """A failure worth retrying."""


class _HeadRefused(SourceError):
    """The server does not answer HEAD for this URL (presigned GET URLs: 403; some servers: 405)."""


# --- one small backend per scheme: stat() and stream(start, end) -------------------------


class HttpBackend:
    def __init__(self, location: Location, policy: RetryPolicy) -> None:
        self.location, self.policy = location, policy
        # urllib cannot use user:password@ in a URL (it looks the whole netloc up as a host
        # name): send it as Basic auth instead, to this host only (not along redirects)
        parts = urlsplit(location.url)
        self.url, self.auth = location.url, None
        if "@" in parts.netloc:
            userinfo, _, hostport = parts.netloc.rpartition("@")
            user, _, password = userinfo.partition(":")
            self.url = urlunsplit(parts._replace(netloc=hostport))
            token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
            self.auth = f"Basic {token}"

    def _open(self, method: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
        request = urllib.request.Request(self.url, method=method, headers=headers)
        if self.auth:
            request.add_unredirected_header("Authorization", self.auth)
        try:
            return urllib.request.urlopen(request, timeout=self.policy.timeout)
        except urllib.error.HTTPError as exc:
            if method == "HEAD" and exc.code in (403, 405, 501):
                raise _HeadRefused(f"{self.location.display}: HEAD refused (HTTP {exc.code})") from None
            if exc.code >= 500 or exc.code == 429:
                raise Transient(f"HTTP {exc.code}") from None
            if exc.code in (404, 410):
                raise NotFound(f"{self.location.display}: not found (HTTP {exc.code})") from None
            raise SourceError(f"{self.location.display}: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError, HTTPException) as exc:
            raise Transient(_reason(exc)) from None

    def stat(self) -> RemoteInfo:
        try:
            with self._open("HEAD", {}) as response:
                length = response.headers.get("Content-Length")
                return RemoteInfo(int(length) if length is not None else None, response.headers.get("ETag"))
        except _HeadRefused:
            pass
        # a presigned S3 URL signs one method (GET): ask for its first byte to learn the size
        with self._open("GET", {"Range": "bytes=0-0", "Accept-Encoding": "identity"}) as response:
            total = (response.headers.get("Content-Range") or "").rpartition("/")[2]
            length = response.headers.get("Content-Length") if response.status == 200 else total
            size = int(length) if length and length.isdigit() else None
            return RemoteInfo(size, response.headers.get("ETag"))

    def stream(self, start: int, end: int | None, etag: str | None) -> tuple[bool, Iterator[bytes]]:
        """Bytes from ``start`` to ``end`` (inclusive); False when the server sent the whole file."""
        headers = {"Accept-Encoding": "identity"}
        if start > 0 or end is not None:
            headers["Range"] = f"bytes={start}-{'' if end is None else end}"
            if etag:
                headers["If-Range"] = etag
        response = self._open("GET", headers)
        ranged = response.status == 206
        if headers.get("Range") and not ranged:
            log.info("%s: server ignored Range; reading from the start", self.location.display)
        return ranged or start == 0, _read_all(response, self.policy)


class S3Backend:
    def __init__(self, location: Location, policy: RetryPolicy) -> None:
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config

        self.location, self.policy = location, policy
        parts = urlsplit(location.url)
        self.bucket, self.key = parts.hostname or "", parts.path.lstrip("/")
        session = boto3.session.Session()
        unsigned = session.get_credentials() is None or os.environ.get("GENOMECACHE_S3_ANONYMOUS") == "1"
        config = Config(
            retries={"max_attempts": 1},
            connect_timeout=policy.timeout,
            read_timeout=policy.timeout,
            signature_version=UNSIGNED if unsigned else None,
        )
        self.client = session.client("s3", config=config)

    def _call(self, method: str, **kwargs):  # type: ignore[no-untyped-def]
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(Bucket=self.bucket, Key=self.key, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code in ("404", "NoSuchKey", "NotFound"):
                raise NotFound(f"{self.location.display}: not found") from None
            if status >= 500 or code in ("SlowDown", "InternalError", "ServiceUnavailable"):
                raise Transient(f"S3 {code}") from None
            raise SourceError(f"{self.location.display}: S3 {code or status}") from None
        except (BotoCoreError, OSError) as exc:
            raise Transient(_reason(exc)) from None

    def stat(self) -> RemoteInfo:
        head = self._call("head_object")
        return RemoteInfo(head["ContentLength"], head.get("ETag"))

    def stream(self, start: int, end: int | None, etag: str | None) -> tuple[bool, Iterator[bytes]]:
        kwargs: dict[str, str] = {}
        if start > 0 or end is not None:
            kwargs["Range"] = f"bytes={start}-{'' if end is None else end}"
            if etag:
                kwargs["IfMatch"] = etag
        body = self._call("get_object", **kwargs)["Body"]
        return True, _read_all(body, self.policy)


class FileBackend:
    def __init__(self, location: Location, policy: RetryPolicy) -> None:
        self.location, self.path = location, location.local_path

    def stat(self) -> RemoteInfo:
        try:
            return RemoteInfo(os.stat(self.path).st_size)
        except FileNotFoundError:
            raise NotFound(f"{self.location.display}: no such file") from None
        except OSError as exc:
            raise SourceError(f"{self.location.display}: {exc.strerror}") from None

    def stream(self, start: int, end: int | None, etag: str | None) -> tuple[bool, Iterator[bytes]]:
        def chunks() -> Iterator[bytes]:
            with open(self.path, "rb") as handle:
                handle.seek(start)
                remaining = None if end is None else end - start + 1
                while remaining is None or remaining > 0:
                    data = handle.read(CHUNK if remaining is None else min(CHUNK, remaining))
                    if not data:
                        return
                    if remaining is not None:
                        remaining -= len(data)
                    yield data

        return True, chunks()


BACKENDS = {"http": HttpBackend, "https": HttpBackend, "s3": S3Backend, "file": FileBackend}


def backend(location: Location, policy: RetryPolicy | None = None):  # type: ignore[no-untyped-def]
    return BACKENDS[location.scheme](location, policy or RetryPolicy())


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    return type(reason).__name__ if isinstance(reason, socket.timeout) else str(reason) or type(exc).__name__


def _read_all(response, policy: RetryPolicy) -> Iterator[bytes]:  # type: ignore[no-untyped-def]
    """Chunks of a response body; socket errors mid-body become Transient."""
    try:
        while True:
            data = response.read(CHUNK)
            if not data:
                break
            yield data
    except (TimeoutError, OSError, HTTPException) as exc:
        raise Transient(f"connection lost mid-body ({_reason(exc)})") from None
    except Exception as exc:  # botocore wraps socket errors in its own classes
        if type(exc).__module__.startswith(("botocore", "urllib3")):
            raise Transient(f"connection lost mid-body ({_reason(exc)})") from None
        raise
    finally:
        close = getattr(response, "close", None)
        if close:
            close()


# --- the download loop ----------------------------------------------------------------------


@dataclass
class Download:
    """Result of :func:`download`: the file and what crossed the network for it."""

    path: Path
    size: int
    etag: str | None
    md5: str | None
    bytes_transferred: int
    seconds: float


class Progress:
    """A progress bar on a terminal, a log line every ``interval`` seconds otherwise."""

    def __init__(self, label: str, total: int | None, interval: float = 10.0) -> None:
        self.label, self.total, self.interval = label, total, interval
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def update(self, done: int, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.last < (0.2 if self.tty else self.interval):
            return
        self.last = now
        pct = f"{100 * done / self.total:5.1f}%" if self.total else "    ?"
        if self.tty:
            width = 30
            filled = int(width * done / self.total) if self.total else 0
            sys.stderr.write(
                f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {pct} {done >> 20} MiB"
            )
            if final:
                sys.stderr.write("\n")
        else:
            log.info("%s: %s %d MiB", self.label, pct, done >> 20)


def fetch_small(location: Location, policy: RetryPolicy | None = None) -> bytes | None:
    """Read a small file whole (an index); ``None`` when the source says it does not exist."""
    policy = policy or RetryPolicy()
    for attempt in range(1, policy.attempts + 1):
        try:
            _, chunks = backend(location, policy).stream(0, None, None)
            return b"".join(chunks)
        except NotFound:
            return None
        except Transient as exc:
            if attempt == policy.attempts:
                raise SourceError(f"{location.display}: {exc} (gave up after {attempt} attempts)") from None
            time.sleep(policy.delay(attempt))
    return None


def download(
    location: Location, dest: Path, policy: RetryPolicy | None = None, progress: bool = True
) -> Download:
    """Fetch ``location`` into ``dest``, resuming a partial ``dest`` left by an earlier attempt.

    ``<dest>.json`` remembers the remote size and ETag so a resume
    only continues the same remote file. The finished file's size is checked
    against the source's; the caller checks content.
    """
    policy = policy or RetryPolicy()
    started = time.monotonic()
    source = backend(location, policy)
    info = _with_retries(location, policy, source.stat)
    state = dest.with_name(dest.name + ".json")
    if dest.is_symlink():  # never write through a link planted in the download's place
        dest.unlink()
    have = dest.stat().st_size if dest.exists() else 0
    if have and _read_state(state) != asdict(info):
        log.info("%s: partial file is from another version of the source; restarting", location.display)
        have = 0
    if info.size is not None and have > info.size:
        have = 0
    if have == 0:
        _write_new(dest, b"")
    # written whole or not at all: a half-written state (SIGKILL) would otherwise block every resume
    _write_new(state.with_name(state.name + ".tmp"), json.dumps(asdict(info)).encode())
    os.replace(state.with_name(state.name + ".tmp"), state)
    transferred = 0
    bar = Progress(location.basename, info.size)
    last = None if info.size is None else info.size - 1
    for attempt in range(1, policy.attempts + 1):
        if info.size is not None and have >= info.size:
            break
        try:
            if have:
                log.info("%s: resuming at byte %d", location.display, have)
            ranged, chunks = source.stream(have, last if have else None, info.etag)
            flags = os.O_WRONLY | os.O_NOFOLLOW | (os.O_APPEND if ranged else os.O_TRUNC)
            have = have if ranged else 0
            with os.fdopen(os.open(dest, flags), "wb") as out:
                for data in chunks:
                    out.write(data)
                    have += len(data)
                    transferred += len(data)
                    if progress:
                        bar.update(have)
                out.flush()
                os.fsync(out.fileno())
            if info.size is None or have == info.size:
                break
            raise Transient(f"body ended at byte {have} of {info.size}")
        except Transient as exc:
            if attempt == policy.attempts:
                raise SourceError(f"{location.display}: {exc} (gave up after {attempt} attempts)") from None
            wait = policy.delay(attempt)
            log.warning(
                "%s: %s; retry %d/%d in %.1fs", location.display, exc, attempt, policy.attempts - 1, wait
            )
            time.sleep(wait)
    if progress:
        bar.update(have, final=True)
    if info.size is not None and have != info.size:
        raise IntegrityError(f"{location.display}: got {have} bytes, source says {info.size}")
    return Download(dest, have, info.etag, info.md5, transferred, time.monotonic() - started)


def _read_state(state: Path) -> dict | None:
    """What an earlier attempt recorded about the source; None when missing or unreadable."""
    try:
        return json.loads(state.read_text())
    except (OSError, ValueError):
        return None


def _write_new(path: Path, data: bytes) -> None:
    """Create or truncate ``path`` (never through a symlink; at most mode 0644) and write ``data``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _with_retries(location: Location, policy: RetryPolicy, call):  # type: ignore[no-untyped-def]
    for attempt in range(1, policy.attempts + 1):
        try:
            return call()
        except Transient as exc:
            if attempt == policy.attempts:
                raise SourceError(
                    f"{location.display}: unreachable: {exc} (gave up after {attempt} attempts)"
                ) from None
            time.sleep(policy.delay(attempt))
    raise AssertionError("unreachable")
