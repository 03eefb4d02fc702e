"""The one transport: HTTP(S) through one pooled urllib3 client, S3 through boto3, local files.

Whole-file downloads (:mod:`sources`) and range mode (:mod:`ranged`) both go through a
:class:`Source` from :func:`open_source`, so redirects, retries, error wording and
secret redaction are decided here only:

- **connections**: one process-wide ``urllib3.PoolManager`` (keep-alive, thread-safe);
  one boto3 S3 client per process.
- **retries**: urllib3's ``Retry`` for connection failures, read timeouts and 429/5xx
  answers, then one tenacity loop (:func:`retrying`) for failures inside a body (a
  dropped connection, a short or corrupt body), which callers resume with ``Range``.
  What cannot heal is not retried: an unknown host, 404, 403.
- **redirects**: followed by hand, at most :data:`MAX_REDIRECTS` hops, to http(s) only,
  never from https to http; a ``HEAD`` stays a ``HEAD``, and later requests of the same
  source go straight to where the redirect led (the body is sent once). Credentials
  given in the URL go to the original host only.
- **secrets**: :class:`RedactFilter` on the ``genomecache``, ``urllib3``, ``botocore``
  and ``boto3`` loggers removes credentials, query strings and signatures from every
  message (urllib3 logs request paths with their query at WARNING when it retries).

Configuration (``GENOMECACHE_RETRIES``, ``GENOMECACHE_BACKOFF``, ``GENOMECACHE_TIMEOUT``)
is read when a :class:`RetryPolicy` is made, not at import.
"""

from __future__ import annotations

import base64
import functools
import logging
import os
import pkgutil
import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

if TYPE_CHECKING:  # urllib3 and tenacity are imported when a request is made, not before
    import urllib3

from .errors import SourceError
from .locations import Location, redact

log = logging.getLogger(__name__)
CHUNK = 1 << 20
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
T = TypeVar("T")


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts, exponential backoff and timeout for every request (read from the environment
    when the policy is made, so tests and tasks can shorten them)."""

    attempts: int = field(default_factory=lambda: max(1, int(_env("GENOMECACHE_RETRIES", "5"))))
    backoff: float = field(default_factory=lambda: float(_env("GENOMECACHE_BACKOFF", "1.0")))
    max_backoff: float = 30.0
    timeout: float = field(default_factory=lambda: float(_env("GENOMECACHE_TIMEOUT", "60")))

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


# --- errors ----------------------------------------------------------------------------------


class NotFound(SourceError):
    """The source answered that the file does not exist."""


class Transient(Exception):
    """A failure inside a body worth retrying (callers resume where it stopped)."""


class RangesIgnored(Exception):
    """The server answered a Range request with the whole file."""


class Changed(SourceError):
    """The remote file is no longer the one identified by the ETag we hold (412, 416)."""


# --- secrets stay out of logs ----------------------------------------------------------------

_URL = re.compile(r"\b(?:https?|s3|ftp)://[^\s'\"<>]+")
_QUERY = re.compile(r"(/[^\s'\"<>?]*)\?[^\s'\"<>]*")
_SIGNATURE = re.compile(r"(?i)(signature|credential|token|x-amz-[a-z-]+|authorization)([=:]\s*)[^\s&'\"]+")


def redact_text(text: str) -> str:
    """``text`` with every URL redacted, query strings of paths dropped and signatures masked."""
    text = _URL.sub(lambda m: redact(m.group(0)), text)
    text = _QUERY.sub(r"\1?<redacted>", text)
    return _SIGNATURE.sub(r"\1\2<redacted>", text)


class RedactFilter(logging.Filter):
    """Rewrites log records so that no credential, signature or query string is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is not ours to fix
            return True
        clean = redact_text(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


REDACT = RedactFilter()


def install_redaction() -> None:
    """Put :data:`REDACT` on every logger that may see a URL (a filter on a parent logger does
    not apply to records of its children, so each is named)."""
    import genomecache

    names = ["genomecache", *(f"genomecache.{m.name}" for m in pkgutil.iter_modules(genomecache.__path__))]
    names += ["urllib3", "urllib3.connectionpool", "urllib3.connection", "urllib3.poolmanager"]
    names += ["urllib3.response", "urllib3.util.retry", "botocore", "boto3", "s3transfer"]
    names += [n for n in logging.root.manager.loggerDict if n.startswith(("botocore.", "urllib3."))]
    for name in names:
        logger = logging.getLogger(name)
        if REDACT not in logger.filters:
            logger.addFilter(REDACT)


install_redaction()


# --- retries ---------------------------------------------------------------------------------


@functools.cache
def _retry_class() -> type[urllib3.Retry]:
    import urllib3
    from urllib3.exceptions import MaxRetryError, NameResolutionError

    class _Retry(urllib3.Retry):
        """urllib3's retry, except that an unknown host fails at once (it will not heal) and a
        Retry-After longer than the policy's longest backoff is cut to it (urllib3 waits up to 6 h:
        a task would hang for hours on one server's say-so; trying sooner then failing is clearer)."""

        def get_retry_after(self, response):  # type: ignore[no-untyped-def]
            seconds = super().get_retry_after(response)
            return None if seconds is None else min(seconds, self.backoff_max)

        def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):  # type: ignore[no-untyped-def, override]
            if isinstance(error, NameResolutionError):
                raise MaxRetryError(_pool, url, error)  # type: ignore[arg-type]
            return super().increment(method, url, response, error, _pool, _stacktrace)

    return _Retry


