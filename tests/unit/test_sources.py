"""Fetching over a real loopback HTTP server that drops, stalls, truncates and corrupts responses."""

from __future__ import annotations

import hashlib
import json
import re
import socket
from pathlib import Path

import pytest

from genomecache.cache import GenomeCache
from genomecache.errors import GenomeCacheError, IntegrityError, SourceError
from genomecache.sources import RetryPolicy
from tests.conftest import (
    ASSETS,
    GENOME,
    cache_files,
    no_partial_downloads,
    published,
    run,
    samtools_indexes,
    serving,
    settle,
)
from tests.support.digests import sha256

# --- resume and retry -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "seen"),
    [("reset", "reset by peer"), ("short", "IncompleteRead"), ("stall", "timed out")],
)
def test_interrupted_body_is_resumed_with_an_exact_range(cache_root, big_genome, fault, seen, caplog):
    """A connection reset (TCP RST), closed early (FIN before the promised length) or stalled
    past the read timeout mid-body: the rest is asked for with an exact Range."""
    caplog.set_level("WARNING", logger="genomecache")
    cache = GenomeCache(cache_root, policy=RetryPolicy(attempts=3, backoff=0.05, timeout=0.8), progress=False)
    size, name = big_genome.stat().st_size, big_genome.name
    with serving(big_genome.parent, slow_seconds=1.5) as httpd:
        httpd.faults[f"/{name}"].append(fault)

        got = cache.ensure(httpd.url(name))

        # in order of arrival (a stalled answer is logged when it ends, after the resumed one)
        first, second = sorted(settle(httpd).gets(name), key=lambda e: e["time"])
    assert seen in caplog.text, "the client saw this fault, not another one"
    assert first["fault"] == fault and first["range"] is None and 0 < first["bytes"] < size
    have = size - second["bytes"]  # what the client kept of the first answer
    assert 0 < have <= first["bytes"]
    if fault == "short":  # a clean close loses nothing that was sent
        assert have == first["bytes"]
    assert second["range"] == f"bytes={have}-{size - 1}"
    assert second["status"] == 206
    assert sha256(Path(got.fasta)) == sha256(big_genome)
    assert got.bytes_downloaded == size


def test_server_that_ignores_range_restarts_the_file(cache, server, genome_dir):
    size = (genome_dir / GENOME).stat().st_size
    server.faults[f"/{GENOME}"] += ["short", "norange"]

    got = cache.ensure(server.url(GENOME))

    first, second = settle(server).gets(GENOME)
    assert second["range"] == f"bytes={first['bytes']}-{size - 1}" and second["status"] == 200
    assert second["bytes"] == size  # the whole file again, written from byte 0 (not appended)
    assert got.bytes_downloaded == first["bytes"] + size
    assert Path(got.fasta).read_bytes() == (genome_dir / GENOME).read_bytes()


def test_503_then_ok_succeeds_after_a_retry(cache, server, genome_dir):
    server.faults[f"/{GENOME}"].append("503")

    got = cache.ensure(server.url(GENOME))

    assert [e["status"] for e in settle(server).gets(GENOME)] == [503, 200]
    assert sha256(Path(got.fasta)) == sha256(genome_dir / GENOME)


def test_503_every_time_gives_up_after_the_policy_attempts(cache, server):
    server.faults[f"/{GENOME}"] += ["503"] * cache.policy.attempts

    with pytest.raises(SourceError, match=rf"gave up after {cache.policy.attempts} attempts"):
        cache.ensure(server.url(GENOME))

    assert len(settle(server).gets(GENOME)) == cache.policy.attempts
    assert published(cache.root) == []
    assert no_partial_downloads(cache)


