"""Sizes as people write them (``sizes.py``): binary units both ways, anything else refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genomecache.errors import GenomeCacheError
from genomecache.sizes import human, parse_size

KIB, MIB, GIB, TIB = 1 << 10, 1 << 20, 1 << 30, 1 << 40


@pytest.mark.parametrize(
    ("nbytes", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (3 << 29, "1.5 GiB"),
        (2 << 40, "2.0 TiB"),
        (5 << 50, "5120.0 TiB"),
    ],
)
def test_human_sizes_use_the_binary_units_prune_reads(nbytes: int, text: str) -> None:
    assert human(nbytes) == text
    assert parse_size(text.replace(" ", "")) == nbytes  # what prune prints, prune --max-size reads


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("0", 0),
        ("1024", 1024),
        ("10B", 10),
        ("1K", KIB),
        ("1k", KIB),
        ("1KB", KIB),
        ("1KiB", KIB),
        ("500M", 500 * MIB),
        ("500MB", 500 * MIB),
        ("500MiB", 500 * MIB),
        ("20G", 20 * GIB),
        ("20GB", 20 * GIB),
        ("20GiB", 20 * GIB),
        ("20gib", 20 * GIB),
        (" 20 G ", 20 * GIB),
        ("1T", TIB),
        ("1.5T", TIB * 3 // 2),
        ("1.5TiB", TIB * 3 // 2),
        ("0.1T", TIB // 10),
    ],
)
def test_every_unit_is_binary(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize(
    "text", ["", "G", "-1G", "20X", "20 GG", "1.5.5G", "nan", "inf", "1e9", "20P", "2 0G"]
)
def test_anything_else_is_refused(text):
    with pytest.raises(GenomeCacheError, match="not a size"):
        parse_size(text)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from(["", "K", "M", "G", "T"]),
    st.sampled_from(["", "i", "B", "iB"]),
    st.sampled_from(["", " "]),
    st.booleans(),
)
def test_size_property(number, unit, suffix, space, lower):
    suffix = suffix if unit else suffix.replace("i", "")
    text = f"{number}{space}{unit}{suffix}"
    text = text.lower() if lower else text
    assert parse_size(text) == number * 1024 ** "_KMGT".index(unit or "_")
