"""One pass over a genome's bytes while they download: digests, BGZF checks, recompression.

:class:`Ingest` is fed the body in order (see :func:`sources.download`). From the first
bytes it knows the format; then, without reading the file back:

- ``bgzf``: every block's structure, CRC32 and size are checked on all cores
  (:class:`bgzf.StreamChecker`), and the block table for the ``.gzi`` is collected;
- ``gzip`` (any number of members) and ``plain``: the FASTA is recompressed into BGZF
  as it arrives, on all cores (:class:`bgzf.Writer`);
- the source's digests (sha256, plus any the caller asks for: a known hash, the S3
  ETag's MD5) are computed on a thread of their own.

Content that is not FASTA stops the download at its first block.
"""

from __future__ import annotations

import hashlib
import zlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import bgzf
from .errors import NotFastaError

try:  # ISA-L gunzips a plain-gzip source ~2.5x faster than zlib (same API, same CRC/ISIZE checks)
    from isal import isal_zlib as _gunzip_lib

    _GUNZIP_ERRORS: tuple[type[Exception], ...] = (zlib.error, _gunzip_lib.error)
except ImportError:  # pragma: no cover - an optional speed-up
    _gunzip_lib = zlib  # type: ignore[assignment]
    _GUNZIP_ERRORS = (zlib.error,)


@dataclass
class Ingested:
    """What one pass found: the source's format and digests, the BGZF block table, the
    sha256 of the BGZF file to publish."""

    fmt: str
    digests: dict[str, str]
    blocks: list[tuple[int, int, int]] = field(default_factory=list)
    fasta_sha256: str = ""
    problem: str | None = None  # damage found (reported after a known hash, which says more)
    fai: bytes | None = None  # the .fai built from the text as it passed (recompressed sources)


class _Hasher:
    """Digests of a byte stream, computed in order on one thread (hashlib releases the GIL)."""

    def __init__(self, algorithms: set[str]) -> None:
        self.hashes = {name: hashlib.new(name) for name in sorted(algorithms)}
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="digest")
        self.pending: deque[Future] = deque()

    def _update(self, data: bytes) -> None:
        for digest in self.hashes.values():
            digest.update(data)

    def feed(self, data: bytes) -> None:
        self.pending.append(self.thread.submit(self._update, data))
        while len(self.pending) > 16:
            self.pending.popleft().result()

    def hexdigests(self) -> dict[str, str]:
        while self.pending:
            self.pending.popleft().result()
        self.thread.shutdown()
        return {name: digest.hexdigest() for name, digest in self.hashes.items()}

    def close(self) -> None:
        self.thread.shutdown(wait=True, cancel_futures=True)


