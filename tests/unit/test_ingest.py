"""One pass over a download's bytes (:class:`genomecache.ingest.Ingest`), fed as the network cuts them.

Oracles: ``bgzip -dc`` for the text of what was written, ``samtools faidx`` for the indexes,
``gzip -t`` for which plain-gzip streams are damaged.
"""

from __future__ import annotations

import gzip
import hashlib
import random
import subprocess
from pathlib import Path

import pytest

from genomecache import bgzf
from genomecache.errors import NotFastaError
from genomecache.ingest import Ingest, Ingested
from tests.conftest import ASSETS, GENOME, plain_fasta, run, samtools_indexes


def ingest(data: bytes, recompressed: Path, seed: int = 0) -> Ingested:
    """Feed ``data`` in random cuts (1 byte to 1 MiB), as a download would."""
    rng = random.Random(seed)
    consumer = Ingest("test source", recompressed)
    try:
        pos = 0
        while pos < len(data):
            step = rng.choice([1, 9, 18, 4096, 65536, 100_003, 1 << 20])
            consumer.feed(data[pos : pos + step])
            pos += step
        return consumer.finish()
    finally:
        consumer.close()


def members(text: bytes, cuts: int) -> bytes:
    """``text`` as ``cuts`` concatenated gzip members (as NCBI and pigz -i write some files)."""
    size = -(-len(text) // cuts)
    return b"".join(gzip.compress(text[i : i + size], 6) for i in range(0, len(text), size))


@pytest.mark.parametrize("cuts", [1, 3])
def test_plain_gzip_is_recompressed_with_samtools_indexes(tmp_path, cuts):
    text = plain_fasta()
    source = members(text, cuts)
    out = tmp_path / "re.fa.gz"
    got = ingest(source, out, seed=cuts)
    assert got.fmt == "gzip" and got.problem is None
    assert got.digests["sha256"] == hashlib.sha256(source).hexdigest()
    assert run("bgzip", "-dc", out).stdout == text
    assert got.fasta_sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    fai, gzi = samtools_indexes(out, tmp_path / "oracle")
    assert got.fai == fai
    assert bgzf.gzi_bytes(got.blocks) == gzi


@pytest.mark.parametrize("damage", ["crc", "isize", "truncated"])
def test_damaged_plain_gzip_is_refused(tmp_path, damage):
    source = bytearray(members(plain_fasta(), 3))
    second = source.index(b"\x1f\x8b\x08", 10)  # the second member starts here
    if damage == "crc":
        source[second - 8] ^= 0x01  # the first member's CRC32
    elif damage == "isize":
        source[second - 4] ^= 0x01  # the first member's ISIZE
    else:
        source = source[: len(source) - 100]
    (tmp_path / "bad.gz").write_bytes(source)
    assert subprocess.run(["gzip", "-t", str(tmp_path / "bad.gz")], capture_output=True).returncode != 0
    with pytest.raises(NotFastaError, match="test source: (not a readable gzip file|truncated gzip stream)"):
        ingest(bytes(source), tmp_path / "re.fa.gz")


def test_bgzf_source_is_checked_not_rewritten(tmp_path):
    source = (ASSETS / GENOME).read_bytes()
    got = ingest(source, tmp_path / "re.fa.gz")
    assert got.fmt == "bgzf" and got.problem is None
    assert not (tmp_path / "re.fa.gz").exists()
    assert got.fasta_sha256 == hashlib.sha256(source).hexdigest()
    assert got.fai == (ASSETS / f"{GENOME}.fai").read_bytes()
    assert bgzf.gzi_bytes(got.blocks) == (ASSETS / f"{GENOME}.gzi").read_bytes()


@pytest.mark.parametrize("field", ["crc", "isize"])
def test_a_bad_middle_block_of_a_bgzf_source_is_the_problem_reported(tmp_path, field):
    source = bytearray((ASSETS / GENOME).read_bytes())
    blocks = bgzf.scan_file(ASSETS / GENOME)
    offset = blocks[len(blocks) // 2][0]
    end = blocks[len(blocks) // 2 + 1][0]
    source[end - (8 if field == "crc" else 4)] ^= 0x01
    got = ingest(bytes(source), tmp_path / "re.fa.gz")
    assert got.problem == (
        f"test source: corrupt BGZF block at byte {offset} (CRC32 or size mismatch); the download was removed"
    )


def test_a_bgzf_source_without_its_eof_block_is_the_problem_reported(tmp_path):
    source = (ASSETS / GENOME).read_bytes()[: -len(bgzf.EOF)]
    got = ingest(source, tmp_path / "re.fa.gz")
    assert got.problem is not None and "end-of-file marker missing" in got.problem


@pytest.mark.parametrize(
    "bend",
    [
        lambda fai: fai + fai.splitlines(keepends=True)[0],  # a name listed twice
        lambda fai: fai.replace(b"\t", b" ", 1),  # not tab-separated
        lambda fai: b"",  # no sequences
    ],
)
def test_a_source_fai_that_is_not_one_is_refused(tmp_path, bend):
    """The check of a downloaded ``.fai`` (before it is trusted) refuses a malformed one."""
    from genomecache.errors import IntegrityError
    from genomecache.fastaformat import check_indexes

    for suffix in ("", ".gzi"):
        (tmp_path / f"{GENOME}{suffix}").write_bytes((ASSETS / f"{GENOME}{suffix}").read_bytes())
    (tmp_path / f"{GENOME}.fai").write_bytes(bend((ASSETS / f"{GENOME}.fai").read_bytes()))
    with pytest.raises(IntegrityError, match=f"{GENOME}: unreadable .fai"):
        check_indexes(tmp_path / GENOME)
    (tmp_path / f"{GENOME}.fai").write_bytes((ASSETS / f"{GENOME}.fai").read_bytes())
    check_indexes(tmp_path / GENOME)


def test_a_download_flushed_to_disk_behind_itself_is_whole_and_checked(tmp_path, monkeypatch, server):
    """The download's sink flushes what it wrote every ``SYNC`` bytes on a thread of its own
    (here every 16 kB: many flushes overlapping writes); the file and its checks are unchanged."""
    from genomecache import sources
    from genomecache.locations import parse_location

    flushed: list[int] = []
    real = getattr(sources.os, "fdatasync", sources.os.fsync)

    def counted(fd: int) -> None:
        flushed.append(fd)
        real(fd)

    monkeypatch.setattr(sources._Sink, "SYNC", 16 << 10)
    monkeypatch.setattr(sources.os, "fdatasync", counted)
    consumer = Ingest("test source", tmp_path / "re.fa.gz")
    try:
        got = sources.download(
            parse_location(server.url(GENOME)), tmp_path / "g", progress=False, consumer=consumer
        )
        done = consumer.finish()
    finally:
        consumer.close()
    assert (tmp_path / "g").read_bytes() == (ASSETS / GENOME).read_bytes() and got.size == len(
        (ASSETS / GENOME).read_bytes()
    )
    assert done.problem is None and bgzf.gzi_bytes(done.blocks) == (ASSETS / f"{GENOME}.gzi").read_bytes()
    assert flushed  # the flushes did run
