"""The errors a user sees (``errors.py``): one line naming what failed, and which kind it is."""

from __future__ import annotations

import pytest

from genomecache.errors import GenomeCacheError, IntegrityError, NotFastaError, RequestError, SourceError
from genomecache.requests import parse_request


def test_a_request_error_names_the_request_and_the_field_on_one_line() -> None:
    error = RequestError("ENST01", "seq_strand", "must be one of + - +1 -1 pos neg, not 'x'")
    assert str(error) == "request ENST01: field seq_strand: must be one of + - +1 -1 pos neg, not 'x'"
    assert (error.request_id, error.field) == ("ENST01", "seq_strand")


def test_every_error_is_a_genome_cache_error_and_not_fasta_is_damage() -> None:
    # the CLIs print any GenomeCacheError as one line; the cache quarantines on IntegrityError,
    # which a download that is not a FASTA must also be (it is refused and never published)
    for kind in (RequestError, SourceError, IntegrityError, NotFastaError):
        assert issubclass(kind, GenomeCacheError)
    assert issubclass(NotFastaError, IntegrityError)
    assert not issubclass(SourceError, IntegrityError)  # an unreachable source is not damage


def test_a_bad_request_raises_the_error_that_names_it() -> None:
    bad = {
        "unique_entry_id": "r7",
        "base_seq_name": "g",
        "seq_id": "chr1",
        "seq_strand": "sideways",
        "fasta_file_url": "https://example.org/ce.fa.gz",
        "exon_seq_regions": [{"start": 1, "end": 9}],
    }
    with pytest.raises(RequestError) as raised:
        parse_request(bad)
    assert raised.value.request_id == "r7" and raised.value.field == "seq_strand"
    assert str(raised.value).startswith("request r7: field seq_strand: ") and "\n" not in str(raised.value)
