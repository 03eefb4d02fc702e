"""Variant records from the Alliance variant API (``variant_api.py``): both answer shapes, one fetch
per cache, bad answers never cached. The API is a real loopback server (tests/support/variant_api.py)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from genomecache.cache import GenomeCache
from genomecache.requests import parse_request
from genomecache.sources import RetryPolicy
from genomecache.variant_api import VariantError, VariantSource, parse_answer, prefetch_variants, variant_url
from genomecache.variants import VariantDataError
from tests.conftest import REPO


@pytest.fixture
def cache(tmp_path: Path) -> GenomeCache:
    return GenomeCache(tmp_path / "cache", policy=RetryPolicy(attempts=2, backoff=0.01, timeout=5))


def request(unique_entry_id: str, variant_ids: list[str]) -> dict:
    return {
        "unique_entry_id": unique_entry_id,
        "base_seq_name": "gene",
        "seq_id": "chr1",
        "seq_strand": "+",
        "fasta_file_url": "unused",
        "exon_seq_regions": [{"start": 1, "end": 30}],
        "variant_ids": variant_ids,
        "alt_seq_name_suffix": "_mut",
    }


def test_answers_of_both_shapes_and_bad_answers():
    body = json.dumps(
        {"location": {"chromosome": "X", "start": 5, "end": 7}, "genomicReferenceSequence": "ACG"}
    )
    variant = parse_answer("del1", body.encode())
    assert (variant.seq_id, variant.start, variant.end, variant.ref, variant.alt, variant.kind) == (
        "X", 5, 7, "ACG", "", "deletion"
    )  # fmt: skip
    real = REPO.parent / "shared" / "pavi"
    if (real / "variant-api-v9-example.json").is_file():
        v9 = parse_answer("NC_003284.9:g.5114224C>T", (real / "variant-api-v9-example.json").read_bytes())
        assert (v9.seq_id, v9.start, v9.end, v9.ref, v9.alt) == ("X", 5114224, 5114224, "C", "T")
        old = parse_answer(
            "NC_003284.9:g.5113285_5115215del", (real / "variant-api-example.json").read_bytes()
        )
        assert (old.seq_id, old.start, old.end, old.kind, len(old.ref)) == (
            "X",
            5113285,
            5115215,
            "deletion",
            1931,
        )
    where = '"location": {"chromosome": "X", "start": %d, "end": %d}'
    bad_answers = [b"not json", b"[]", b"{}", b'{"variantList": [{"curatedVariantGenomicLocations": []}]}']
    bad_answers.append(("{" + where % (9, 3) + ', "genomicReferenceSequence": "A"}').encode())  # start > end
    bad_answers.append(("{" + where % (3, 9) + ', "genomicVariantSequence": "A"}').encode())  # insertion span
    bad_answers.append(("{" + where % (3, 3) + "}").encode())  # no alleles
    bad_answers.append(
        (
            "{" + where % (3, 3) + ', "genomicReferenceSequence": "A", "genomicVariantSequence": "<DEL>"}'
        ).encode()
    )
    dash = parse_answer(
        "d",
        (
            "{" + where % (3, 4) + ', "genomicReferenceSequence": "AC", "genomicVariantSequence": "-"}'
        ).encode(),
    )
    assert (dash.ref, dash.alt, dash.kind) == ("AC", "", "deletion")
    for bad in bad_answers:
        with pytest.raises(VariantDataError):
            parse_answer("v", bad)
    assert variant_url("http://h/api/variant/", "NC_1.2:g.5A>T") == "http://h/api/variant/NC_1.2:g.5A%3ET"
    assert variant_url("http://h/v/", "a/b?c#d e") == "http://h/v/a%2Fb%3Fc%23d%20e"


def test_each_variant_is_fetched_once_per_cache_and_bad_answers_are_not_cached(tmp_path, cache, api):
    api.add("NC_1:g.5A>T", "chr1", 5, 5, "A", "T")
    first = VariantSource(cache, api.base_url)
    assert first("r1", "NC_1:g.5A>T").alt == "T"
    assert first("r2", "NC_1:g.5A>T").alt == "T"
    assert api.log == ["NC_1:g.5A>T"]  # the quoted '>' arrives as the id
    stored = list((cache.root / "records" / "variant").glob("*.json"))
    assert len(stored) == 1 and oct(stored[0].stat().st_mode & 0o777) == "0o644"
    # another process, same cache: no call
    assert VariantSource(GenomeCache(cache.root), api.base_url)("r3", "NC_1:g.5A>T").start == 5
    assert api.calls() == 1
    # an answer without a location: an error naming request and variant, not cached
    api.raw("V:noloc", b'{"id": "V:noloc", "variantList": []}')
    for _ in range(2):
        with pytest.raises(
            VariantError, match=r"^request r4: variant V:noloc: the answer has no genomic location"
        ):
            first("r4", "V:noloc")
    assert api.calls("V:noloc") == 2
    assert len(list((cache.root / "records" / "variant").glob("*.json"))) == 1


def test_concurrent_lookups_fetch_a_variant_once_and_damaged_records_are_refetched(tmp_path, api):
    api.add("V:c", "chr1", 5, 5, "A", "T")
    api.delay = 0.3
    root = tmp_path / "shared-cache"

    def lookup(_: int) -> str:
        return VariantSource(GenomeCache(root), api.base_url)("r", "V:c").alt

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(lookup, range(4))) == ["T"] * 4
    assert api.calls("V:c") == 1
    [stored] = (root / "records" / "variant").glob("*.json")
    stored.write_text("{ damaged")
    assert lookup(0) == "T"
    assert api.calls("V:c") == 2
    assert json.loads(stored.read_text())["data"]["alt"] == "T"


def test_prefetched_records_serve_a_later_run_without_api_calls(tmp_path, api):
    """A writable step (genome download) stores the records; retrieval then asks nothing."""
    api.add("V:1", "chr1", 5, 5, "A", "T")
    api.add("V:2", "chr1", 9, 9, "C", "G", shape="v9")
    requests = [parse_request(request("a", ["V:1", "V:2"])), parse_request(request("b", ["V:2"]))]
    cache = GenomeCache(tmp_path / "c")
    assert prefetch_variants(cache, requests, api.base_url) == 2
    assert api.calls() == 2
    later = VariantSource(GenomeCache(tmp_path / "c"), api.base_url)
    assert [later("b", v).alt for v in ("V:1", "V:2")] == ["T", "G"]
    assert api.calls() == 2
    with pytest.raises(VariantError, match="request b: variant V:404: unknown variant"):
        prefetch_variants(cache, [parse_request(request("b", ["V:404"]))], api.base_url)