def _retry(policy: RetryPolicy, left: int | None = None) -> urllib3.Retry:
    again = policy.attempts - 1 if left is None else max(0, left)
    return _retry_class()(
        total=None,
        connect=again,
        read=again,
        status=again,
        other=0,
        redirect=False,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD"}),
        backoff_factor=policy.backoff / 2,  # urllib3 sleeps factor * 2**(n-1) from the 2nd retry
        backoff_max=policy.max_backoff,
        raise_on_status=False,
        respect_retry_after_header=True,
    )


def retrying(policy: RetryPolicy, display: str, call: Callable[[], T], source: object | None = None) -> T:
    """``call()`` again after a :class:`Transient` failure, with backoff; then a one-line SourceError.

    With ``source`` (an :class:`HttpSource`), its requests and this loop share one budget
    of ``policy.attempts`` tries: a body retried here leaves fewer status retries to urllib3.
    The first try runs before tenacity is imported (most calls need no retry; the import
    is ~15 ms of a range-mode start); its failure is replayed as tenacity's first attempt.
    """
    attempts = 0
    if source is not None:
        source.retries_left = policy.attempts - 1  # type: ignore[attr-defined]
    first: Transient | None = None
    try:
        return call()
    except Transient as exc:
        first = exc
    finally:
        if first is None and source is not None:  # done (or failed for good) at the first try
            source.retries_left = None  # type: ignore[attr-defined]
    from tenacity import (
        Retrying,
        retry_if_exception_type,
        stop_after_attempt,
        stop_any,
        wait_exponential_jitter,
    )

    def again() -> T:
        nonlocal first
        if first is not None:  # the try made above, as attempt 1
            failed, first = first, None
            raise failed
        return call()

    def log_retry(state) -> None:  # type: ignore[no-untyped-def]
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0
        if source is not None:
            source.retries_left -= 1  # type: ignore[attr-defined]
        log.warning(
            "%s: %s; retry %d/%d in %.1fs", display, exc, state.attempt_number, policy.attempts - 1, wait
        )

    def spent(state) -> bool:  # type: ignore[no-untyped-def]
        return source is not None and source.retries_left <= 0  # type: ignore[attr-defined]

    try:
        for attempt in Retrying(
            stop=stop_any(stop_after_attempt(policy.attempts), spent),
            wait=wait_exponential_jitter(
                multiplier=policy.backoff, max=policy.max_backoff, jitter=policy.backoff / 2
            ),
            retry=retry_if_exception_type(Transient),
            before_sleep=log_retry,
            reraise=True,
        ):
            with attempt:
                attempts = attempt.retry_state.attempt_number
                return again()
    except Transient as exc:
        raise SourceError(f"{display}: {exc} (gave up after {attempts} attempts)") from None
    finally:
        if source is not None:
            source.retries_left = None  # type: ignore[attr-defined]
    raise AssertionError("unreachable")


