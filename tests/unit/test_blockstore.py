"""Range mode's index structures (``blockstore.py``) against what samtools and bgzip wrote.

The ``.gzi`` and ``.fai`` here are samtools' own, read with ``struct`` and ``split``; block
lookups are checked against a plain bisection of those records. (Range mode end to end, with
the block store and a real server, is in test_ranged.py.)
"""

from __future__ import annotations

import bisect
import random
import struct
from pathlib import Path

import pytest

from genomecache import blockstore
from genomecache.blockstore import GziIndex, parse_fai
from genomecache.errors import IntegrityError
from tests.support.samtools import decompressed


def gzi_records(fasta: Path) -> list[tuple[int, int]]:
    """(compressed, uncompressed) block starts after the first, as htslib wrote them."""
    data = Path(f"{fasta}.gzi").read_bytes()
    (count,) = struct.unpack_from("<Q", data)
    return [struct.unpack_from("<QQ", data, 8 + 16 * i) for i in range(count)]


def offsets_to_check(starts: list[int], total: int, seed: int = 5) -> list[int]:
    """Every block's first and last byte, the file's ends, and random offsets."""
    rng = random.Random(seed)
    edges = {u for s in starts for u in (s, s - 1) if 0 <= u < total}
    return sorted(edges | {0, total - 1} | {rng.randrange(total) for _ in range(300)})


@pytest.mark.parametrize("page", [None, 8, 256])
def test_find_names_the_block_holding_each_offset(big_genome: Path, monkeypatch, page: int | None) -> None:  # type: ignore[no-untyped-def]
    records = gzi_records(big_genome)
    assert len(records) > 100  # many blocks, many pages of 8
    size, total = big_genome.stat().st_size, len(decompressed(big_genome))
    starts = [0] + [u for _, u in records]
    if page is None:  # the whole .gzi held in memory
        index = GziIndex(len(records), size, whole=records)
    else:  # read page by page, as for a large .gzi over the network
        monkeypatch.setattr(blockstore, "PAGE", page)
        loads: list[list[int]] = []

        def load_pages(pages: list[int]) -> dict[int, list[tuple[int, int]]]:
            loads.append(pages)
            return {p: records[p * page : (p + 1) * page] for p in pages}

        index = GziIndex(len(records), size, load_pages=load_pages)
    for u in offsets_to_check(starts, total):
        k = index.find(u)
        assert k == bisect.bisect_right(starts, u) - 1, u
        assert index.point(k) == ((0, 0) if k == 0 else records[k - 1])
        if k < len(records):
            assert index.ulen(k) == starts[k + 1] - starts[k]
    if page == 8:
        assert sum(map(len, loads)) == index.npages  # each page fetched once, however often needed


def test_one_lookup_reads_few_pages_of_a_large_gzi(big_genome: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    records = gzi_records(big_genome)
    monkeypatch.setattr(blockstore, "PAGE", 4)
    starts = [0] + [u for _, u in records]
    total = len(decompressed(big_genome))
    worst = 0
    for u in offsets_to_check(starts, total, seed=11)[::7]:
        index = GziIndex(
            len(records),
            big_genome.stat().st_size,
            load_pages=lambda pages: {p: records[p * 4 : (p + 1) * 4] for p in pages},
        )
        assert index.find(u) == bisect.bisect_right(starts, u) - 1
        worst = max(worst, index.pages_fetched)
    # interpolation finds the page in a probe or two (bisection alone would need 5 of these 32)
    assert index.npages > 30 and worst <= 4, (index.npages, worst)


def test_a_gzi_that_cannot_describe_the_file_is_refused(big_genome: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    records = gzi_records(big_genome)
    size = big_genome.stat().st_size
    swapped = [records[1], records[0], *records[2:]]
    with pytest.raises(ValueError, match="not in order"):
        GziIndex(len(records), size, whole=swapped)
    with pytest.raises(ValueError, match="beyond the end of the file"):
        GziIndex(len(records), records[-1][0], whole=records)  # a file shorter than its index
    with pytest.raises(ValueError, match="count does not match"):
        GziIndex(len(records) + 1, size, whole=records)
    monkeypatch.setattr(blockstore, "PAGE", 8)
    short = GziIndex(
        len(records), size, load_pages=lambda pages: {p: records[p * 8 : p * 8 + 7] for p in pages}
    )
    with pytest.raises(IntegrityError, match=r"\.gzi page 0: 7 records, expected 8"):
        short.find(10)


def test_parse_fai_reads_what_samtools_wrote(big_genome: Path) -> None:
    text = Path(f"{big_genome}.fai").read_text()
    records = parse_fai(text.encode())
    assert [tuple(map(str, r)) for r in records.values()] == [
        tuple(line.split("\t")) for line in text.splitlines()
    ]
    assert {name: r.rlen for name, r in records.items()} == {
        "chrA": 3_100_000,
        "chrB": 2_400_000,
        "chrC": 2_600_003,
    }
    assert [r.lenc for r in records.values()] == [60, 70, 80]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"chr1\t10\t6\t60\n",
        b"chr1\t10\t6\t60\t59\n",
        b"chr1\tten\t6\t60\t61\n",
        b"chr1\t10\t6\t0\t1\n",
        b"\xff\t1\t1\t1\t2\n",
    ],
)
def test_parse_fai_refuses_what_is_not_an_fai(data: bytes) -> None:
    with pytest.raises(ValueError):
        parse_fai(data)