def test_stalled_server_times_out_and_gives_up(cache_root, genome_dir):
    policy = RetryPolicy(attempts=2, backoff=0.05, timeout=0.3)
    cache = GenomeCache(cache_root, policy=policy, progress=False)
    with serving(genome_dir, slow_seconds=1.5) as slow:
        slow.faults[f"/{GENOME}"] += ["slow", "slow"]
        with pytest.raises(SourceError, match="gave up after 2 attempts") as raised:
            cache.ensure(slow.url(GENOME))
    assert "Timeout" in str(raised.value) or "timed out" in str(raised.value)
    assert published(cache_root) == []
    assert no_partial_downloads(cache)


def test_index_fetch_failures_fall_back_to_building_them(cache, server, genome_dir):
    """The indexes are optional: failing to fetch them must not fail a good download."""
    server.faults[f"/{GENOME}.fai"] += ["503"] * cache.policy.attempts

    got = cache.ensure(server.url(GENOME))

    record = json.loads((Path(got.fasta).parent / "entry.json").read_text())
    assert record["indexes"] == "built"
    assert Path(f"{got.fasta}.fai").read_bytes() == (genome_dir / f"{GENOME}.fai").read_bytes()
    assert Path(f"{got.fasta}.gzi").read_bytes() == (genome_dir / f"{GENOME}.gzi").read_bytes()