def _reason(exc: BaseException) -> str:
    """A short, secret-free reason for a network failure."""
    from urllib3.exceptions import NameResolutionError, NewConnectionError, ProtocolError, ReadTimeoutError

    reason = getattr(exc, "reason", None) or exc
    if isinstance(reason, ProtocolError) and reason.args and isinstance(reason.args[-1], BaseException):
        reason = reason.args[-1]  # ("Connection broken: <repr>", <error>): the error says it once
    if isinstance(reason, (socket.timeout, TimeoutError, ReadTimeoutError)):
        return "timed out"
    if isinstance(reason, NameResolutionError):
        return "unknown host"
    text = str(reason)
    if isinstance(
        reason, NewConnectionError
    ):  # "HTTPConnection(host=..., port=...): Failed to ...: [Errno 111] ..."
        text = text.rpartition(": ")[2]
    return redact_text(text) or type(reason).__name__


# --- HTTP ------------------------------------------------------------------------------------

_POOL: urllib3.PoolManager | None = None
_POOL_LOCK = threading.Lock()


def http() -> urllib3.PoolManager:
    """The process's one pooled HTTP client."""
    import urllib3

    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            # as many kept connections per host as range mode has requests in flight
            _POOL = urllib3.PoolManager(num_pools=16, maxsize=16, block=False)
        return _POOL


