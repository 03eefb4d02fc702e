"""Retrieve a batch of requests of one genome: one process, one index open, one lock.

The pipeline's ``SEQUENCE_RETRIEVAL`` hands a whole batch to ``seq_retrieval.py --batch``
instead of starting one task per request (on AWS Batch every task is a job). Each request
writes exactly the files a single-request run writes. A bad request does not stop the
others: every good request's files are written, each bad one is one ``ERROR`` line
naming its ``unique_entry_id``, and the batch exits non-zero.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import ranged
from .cache import GenomeCache, Quarantined
from .errors import GenomeCacheError, RequestError
from .requests import Region, Request, parse_request
from .retrieval import Genome, open_whole

log = logging.getLogger(__name__)

#: ``(genome, request, output_type, outdir) -> None``: retrieve one request and write its files.
RequestHandler = Callable[[Genome, Request, str, Path], None]


def load_batch(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The JSON list of request objects in ``path``."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise GenomeCacheError(f"--batch {path}: cannot read a JSON list of requests ({exc})") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data:
        raise GenomeCacheError(f"--batch {path}: must be a non-empty JSON list of request objects")
    return data


def read_url_file(path: str | os.PathLike[str]) -> str:
    """The URL in ``path`` (first line): how a URL with credentials reaches a task."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise GenomeCacheError(f"--fasta_url_file {path}: {exc.strerror}") from None
    if not lines or not lines[0].strip():
        raise GenomeCacheError(f"--fasta_url_file {path}: empty")
    return lines[0].strip()


def run_batch(
    cache: GenomeCache,
    fasta_file_url: str,
    items: list[dict[str, Any]],
    output_type: str,
    handle: RequestHandler,
    outdir: str | os.PathLike[str] = ".",
    access: str = "full",
) -> list[str]:
    """Retrieve every request of ``items`` from the one genome at ``fasta_file_url``.

    ``fasta_file_url`` replaces each request's own URL (the pipeline passes the cached
    file, or the source with ``access="range"``). Returns one error line per failed request,
    in batch order; the genome is opened once and held under the cache's shared lock.
    """
    outdir = Path(outdir)
    requests: list[Request] = []
    errors: list[str] = []
    seen: set[str] = set()
    for index, data in enumerate(items):
        try:
            if not isinstance(data, dict):
                raise RequestError(f"#{index + 1}", "(request)", "must be a JSON object")
            request = parse_request({**data, "fasta_file_url": fasta_file_url}, index, allow_variants=True)
            if request.unique_entry_id in seen:
                raise RequestError(request.unique_entry_id, "unique_entry_id", "used twice in one batch")
            seen.add(request.unique_entry_id)
            requests.append(request)
        except GenomeCacheError as exc:
            errors.append(str(exc))
    if not requests:
        return errors

    def regions() -> list[tuple[str, Region]]:
        """Every region the requests not yet done will read."""
        return [(r.seq_id, region) for r in pending for region in r.exons + r.cds]

    def opened() -> Any:
        if access == "range":
            return ranged.open_genome(cache, fasta_file_url, regions())
        return open_whole(cache, fasta_file_url)

    # Damage found mid-read moves the entry aside (Quarantined): open it once more, which
    # fetches it again, and go on with the requests not yet done.
    pending, reopened = list(requests), False
    while pending:
        try:
            with opened() as genome:
                if hasattr(genome, "prefetch_many"):  # range mode: every block of the batch at once
                    genome.prefetch_many(regions())
                while pending:
                    request = pending[0]
                    try:
                        handle(genome, request, output_type, outdir)
                    except Quarantined:
                        raise
                    except GenomeCacheError as exc:
                        errors.append(_naming(request, exc))
                    pending.pop(0)
        except Quarantined as exc:
            if reopened:
                errors.extend(_naming(request, exc) for request in pending)
                break
            reopened = True
            log.warning("%s; reading %d requests again", exc, len(pending))
    log.info("%d of %d requests retrieved", len(items) - len(errors), len(items))
    return errors


def _naming(request: Request, exc: GenomeCacheError) -> str:
    """The error as one line that names the request."""
    message = str(exc)
    return message if request.unique_entry_id in message else f"request {request.unique_entry_id}: {message}"