@pytest.mark.parametrize("stale", ["fai-line-length", "gzi-missing-block"])
def test_stale_source_indexes_are_rebuilt(cache, server, genome_dir, stale):
    """An index that does not fit the FASTA is replaced by a built one, not trusted."""
    fai, gzi = (ASSETS / f"{GENOME}.fai").read_bytes(), (ASSETS / f"{GENOME}.gzi").read_bytes()
    if stale == "fai-line-length":  # lands on bases at the first and last position all the same
        (genome_dir / f"{GENOME}.fai").write_bytes(fai.replace(b"\t50\t51", b"\t60\t61"))
    else:  # offsets in range and sorted, but a block in the middle of chromosome I is not listed
        count = int.from_bytes(gzi[:8], "little")
        entries = [gzi[8 + 16 * i : 24 + 16 * i] for i in range(count) if i != count // 2]
        (genome_dir / f"{GENOME}.gzi").write_bytes((count - 1).to_bytes(8, "little") + b"".join(entries))

    got = cache.ensure(server.url(GENOME))

    assert json.loads((Path(got.fasta).parent / "entry.json").read_text())["indexes"] == "built"
    assert Path(f"{got.fasta}.fai").read_bytes() == fai
    assert Path(f"{got.fasta}.gzi").read_bytes() == gzi


# --- integrity --------------------------------------------------------------------------------


def test_corrupt_body_with_known_hash_is_refused_and_not_resumed(cache, server, genome_dir):
    good = sha256(genome_dir / GENOME)
    server.faults[f"/{GENOME}"].append("corrupt")

    with pytest.raises(IntegrityError) as raised:
        cache.ensure(server.url(GENOME), known_hash=f"sha256:{good}")

    message = str(raised.value)
    assert f"expected {good}" in message
    [actual] = [h for h in re.findall(r"\b[0-9a-f]{64}\b", message) if h != good]
    assert f"got {actual}" in message
    assert "removed" in message
    assert published(cache.root) == []
    assert no_partial_downloads(cache)

    got = cache.ensure(server.url(GENOME), known_hash=f"sha256:{good}")
    assert got.source == "network"
    assert sha256(Path(got.fasta)) == good
    assert [e["range"] for e in settle(server).gets(GENOME)] == [None, None]  # the bad bytes were not reused


def test_corrupt_bgzf_body_without_known_hash_is_still_refused(cache, server, genome_dir):
    """A flipped byte inside a BGZF block fails that block's CRC, wherever it is."""
    server.faults[f"/{GENOME}"].append("corrupt")

    with pytest.raises(IntegrityError, match="corrupt"):
        cache.ensure(server.url(GENOME))

    assert published(cache.root) == []
    got = cache.ensure(server.url(GENOME))
    assert sha256(Path(got.fasta)) == sha256(genome_dir / GENOME)


def test_known_hash_forms(cache, server, genome_dir):
    data = (genome_dir / GENOME).read_bytes()
    got = cache.ensure(server.url(GENOME), known_hash=f"md5:{hashlib.md5(data).hexdigest().upper()}")
    assert got.source == "network"
    with pytest.raises(GenomeCacheError, match="unsupported checksum algorithm 'crc32'"):
        cache.ensure(server.url("noindex.fa.gz"), known_hash="crc32:1234")


# --- sources that do not answer ---------------------------------------------------------------


def test_missing_file_is_a_clear_error(cache, server):
    with pytest.raises(SourceError, match=r"nope\.fa\.gz: not found \(HTTP 404\)"):
        cache.ensure(server.url("nope.fa.gz"))
    assert [e["method"] for e in settle(server).log] == ["HEAD"]  # not retried
    assert published(cache.root) == []
    assert no_partial_downloads(cache)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_host_leaves_the_cache_unchanged(cache, cache_root):
    url = f"http://127.0.0.1:{closed_port()}/{GENOME}"

    with pytest.raises(SourceError, match=r"unreachable: .*refused.*gave up after 3 attempts"):
        cache.ensure(url)

    assert published(cache_root) == []
    assert no_partial_downloads(cache)
    assert [p for p in cache_files(cache_root) if p.startswith("genomes/")] == []
    assert cache.entries() == []


def test_partial_download_from_another_version_of_the_file_is_restarted(cache, server, genome_dir):
    """The ETag recorded beside a partial file guards the resume."""
    staging = cache.genomes / f".partial-{cache_entry(cache, server.url(GENOME))}"
    staging.mkdir(parents=True)
    (staging / "download").write_bytes(b"\x1f\x8b" + b"x" * 50_000)
    size = (genome_dir / GENOME).stat().st_size
    (staging / "download.json").write_text(json.dumps({"size": size, "etag": '"another-version"'}))

    got = cache.ensure(server.url(GENOME))

    assert [e["range"] for e in settle(server).gets(GENOME)] == [None]
    assert sha256(Path(got.fasta)) == sha256(genome_dir / GENOME)


@pytest.mark.parametrize("state", ["", '{"size": ', "[]"])
def test_unreadable_resume_state_restarts_instead_of_failing(cache, server, genome_dir, state):
    staging = cache.genomes / f".partial-{cache_entry(cache, server.url(GENOME))}"
    staging.mkdir(parents=True)
    (staging / "download").write_bytes((genome_dir / GENOME).read_bytes()[:100_000])
    (staging / "download.json").write_text(state)

    got = cache.ensure(server.url(GENOME))

    # restarted: one GET of the whole file, no Range (the partial's bytes are right, so only
    # the request log tells a restart from a resume)
    assert [(e["range"], e["status"]) for e in settle(server).gets(GENOME)] == [(None, 200)]
    assert got.bytes_downloaded == (genome_dir / GENOME).stat().st_size
    assert sha256(Path(got.fasta)) == sha256(genome_dir / GENOME)


def test_matching_partial_download_is_resumed(cache, server, genome_dir):
    url = server.url(GENOME)
    size = (genome_dir / GENOME).stat().st_size
    staging = cache.genomes / f".partial-{cache_entry(cache, url)}"
    staging.mkdir(parents=True)
    (staging / "download").write_bytes((genome_dir / GENOME).read_bytes()[:100_000])
    etag = f'"{(genome_dir / GENOME).stat().st_mtime_ns}-{size}"'  # what GenomeServer sends
    (staging / "download.json").write_text(json.dumps({"size": size, "etag": etag}))

    got = cache.ensure(url)

    assert [e["range"] for e in settle(server).gets(GENOME)] == [f"bytes=100000-{size - 1}"]
    assert got.bytes_downloaded == size - 100_000
    assert sha256(Path(got.fasta)) == sha256(genome_dir / GENOME)


def cache_entry(cache: GenomeCache, url: str) -> str:
    from genomecache.locations import parse_location

    return parse_location(url).entry_name


# --- servers with their own rules ---------------------------------------------------------------


def test_server_refusing_head_is_asked_for_one_byte(cache, server, genome_dir):
    """Presigned S3 URLs sign GET only: HEAD answers 403, a ranged GET works."""
    base = server.httpd.RequestHandlerClass

    class NoHead(base):  # type: ignore[misc, valid-type]
        def do_HEAD(self) -> None:
            self.send_error(403)

    server.httpd.RequestHandlerClass = NoHead

    got = cache.ensure(server.url(GENOME))

    assert settle(server).gets(GENOME)[0]["range"] == "bytes=0-0"
    assert sha256(Path(got.fasta)) == sha256(genome_dir / GENOME)
    assert got.size == (genome_dir / GENOME).stat().st_size


def test_local_file_is_cached_without_network(cache, genome_dir):
    weird = genome_dir / "my genome #1.fa"
    weird.write_bytes((genome_dir / "ce.fa").read_bytes())

    got = cache.ensure(str(weird))

    assert got.source == "local"  # copied into the cache (no network), converted to BGZF
    assert Path(got.fasta).name.endswith(".gz")
    assert cache.ensure(str(weird)).source == "cache"


# --- one pass over the bytes: recompression and checks while downloading ---------------------------


def test_multi_member_gzip_is_recompressed_whole(cache, server, genome_dir):
    plain = (genome_dir / "ce.fa").read_bytes()
    half = len(plain) // 2
    halves = [run("gzip", "-nc", input=part).stdout for part in (plain[:half], plain[half:])]
    (genome_dir / "members.fa.gz").write_bytes(b"".join(halves))  # as `cat a.gz b.gz` makes it

    got = cache.ensure(server.url("members.fa.gz"))

    assert run("bgzip", "-dc", got.fasta).stdout == plain
    record = json.loads((Path(got.fasta).parent / "entry.json").read_text())
    assert record["source_format"] == "gzip" and record["sha256"] == sha256(Path(got.fasta))


def test_a_truncated_gzip_stream_is_refused(cache, server, genome_dir):
    data = (genome_dir / "plain.fa.gz").read_bytes()
    (genome_dir / "cut.fa.gz").write_bytes(data[: len(data) // 2])  # the server's size is the cut one

    with pytest.raises(IntegrityError, match=r"cut\.fa\.gz: truncated gzip"):
        cache.ensure(server.url("cut.fa.gz"))
    assert published(cache.root) == [] and no_partial_downloads(cache)


def test_content_that_is_not_fasta_stops_the_download_early(cache, server, genome_dir):
    size = 48 << 20
    (genome_dir / "movie.fa").write_bytes(b"\0" * size)

    with pytest.raises(IntegrityError, match=r"movie\.fa: not FASTA"):
        cache.ensure(server.url("movie.fa"))
    sent = settle(server).bytes_sent("movie.fa")
    assert sent < size / 2, f"{sent} of {size} bytes were sent"
    assert published(cache.root) == [] and no_partial_downloads(cache)


@pytest.mark.parametrize(
    "text",
    [
        b">a desc\nACGTACGT\nACGTACGT\nACG\n>b\nTTTT\nTT\n",  # regular: the .fai is built while streaming
        b">a\nACGTACGT\nACGTACGT\nACG",  # no newline at the end: built the slow way
    ],
)
def test_indexes_of_a_recompressed_fasta_match_samtools(cache, server, genome_dir, tmp_path, text):
    (genome_dir / "small.fa").write_bytes(text)

    got = cache.ensure(server.url("small.fa"))

    fai, gzi = samtools_indexes(Path(got.fasta), tmp_path / "oracle")
    assert Path(f"{got.fasta}.fai").read_bytes() == fai
    assert Path(f"{got.fasta}.gzi").read_bytes() == gzi