class HttpSource:
    """A file on an http(s) server."""

    def __init__(self, location: Location, policy: RetryPolicy) -> None:
        self.location, self.policy = location, policy
        # user:password@ in the URL becomes Basic auth for this host only
        parts = urlsplit(location.url)
        self.url, self.auth = location.url, None
        if "@" in parts.netloc:
            userinfo, _, hostport = parts.netloc.rpartition("@")
            user, _, password = userinfo.partition(":")
            self.url = urlunsplit(parts._replace(netloc=hostport))
            token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
            self.auth = f"Basic {token}"
        self.requests = 0
        self.retries_left: int | None = None  # shared with :func:`retrying` while it runs

    @property
    def display(self) -> str:
        return self.location.display

    def _request(self, method: str, headers: dict[str, str]) -> urllib3.BaseHTTPResponse:
        """One request (with urllib3's retries), following redirects by our rules; any 2xx/3xx
        other than a redirect is returned unread, errors become one-line exceptions."""
        import urllib3
        from urllib3.exceptions import HTTPError as Urllib3Error
        from urllib3.exceptions import MaxRetryError, NameResolutionError, ReadTimeoutError

        url, auth = self.url, self.auth
        for _hop in range(MAX_REDIRECTS + 1):
            sent = dict(headers)
            if auth:
                sent["Authorization"] = auth
            self.requests += 1
            try:
                response = http().request(
                    method,
                    url,
                    headers=sent,
                    retries=_retry(self.policy, self.retries_left),
                    timeout=urllib3.Timeout(connect=self.policy.timeout, read=self.policy.timeout),
                    redirect=False,
                    preload_content=False,
                    decode_content=False,
                )
            except MaxRetryError as exc:
                reason = exc.reason
                if isinstance(reason, NameResolutionError):
                    raise SourceError(f"{self.display}: unknown host (DNS lookup failed)") from None
                if isinstance(reason, ReadTimeoutError):
                    raise SourceError(
                        f"{self.display}: timed out (gave up after {self.policy.attempts} attempts)"
                    ) from None
                tries = self.policy.attempts
                raise SourceError(
                    f"{self.display}: unreachable: {_reason(exc)} (gave up after {tries} attempts)"
                ) from None
            except (Urllib3Error, OSError) as exc:
                raise SourceError(f"{self.display}: {_reason(exc)}") from None
            if self.retries_left is not None and response.retries is not None:
                self.retries_left -= len(response.retries.history)
            if response.status not in REDIRECTS:
                if url != self.url:  # later requests go straight there
                    self.url, self.auth = url, auth
                return self._check_status(response, method, headers)
            target = urljoin(url, response.headers.get("Location") or "")
            response.drain_conn()
            response.release_conn()
            scheme, old = urlsplit(target).scheme.lower(), urlsplit(url)
            if scheme not in ("http", "https"):
                raise SourceError(
                    f"{self.display}: redirected to {redact(target)}; "
                    "only http and https redirects are followed"
                )
            if old.scheme == "https" and scheme == "http":
                raise SourceError(
                    f"{self.display}: redirected from https to http ({redact(target)}); refusing"
                )
            if urlsplit(target).netloc.lower() != old.netloc.lower():
                auth = None  # credentials are for the host they were given for
            if response.status == 303 and method != "HEAD":
                method = "GET"
            url = target
            log.debug("%s: redirected (%d) to %s", self.display, response.status, redact(target))
        raise SourceError(f"{self.display}: more than {MAX_REDIRECTS} redirects; giving up")

    def _check_status(
        self, response: urllib3.BaseHTTPResponse, method: str, headers: dict[str, str]
    ) -> urllib3.BaseHTTPResponse:
        status = response.status
        if status < 300:
            return response
        response.drain_conn()
        response.release_conn()
        if status in (404, 410):
            raise NotFound(f"{self.display}: not found (HTTP {status})")
        if status in (412, 416) and "Range" in headers:
            raise Changed(f"{self.display}: changed since it was first read (HTTP {status})")
        if status in (429,) or status >= 500:
            raise SourceError(
                f"{self.display}: HTTP {status} (gave up after {self.policy.attempts} attempts)"
            )
        if method == "HEAD" and status in (403, 405, 501):
            raise _HeadRefused(status)
        reason = response.reason or ""
        raise SourceError(f"{self.display}: HTTP {status} {reason}".rstrip())

    def stat(self) -> RemoteInfo:
        try:
            response = self._request("HEAD", {"Accept-Encoding": "identity"})
            response.release_conn()
            length = response.headers.get("Content-Length")
            return RemoteInfo(
                int(length) if length and length.isdigit() else None, response.headers.get("ETag")
            )
        except _HeadRefused:
            pass
        # a presigned S3 URL signs one method (GET): ask for its first byte to learn the size
        response = self._request("GET", {"Range": "bytes=0-0", "Accept-Encoding": "identity"})
        total = (response.headers.get("Content-Range") or "").rpartition("/")[2]
        length = response.headers.get("Content-Length") if response.status == 200 else total
        response.close() if response.status == 200 else response.drain_conn()
        size = int(length) if length and length.isdigit() else None
        return RemoteInfo(size, response.headers.get("ETag"))

    def stream(self, start: int, end: int | None, etag: str | None) -> tuple[bool, Iterator[bytes]]:
        """Bytes ``start..end`` (inclusive; None: to the end); False when the server sent the whole file."""
        headers = {"Accept-Encoding": "identity"}
        if start > 0 or end is not None:
            headers["Range"] = f"bytes={start}-{'' if end is None else end}"
            if etag:
                headers["If-Range"] = etag
        response = self._request("GET", headers)
        ranged = response.status == 206
        if "Range" in headers and not ranged:
            log.info("%s: server ignored Range; reading from the start", self.display)
        return ranged or start == 0, _chunks(response)

    def read(self, start: int, end: int, etag: str | None = None) -> bytes:
        """Exactly bytes ``[start, end)``; :class:`RangesIgnored` when the server sends the whole file."""
        return _exact(self._ranged(f"bytes={start}-{end - 1}", etag)[0], end - start)

    def read_upto(
        self, start: int, end: int, etag: str | None = None
    ) -> tuple[bytes, int | None, str | None]:
        """Bytes ``[start, end)``, fewer when the file ends first (one bounded ranged GET), the
        file's size and its ETag; :class:`RangesIgnored` when the server sends the whole file."""
        return self._ranged(f"bytes={start}-{end - 1}", etag)

    def read_tail(self, length: int) -> tuple[bytes, int | None, str | None]:
        """The file's last ``length`` bytes (``bytes=-length``), its size and ETag."""
        return self._ranged(f"bytes=-{length}", None)

    def _ranged(self, spec: str, etag: str | None) -> tuple[bytes, int | None, str | None]:
        headers = {"Accept-Encoding": "identity", "Range": spec}
        if etag and not etag.startswith("W/"):
            headers["If-Match"] = etag  # a changed file answers 412, not other bytes
        response = self._request("GET", headers)
        if response.status != 206:
            response.close()  # never read a whole genome we did not ask for
            raise RangesIgnored(f"{self.display}: the server ignores Range requests")
        total = (response.headers.get("Content-Range") or "").rpartition("/")[2]
        length = response.headers.get("Content-Length")
        data = b"".join(_chunks(response))
        if length and length.isdigit() and len(data) != int(length):
            raise Transient(f"short body: {len(data)} of {length} bytes")
        return data, int(total) if total.isdigit() else None, response.headers.get("ETag")


