"""Variant records from the Alliance variant API, each fetched once per cache.

``GET <api><variant id>`` (PAVI: ``https://www.alliancegenome.org/api/variant/``) answers in
one of two shapes: the legacy one with a top-level ``location`` (``chromosome``, ``start``,
``end``) and ``genomicReferenceSequence``/``genomicVariantSequence``, or the current one
(2026) with ``variantList[].curatedVariantGenomicLocations[]`` (the location's
``variantGenomicLocationAssociationObject.name``, ``start``, ``end``, ``referenceSequence``,
``variantSequence``). Both are read. The parsed record is kept in the genome cache as a
small JSON file (:meth:`GenomeCache.cached_record`), so a warm run asks the API nothing.
An unknown variant, an API that stays down after retries, or an answer without a usable
location is a one-line error naming the request and the variant; it is never cached.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from . import sources
from .cache import GenomeCache
from .errors import GenomeCacheError
from .locations import parse_location
from .requests import Request
from .variants import Variant, VariantDataError

log = logging.getLogger(__name__)

DEFAULT_API = "https://www.alliancegenome.org/api/variant/"
# requests (PAVI's client) leaves these unquoted; '/', '?', '#' and '%' are quoted here too,
# so an id is always one path segment
_SAFE = "!$&'()*+,:;=@[]~"
_BASES = re.compile(r"[ACGTURYKMSWBDHVNacgturykmswbdhvn]*")


class VariantError(GenomeCacheError):
    """A variant cannot be had: names the request and the variant."""

    def __init__(self, request_id: str, variant_id: str, problem: str) -> None:
        self.request_id, self.variant_id, self.problem = request_id, variant_id, problem
        super().__init__(f"request {request_id}: variant {variant_id}: {problem}")


def variant_url(api: str, variant_id: str) -> str:
    """The API URL of one variant: the base with the URL-quoted id appended, as PAVI builds it."""
    return api + quote(variant_id, safe=_SAFE)


def _location(data: dict[str, Any]) -> tuple[Any, Any, Any, Any, Any] | None:
    """(chromosome, start, end, ref, alt) from either answer shape, or None."""
    legacy = data.get("location")
    if isinstance(legacy, dict) and legacy.get("chromosome") is not None:
        return (
            legacy.get("chromosome"),
            legacy.get("start"),
            legacy.get("end"),
            data.get("genomicReferenceSequence"),
            data.get("genomicVariantSequence"),
        )
    for variant in data.get("variantList") or []:
        if not isinstance(variant, dict):
            continue
        for place in variant.get("curatedVariantGenomicLocations") or []:
            if not isinstance(place, dict):
                continue
            seq = place.get("variantGenomicLocationAssociationObject")
            name = seq.get("name") if isinstance(seq, dict) else None
            if name is not None:
                return (
                    name,
                    place.get("start"),
                    place.get("end"),
                    place.get("referenceSequence"),
                    place.get("variantSequence"),
                )
    return None


def parse_answer(variant_id: str, body: bytes) -> Variant:
    """A :class:`Variant` from the API's answer for ``variant_id`` (either shape).

    Raises
    ------
    VariantDataError
        The answer is not JSON, has no location, or its positions or alleles are unusable.
    """
    try:
        data = json.loads(body)
    except ValueError:
        raise VariantDataError("the answer is not JSON") from None
    if not isinstance(data, dict):
        raise VariantDataError("the answer is not a JSON object")
    found = _location(data)
    if found is None:
        raise VariantDataError("the answer has no genomic location")
    chromosome, start, end, ref, alt = found
    return Variant(
        variant_id, str(chromosome), start, end, _allele(ref, "reference"), _allele(alt, "alternative")
    )


def _allele(value: Any, name: str) -> str:
    """An allele as bases: absent, empty or ``-`` is no bases; anything but IUPAC letters is an error."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise VariantDataError(f"the {name} allele is not a string")
    value = value.strip()
    if value == "-":
        return ""
    if not _BASES.fullmatch(value):
        raise VariantDataError(f"the {name} allele {value[:20]!r} is not a nucleotide sequence")
    return value


class VariantSource:
    """``(request_id, variant_id) -> Variant``, through the cache.

    Parameters
    ----------
    cache
        The genome cache that keeps variant records (``None``: fetch every time).
    api
        The API base URL; the variant id is appended.
    policy
        Retries for the API (default: the cache's).
    """

    def __init__(
        self, cache: GenomeCache | None, api: str = DEFAULT_API, policy: sources.RetryPolicy | None = None
    ) -> None:
        self.cache, self.api = cache, api
        self.policy = policy or (cache.policy if cache else sources.RetryPolicy())
        self.fetched = 0  # API calls made (tests and logs)
        self._known: dict[str, Variant] = {}  # this process's lookups: the cache is read once each

    def __call__(self, request_id: str, variant_id: str) -> Variant:
        if variant_id in self._known:
            return self._known[variant_id]
        url = variant_url(self.api, variant_id)
        try:
            location = parse_location(url)
        except GenomeCacheError as exc:
            raise VariantError(request_id, variant_id, f"bad variant API URL: {exc}") from None

        def fetch() -> dict[str, Any]:
            self.fetched += 1
            try:
                body = sources.fetch_small(location, self.policy)
            except GenomeCacheError as exc:
                raise VariantError(request_id, variant_id, f"variant API failed: {exc}") from None
            if body is None:
                raise VariantError(request_id, variant_id, f"unknown variant ({location.display} not found)")
            try:
                return parse_answer(variant_id, body).to_json()
            except VariantDataError as exc:
                raise VariantError(request_id, variant_id, f"{exc} ({location.display})") from None

        record = self.cache.cached_record("variant", location.display, fetch) if self.cache else fetch()
        try:
            variant = Variant.from_json(record)
        except VariantDataError as exc:
            raise VariantError(request_id, variant_id, f"cached record: {exc}") from None
        if variant.variant_id != variant_id:
            raise VariantError(request_id, variant_id, f"cached record is of {variant.variant_id}")
        self._known[variant_id] = variant
        return variant


def prefetch_variants(cache: GenomeCache, requests: Iterable[Request], api: str = DEFAULT_API) -> int:
    """Store the records of every variant of ``requests`` in the cache; how many distinct ones.

    For a step that has the cache writable (where genomes are downloaded) ahead of
    retrieval tasks that mount it read-only: they then read the records and ask nothing.

    Raises
    ------
    VariantError
        The first variant that cannot be had, naming its request.
    """
    source = VariantSource(cache, api)
    for request in requests:
        for variant_id in request.variant_ids:
            source(request.unique_entry_id, variant_id)
    return len(source._known)