class Ingest:
    """A download consumer; ``recompressed`` is where a non-BGZF source's BGZF copy is written."""

    def __init__(
        self,
        display: str,
        recompressed: Path,
        algorithms: set[str] | None = None,
        on_begin: Callable[[], None] | None = None,
    ) -> None:
        self.display, self.recompressed, self.on_begin = display, recompressed, on_begin
        self.algorithms = {"sha256", *(algorithms or ())}
        self.hasher: _Hasher | None = None
        self.writer: bgzf.Writer | None = None
        self.fai_dropped = False  # the source's own indexes came (drop_fai): no .fai to build
        self.reset()

    def begin(self, info) -> None:  # type: ignore[no-untyped-def]
        """Told what the source said before the body: check the ETag's MD5 when it is one."""
        if self.on_begin is not None:
            self.on_begin()
            self.on_begin = None
        if info.md5 and "md5" not in self.algorithms:
            self.algorithms.add("md5")
            self.reset()

    def drop_fai(self) -> None:
        """The source's indexes came: building a ``.fai`` from a BGZF source's text is not needed."""
        self.fai_dropped = True
        self.fai = None
        if self.checker is not None:
            self.checker.stop_text()

    def reset(self) -> None:
        """Start over (the source restarted from byte 0)."""
        self.close()
        self.fmt: str | None = None
        self.head = bytearray()
        self.hasher = _Hasher(self.algorithms)
        self.checker: bgzf.StreamChecker | None = None
        self.writer = None
        self.inflater = None
        self.member_open = False
        self.text_seen = False
        self.problem: str | None = None
        self.fai = None if self.fai_dropped else bgzf.FaiBuilder()

    def close(self) -> None:
        """Release threads and files (after a failure)."""
        if self.hasher is not None:
            self.hasher.close()
        if self.writer is not None:
            self.writer.abort()

    # --- feeding --------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        assert self.hasher is not None
        self.hasher.feed(data)
        if self.fmt is None:
            self.head += data
            if len(self.head) < bgzf.HEADER:
                return
            data, self.head = bytes(self.head), bytearray()
            self._start(data)
        if self.problem is not None:
            return  # damaged: only the digests still matter (for the error message)
        try:
            self._route(data)
        except bgzf.BgzfError as exc:
            self.problem = f"{self.display}: {exc}; the download was removed"

    def _start(self, head: bytes) -> None:
        if bgzf.is_bgzf(head):
            self.fmt = "bgzf"
            # the .fai is built alongside unless the source's own indexes arrive (drop_fai)
            fai = self.fai
            self.checker = bgzf.StreamChecker(
                first_block=self._first_text, text=fai.feed if fai is not None else None
            )
        elif head[:2] == b"\x1f\x8b":
            self.fmt = "gzip"
            self.inflater = _gunzip_lib.decompressobj(31)
            self.writer = bgzf.Writer(self.recompressed)
        else:
            self.fmt = "plain"
            self.writer = bgzf.Writer(self.recompressed)

    def _route(self, data: bytes) -> None:
        if self.checker is not None:
            self.checker.feed(data)
        elif self.inflater is not None:
            self._gunzip(data)
        else:
            self._text(data)

    def _gunzip(self, data: bytes) -> None:
        try:
            while data:
                assert self.inflater is not None
                self._text(self.inflater.decompress(data))
                self.member_open = not self.inflater.eof
                if self.member_open:
                    return
                data = self.inflater.unused_data  # the next gzip member
                self.inflater = _gunzip_lib.decompressobj(31)
        except _GUNZIP_ERRORS as exc:
            raise NotFastaError(f"{self.display}: not a readable gzip file ({exc})") from None

    def _first_text(self, text: bytes) -> None:
        stripped = text.lstrip()
        if stripped and not stripped.startswith(b">"):
            raise NotFastaError(f"{self.display}: not FASTA (does not start with '>')")

    def _text(self, text: bytes) -> None:
        if not text:
            return
        if not self.text_seen:
            stripped = text.lstrip()
            if stripped:
                self._first_text(stripped)
                self.text_seen = True
        assert self.writer is not None
        self.writer.write(text)
        if self.fai is not None:
            self.fai.feed(text)

    # --- the result -----------------------------------------------------------------------

    def finish(self) -> Ingested:
        """Complete every check; :class:`IntegrityError` (or NotFastaError) for any problem."""
        assert self.hasher is not None
        if self.fmt is None:  # shorter than one block header
            head = bytes(self.head)
            self._start(head)
            self._route(head)
        digests = self.hasher.hexdigests()
        self.hasher = None
        if self.problem is not None:
            return Ingested(str(self.fmt), digests, problem=self.problem)
        if self.checker is not None:
            try:
                blocks = self.checker.finish()
            except bgzf.BgzfError as exc:
                return Ingested("bgzf", digests, problem=f"{self.display}: {exc}; the download was removed")
            if not any(n for _, _, n in blocks):
                raise NotFastaError(f"{self.display}: not FASTA (no sequence data)")
            builder = self.fai
            fai = builder.finish() if builder is not None and self.checker.text is not None else None
            return Ingested("bgzf", digests, blocks, digests["sha256"], fai=fai)
        if self.inflater is not None and self.member_open:
            raise NotFastaError(f"{self.display}: truncated gzip stream (cannot decompress it whole)")
        if not self.text_seen:
            raise NotFastaError(f"{self.display}: not FASTA (empty)")
        assert self.writer is not None
        writer, self.writer = self.writer, None
        blocks = writer.close()
        builder = self.fai
        fai = builder.finish() if builder is not None else None
        return Ingested(str(self.fmt), digests, blocks, writer.sha256.hexdigest(), fai=fai)
