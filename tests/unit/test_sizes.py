"""Sizes as people write them (``sizes.py``): binary units both ways.

(``parse_size`` is also tested in test_integrity.py, next to ``prune --max-size``.)
"""

from __future__ import annotations

import pytest

from genomecache.sizes import human, parse_size


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