class _HeadRefused(Exception):
    """The server does not answer HEAD for this URL (presigned GET URLs: 403; some servers: 405)."""


def _chunks(response) -> Iterator[bytes]:  # type: ignore[no-untyped-def]
    """Chunks of a body; a connection lost mid-body becomes :class:`Transient`. A body read to
    its end returns the connection to the pool; one abandoned (an error, a check that failed)
    closes it, so the server stops sending and no later request reads its leftovers."""
    from urllib3.exceptions import HTTPError as Urllib3Error
    from urllib3.exceptions import ProtocolError, ReadTimeoutError

    complete = False
    try:
        while True:
            data = response.read(CHUNK)
            if not data:
                break
            yield data
        complete = True
    except (ProtocolError, ReadTimeoutError, Urllib3Error, OSError) as exc:
        raise Transient(f"connection lost mid-body ({_reason(exc)})") from None
    except Exception as exc:  # botocore wraps socket errors in its own classes
        if type(exc).__module__.startswith(("botocore", "urllib3")):
            raise Transient(f"connection lost mid-body ({_reason(exc)})") from None
        raise
    finally:
        release = getattr(response, "release_conn", None) if complete else None
        (release or response.close)()


def _exact(data: bytes, length: int) -> bytes:
    if len(data) != length:
        raise Transient(f"short body: {len(data)} of {length} bytes")
    return data


# --- S3 --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _s3_client(anonymous: bool, timeout: float, attempts: int, endpoint: str | None):  # type: ignore[no-untyped-def]
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    config = Config(
        retries={"max_attempts": attempts, "mode": "standard"},
        connect_timeout=timeout,
        read_timeout=timeout,
        signature_version=UNSIGNED if anonymous else None,
        max_pool_connections=16,
    )
    install_redaction()
    return boto3.session.Session().client("s3", config=config)


