"""Genome URLs: supported schemes, redaction and safe cache entry names.

A cache entry is named ``<basename>-<digest>``: the basename keeps it readable and
the digest of the redacted URL keeps two URLs with the same basename apart.
Nothing taken from a URL can steer a path out of the cache directory, and query
strings or credentials (presigned S3 URLs, tokens) never reach names or logs.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from .errors import SourceError

SCHEMES = ("http", "https", "s3", "file")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class Location:
    """Where a genome comes from.

    ``url`` is what is fetched (it may carry secrets); ``display`` is safe to log.
    """

    url: str
    scheme: str
    display: str
    basename: str

    @property
    def entry_name(self) -> str:
        digest = hashlib.sha256(self.display.encode()).hexdigest()[:12]
        return f"{self.basename}-{digest}"

    @property
    def local_path(self) -> str:
        """Filesystem path of a ``file://`` or plain-path location."""
        if self.scheme != "file":
            raise ValueError(f"{self.display} is not a local file")
        return unquote(urlsplit(self.url).path)

    def sibling(self, suffix: str) -> Location:
        """The location of ``<this file><suffix>`` (e.g. its ``.fai``), query kept."""
        parts = urlsplit(self.url)
        url = urlunsplit(parts._replace(path=parts.path + suffix))
        return parse_location(url)


def redact(url: str) -> str:
    """Drop credentials, query and fragment from a URL so it can be logged."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket: nothing of it is safe to show
        return "<invalid URL>"
    if not parts.scheme:
        return url
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port:
        host = f"{host}:{port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def safe_basename(path: str) -> str:
    """A file name taken from the last path component that cannot escape a directory."""
    name = unquote(path.rstrip("/").rsplit("/", 1)[-1])
    name = _UNSAFE.sub("_", name).lstrip(".")
    return name or "genome"


def parse_location(url: str) -> Location:
    """Parse a genome URL or plain path.

    Raises
    ------
    SourceError
        For an unsupported scheme or a URL without a file name.
    """
    if not isinstance(url, str) or not url.strip():
        raise SourceError("empty genome URL")
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise SourceError(f"genome URL {redact(url)} is not a valid URL (host or port)") from None
    scheme = parts.scheme.lower()
    if scheme == "" or (len(scheme) == 1 and os.name == "nt"):
        path = os.path.abspath(url)
        # '%', '?' and '#' are legal in file names but not literally in a URL path
        quoted = path.replace("%", "%25").replace("?", "%3F").replace("#", "%23")
        return Location(
            url=f"file://{quoted}", scheme="file", display=f"file://{quoted}", basename=safe_basename(quoted)
        )
    if scheme not in SCHEMES:
        raise SourceError(f"unsupported URL scheme '{scheme}' in {redact(url)} (use {', '.join(SCHEMES)})")
    if scheme in ("http", "https", "s3") and not parts.hostname:
        raise SourceError(f"URL {redact(url)} has no host")
    if not parts.path or parts.path.endswith("/"):
        raise SourceError(f"URL {redact(url)} does not name a file")
    return Location(url=url, scheme=scheme, display=redact(url), basename=safe_basename(parts.path))