class S3Source:
    """An object in S3 (ranged GetObject); boto3's own retries use the same policy."""

    def __init__(self, location: Location, policy: RetryPolicy) -> None:
        import boto3

        self.location, self.policy = location, policy
        parts = urlsplit(location.url)
        self.bucket, self.key = parts.hostname or "", parts.path.lstrip("/")
        anonymous = (
            boto3.session.Session().get_credentials() is None
            or os.environ.get("GENOMECACHE_S3_ANONYMOUS") == "1"
        )
        self.retries_left: int | None = None
        self.client = _s3_client(
            anonymous, policy.timeout, policy.attempts, os.environ.get("AWS_ENDPOINT_URL")
        )
        self.requests = 0

    @property
    def display(self) -> str:
        return self.location.display

    def _call(self, method: str, **kwargs):  # type: ignore[no-untyped-def]
        from botocore.exceptions import BotoCoreError, ClientError

        self.requests += 1
        try:
            return getattr(self.client, method)(Bucket=self.bucket, Key=self.key, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code in ("404", "NoSuchKey", "NotFound"):
                raise NotFound(f"{self.display}: not found") from None
            if code in ("PreconditionFailed", "412", "InvalidRange", "416"):
                raise Changed(f"{self.display}: changed since it was first read (S3 {code})") from None
            if status >= 500 or code in ("SlowDown", "InternalError", "ServiceUnavailable"):
                raise SourceError(
                    f"{self.display}: S3 {code} (gave up after {self.policy.attempts} attempts)"
                ) from None
            raise SourceError(f"{self.display}: S3 {code or status}") from None
        except (BotoCoreError, OSError) as exc:
            raise SourceError(
                f"{self.display}: unreachable: {_reason(exc)} (gave up after {self.policy.attempts} attempts)"
            ) from None

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
        return True, _chunks(body)

    def read(self, start: int, end: int, etag: str | None = None) -> bytes:
        return _exact(self._ranged(f"bytes={start}-{end - 1}", etag)[0], end - start)

    def read_upto(
        self, start: int, end: int, etag: str | None = None
    ) -> tuple[bytes, int | None, str | None]:
        """As :meth:`HttpSource.read_upto`: a ranged GetObject."""
        return self._ranged(f"bytes={start}-{end - 1}", etag)

    def read_tail(self, length: int) -> tuple[bytes, int | None, str | None]:
        return self._ranged(f"bytes=-{length}", None)

    def _ranged(self, spec: str, etag: str | None) -> tuple[bytes, int | None, str | None]:
        kwargs = {"Range": spec}
        if etag:
            kwargs["IfMatch"] = etag
        answer = self._call("get_object", **kwargs)
        data = b"".join(_chunks(answer["Body"]))
        if len(data) != answer.get("ContentLength", len(data)):
            raise Transient(f"short body: {len(data)} of {answer['ContentLength']} bytes")
        total = (answer.get("ContentRange") or "").rpartition("/")[2]
        return data, int(total) if total.isdigit() else None, answer.get("ETag")


# --- local files -----------------------------------------------------------------------------


class FileSource:
    def __init__(self, location: Location, policy: RetryPolicy) -> None:
        self.location, self.path, self.policy = location, location.local_path, policy
        self.requests = 0
        self.retries_left: int | None = None

    @property
    def display(self) -> str:
        return self.location.display

    def stat(self) -> RemoteInfo:
        try:
            return RemoteInfo(os.stat(self.path).st_size)
        except FileNotFoundError:
            raise NotFound(f"{self.display}: no such file") from None
        except OSError as exc:
            raise SourceError(f"{self.display}: {exc.strerror}") from None

    def stream(self, start: int, end: int | None, etag: str | None) -> tuple[bool, Iterator[bytes]]:
        try:  # opened now, so a missing file is NotFound here, not while iterating
            handle = open(self.path, "rb")  # noqa: SIM115 - closed by the generator
        except FileNotFoundError:
            raise NotFound(f"{self.display}: no such file") from None
        except OSError as exc:
            raise SourceError(f"{self.display}: {exc.strerror}") from None

        def chunks() -> Iterator[bytes]:
            with handle:
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

    def read(self, start: int, end: int, etag: str | None = None) -> bytes:
        _, chunks = self.stream(start, end - 1, etag)
        return _exact(b"".join(chunks), end - start)


SOURCES = {"http": HttpSource, "https": HttpSource, "s3": S3Source, "file": FileSource}
Source = HttpSource | S3Source | FileSource


def open_source(location: Location, policy: RetryPolicy | None = None) -> Source:
    """The :class:`Source` for a location (no request is made yet)."""
    return SOURCES[location.scheme](location, policy or RetryPolicy())


def fetch_small(location: Location, policy: RetryPolicy | None = None) -> bytes | None:
    """Read a small file whole (an index); ``None`` when the source says it does not exist."""
    source = open_source(location, policy)

    def once() -> bytes:
        _, chunks = source.stream(0, None, None)
        return b"".join(chunks)

    try:
        return retrying(source.policy, location.display, once, source)
    except NotFound:
        return None
