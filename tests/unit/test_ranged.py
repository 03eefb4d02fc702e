"""Cold-cache range access: only the BGZF blocks a request reads cross the network.

Every test talks to a real loopback HTTP server (or moto's S3 server) and checks
sequences against ``samtools faidx`` and against full mode; the blocks a region needs
are computed here from the ``.fai`` and ``.gzi`` alone, not with the package's code.
"""

from __future__ import annotations

import bisect
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from Bio.Seq import reverse_complement

from genomecache import ranged
from genomecache.errors import IntegrityError, SourceError
from genomecache.requests import Region
from genomecache.retrieval import Genome
from tests.conftest import ASSETS, FAST_ENV, GENOME, cli, run, settle
from tests.support.httpserver import GenomeServer
from tests.support.samtools import samtools_regions as samtools
from tests.support.scripts import run_script

BIG = "big.fa.gz"
EOF_BYTES = 28
CLOSED_RANGE = re.compile(r"bytes=(\d+)-(\d+)")
SEQ_RETRIEVAL = Path(__file__).resolve().parents[2] / "bin" / "seq_retrieval.py"


# --- the genome and what a region needs, computed independently ---------------------------------


@pytest.fixture(scope="session")
def big(big_genome: Path) -> Path:
    """The suite's random BGZF genome (chrA-chrC, see conftest), served as ``BIG``."""
    return big_genome


def fai_records(fasta: Path) -> dict[str, tuple[int, int, int, int]]:
    records = {}
    for line in Path(f"{fasta}.fai").read_text().splitlines():
        name, rlen, offset, lenc, lenb = line.split("\t")[:5]
        records[name] = (int(rlen), int(offset), int(lenc), int(lenb))
    return records


class Blocks:
    """BGZF blocks of a file from its .gzi: compressed [start, end) and uncompressed starts."""

    def __init__(self, fasta: Path) -> None:
        data = Path(f"{fasta}.gzi").read_bytes()
        (count,) = struct.unpack_from("<Q", data)
        points = [(0, 0)] + [struct.unpack_from("<QQ", data, 8 + 16 * i) for i in range(count)]
        self.size = fasta.stat().st_size
        self.cstarts = [c for c, _ in points]
        self.ustarts = [u for _, u in points]
        self.cends = self.cstarts[1:] + [self.size - EOF_BYTES]
        self.bounds = set(self.cstarts) | {self.size - EOF_BYTES, self.size}

    def of(self, uoffset: int) -> int:
        return bisect.bisect_right(self.ustarts, uoffset) - 1

    def covering(self, first: int, last: int) -> set[tuple[int, int]]:
        return {(self.cstarts[k], self.cends[k]) for k in range(self.of(max(first, 0)), self.of(last) + 1)}


def byte_of(record: tuple[int, int, int, int], pos: int) -> int:
    """Uncompressed offset of 1-based base ``pos``."""
    _, offset, lenc, lenb = record
    return offset + (pos - 1) // lenc * lenb + (pos - 1) % lenc


def needed(fasta: Path, regions: list[tuple[str, int, int]], line_ends: bool = False) -> set[tuple[int, int]]:
    """Blocks holding the regions' bases; with ``line_ends`` also the line ends around them."""
    fai, blocks = fai_records(fasta), Blocks(fasta)
    found: set[tuple[int, int]] = set()
    for name, start, end in regions:
        rec = fai[name]
        slack = rec[3] - rec[2] + 1 if line_ends else 0
        found |= blocks.covering(byte_of(rec, start) - slack, byte_of(rec, end) + slack - (1 if slack else 0))
    return found


def regions(fasta: Path, count: int, seed: int, max_len: int = 150_000) -> list[tuple[str, int, int]]:
    """Random regions plus each sequence's first and last bases and regions at block boundaries."""
    rng = random.Random(seed)
    fai, blocks = fai_records(fasta), Blocks(fasta)
    names = sorted(fai)
    found = []
    for _ in range(count):
        name = rng.choice(names)
        length = rng.choice([1, rng.randint(2, 300), rng.randint(300, 4000), rng.randint(4000, max_len)])
        start = rng.randint(1, fai[name][0] - length + 1)
        found.append((name, start, start + length - 1))
    for name in names:
        rlen = fai[name][0]
        found += [(name, 1, 1), (name, rlen, rlen), (name, 1, 100), (name, rlen - 99, rlen)]
    # the base at the start of sampled blocks: regions across, starting at and ending before it
    for u in rng.sample(blocks.ustarts[1:], 12) + blocks.ustarts[1:3] + blocks.ustarts[-2:]:
        for name, (rlen, offset, lenc, lenb) in fai.items():
            rel = u - offset
            if 0 <= rel < rlen + rlen // lenc * (lenb - lenc):
                line, col = divmod(rel, lenb)
                pos = line * lenc + min(col, lenc) + 1
                if 40 < pos < rlen - 40:
                    found += [(name, pos - 30, pos + 30), (name, pos, pos + 9), (name, pos - 20, pos - 1)]
    return found


def fasta_gets(server: GenomeServer, name: str = BIG) -> list[dict]:
    return server.gets(name)


def fetched(server: GenomeServer, name: str = BIG) -> int:
    return sum(e["bytes"] for e in fasta_gets(server, name))


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def www(tmp_path: Path, big: Path) -> Path:
    """What the server serves: the big genome with its indexes, and the small one in variants."""
    folder = tmp_path / "www"
    folder.mkdir()
    for suffix in ("", ".fai", ".gzi"):
        shutil.copyfile(f"{big}{suffix}", folder / f"{BIG}{suffix}")
        shutil.copyfile(ASSETS / f"{GENOME}{suffix}", folder / f"{GENOME}{suffix}")
    return folder


@pytest.fixture
def httpd(www: Path):  # type: ignore[no-untyped-def]
    with GenomeServer(www) as server:
        yield server


def read_all(genome: Genome, wanted: list[tuple[str, int, int]]) -> list[str]:
    return [genome.region(name, Region(start, end)) for name, start, end in wanted]


def assert_closed_block_ranges(server: GenomeServer, fasta: Path) -> None:
    blocks = Blocks(fasta)
    gets = fasta_gets(server, fasta.name)
    assert gets, "no ranged GET reached the server"
    for entry in gets:
        match = CLOSED_RANGE.fullmatch(entry["range"] or "")
        assert match, f"GET without a closed range: {entry}"
        start, end = int(match.group(1)), int(match.group(2))
        assert start in blocks.bounds and end + 1 in blocks.bounds, f"range not on block bounds: {entry}"


# --- results -------------------------------------------------------------------------------------


def test_range_mode_returns_what_full_mode_and_samtools_return(cache, httpd, big):
    wanted = regions(big, 150, seed=1)
    expected_plus, expected_minus = samtools(big, wanted), samtools(big, wanted, minus=True)

    with ranged.open_genome(cache, httpd.url(BIG)) as genome:
        assert genome.resolved.source == "range"
        got = read_all(genome, wanted)
    with Genome.open(big) as full:
        whole = read_all(full, wanted)

    for region, seq, want, want_rc, full_seq in zip(
        wanted, got, expected_plus, expected_minus, whole, strict=True
    ):
        assert seq == want == full_seq, region
        assert reverse_complement(seq) == want_rc, region
    assert any(c.islower() for c in "".join(got)), "soft-masking should be kept"
    assert_closed_block_ranges(httpd, big)
    # each block crossed the network at most once, and only blocks some region reads
    allowed = needed(big, wanted, line_ends=True)
    assert fetched(httpd) <= sum(e - s for s, e in allowed) + EOF_BYTES


def test_a_cold_read_fetches_only_the_blocks_it_needs(cache, httpd, big, capsys):
    wanted = [(n, s, min(e, s + 2999)) for n, s, e in regions(big, 10, seed=7)[:10]]
    with ranged.open_genome(cache, httpd.url(BIG)) as genome:
        assert read_all(genome, wanted) == samtools(big, wanted)
        stats = genome.stats

    strict, allowed = needed(big, wanted), needed(big, wanted, line_ends=True)
    need = sum(e - s for s, e in strict)
    got = fetched(httpd)
    size = big.stat().st_size
    with capsys.disabled():
        print(
            f"\n[ranged] {len(wanted)} regions: needed {need} B in {len(strict)} blocks, fetched {got} B "
            f"in {len(fasta_gets(httpd))} GETs (incl. {EOF_BYTES} B probe), file {size} B ({got / size:.1%})"
        )
    assert_closed_block_ranges(httpd, big)
    assert need + EOF_BYTES <= got <= sum(e - s for s, e in allowed) + EOF_BYTES
    assert got < size / 10
    assert stats["bytes_fetched"] == got - EOF_BYTES  # the probe was counted by prepare, not the reader
    # the indexes came once, and no request read the whole file
    assert len(httpd.gets(f"{BIG}.fai")) == len(httpd.gets(f"{BIG}.gzi")) == 1
    assert httpd.gets(BIG, ranged=False) == []


def test_one_prefetch_asks_once_per_run_of_adjacent_missing_blocks(cache, httpd, big):
    blocks, rec = Blocks(big), fai_records(big)["chrA"]
    # the first base at or after the start of blocks 10..20 (chrA's bases start in block 0)
    starts = []
    for k in range(10, 21):
        line, col = divmod(blocks.ustarts[k] - rec[1], rec[3])
        starts.append(line * rec[2] + min(col, rec[2]) + 1)
    wanted = [
        ("chrA", starts[0] + 100, starts[3] - 100),  # blocks 10..12: one run
        ("chrA", starts[3] + 50, starts[3] + 60),  # block 13: adjacent, joins that run
        ("chrA", starts[7] + 200, starts[7] + 300),  # block 17 alone
        ("chrA", starts[10] - 30, starts[10] + 30),  # blocks 19..20: a third run
    ]
    need = sorted(needed(big, wanted))
    runs = 1 + sum(1 for (_, end), (start, _) in zip(need, need[1:], strict=False) if end != start)
    assert runs == 3, need
    with ranged.open_genome(cache, httpd.url(BIG)) as genome:
        genome.prefetch("chrA", [Region(s, e) for _, s, e in wanted])
        assert genome.stats["requests"] == runs
        assert genome.stats["bytes_fetched"] == sum(e - s for s, e in need)
        assert read_all(genome, wanted) == samtools(big, wanted)
        assert genome.stats["requests"] == runs, "reading after the prefetch fetches nothing more"
    assert_closed_block_ranges(httpd, big)


def test_blocks_are_reused_by_a_new_object_and_a_new_process(cache, httpd, big, tmp_path):
    exons = [(1_000_000, 1_000_400), (1_020_000, 1_020_650), (1_060_000, 1_060_300)]
    wanted = [("chrB", s, e) for s, e in exons]
    with ranged.open_genome(cache, httpd.url(BIG)) as genome:
        first = read_all(genome, wanted)
    requests = len(settle(httpd).log)  # the last response may be logged after it is read
    assert fetched(httpd) > EOF_BYTES

    with ranged.open_genome(cache, httpd.url(BIG)) as genome:
        assert read_all(genome, wanted) == first
        assert genome.stats["requests"] == 0
    assert len(settle(httpd).log) == requests, httpd.log[requests:]

    ranged_out = seq_retrieval(tmp_path / "ranged", cache.root, httpd.url(BIG), "chrB", "-", exons, "range")
    assert len(settle(httpd).log) == requests, f"a second process fetched again: {httpd.log[requests:]}"
    full_out = seq_retrieval(tmp_path / "full", cache.root, f"file://{big}", "chrB", "-", exons, "full")
    assert ranged_out == full_out
    expected = "".join(reversed(samtools(big, wanted, minus=True)))
    assert ranged_out.split("\n", 1)[1].replace("\n", "") == expected


def seq_retrieval(
    workdir: Path,
    cache_root: Path,
    url: str,
    seq_id: str,
    strand: str,
    exons: list[tuple[int, int]],
    access: str,
) -> str:
    """Run bin/seq_retrieval.py as the pipeline does; the transcript FASTA it writes."""
    workdir.mkdir(parents=True, exist_ok=True)
    result = run_script(
        "seq_retrieval.py",
        *["--output_type", "transcript", "--unique_entry_id", "t1", "--base_seq_name", "t1"],
        *["--seq_id", seq_id, "--seq_strand", strand, "--fasta_file_url", url],
        *["--exon_seq_regions", json.dumps([{"start": s, "end": e} for s, e in exons])],
        *["--cache_dir", cache_root, "--access", access],
        cwd=workdir,
        env=FAST_ENV,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return (workdir / "t1-transcript.fa").read_text()


# --- falling back to the full download --------------------------------------------------------------


def test_a_server_ignoring_ranges_gets_the_full_download(cache, httpd, big):
    httpd.faults[f"/{BIG}"] += ["norange"] * 4
    wanted = regions(big, 20, seed=3)
    with ranged.open_genome(cache, httpd.url(BIG)) as genome:
        assert genome.resolved.source == "network"
        assert read_all(genome, wanted) == samtools(big, wanted)
    assert [e["status"] for e in httpd.gets(BIG, ranged=True)] == [200], "one probe, answered 200"
    assert len(httpd.gets(BIG, ranged=False)) == 1, "then one whole download"
    assert not (cache.root / "ranges" / ranged.parse_location(httpd.url(BIG)).entry_name).exists()
    assert Path(genome.resolved.fasta).read_bytes() == big.read_bytes()


def test_a_server_that_stops_honouring_ranges_mid_read_falls_back(cache, httpd, big):
    assert ranged.prepare(cache, httpd.url(BIG)).source == "range"
    httpd.faults[f"/{BIG}"] += ["norange"] * 4
    wanted = regions(big, 20, seed=4)
    with ranged.open_genome(cache, httpd.url(BIG)) as genome:
        assert read_all(genome, wanted) == samtools(big, wanted)
        assert genome.store.local is not None
    assert len(httpd.gets(BIG, ranged=False)) == 1
    assert cache.ensure(httpd.url(BIG)).source == "cache"


@pytest.mark.parametrize("variant", ["no-gzi", "plain-text", "gzip-not-bgzf"])
def test_sources_that_cannot_be_read_by_range_are_downloaded_whole(cache, httpd, www, variant):
    plain = run("bgzip", "-dc", ASSETS / GENOME).stdout
    name = {"no-gzi": "nogzi.fa.gz", "plain-text": "plain.fa", "gzip-not-bgzf": "plain.fa.gz"}[variant]
    if variant == "no-gzi":
        shutil.copyfile(www / GENOME, www / name)
        shutil.copyfile(www / f"{GENOME}.fai", www / f"{name}.fai")
    elif variant == "plain-text":
        (www / name).write_bytes(plain)
        run("samtools", "faidx", www / name)
    else:  # gzip with a .fai and a .gzi that belong to the BGZF copy: the EOF probe tells
        (www / name).write_bytes(run("gzip", "-nc", input=plain).stdout)
        shutil.copyfile(www / f"{GENOME}.fai", www / f"{name}.fai")
        shutil.copyfile(www / f"{GENOME}.gzi", www / f"{name}.gzi")
    wanted = [("CHROMOSOME_I", 1, 120), ("CHROMOSOME_I", 500_000, 500_300), ("CHROMOSOME_MtDNA", 4000, 5000)]
    with ranged.open_genome(cache, httpd.url(name)) as genome:
        assert genome.resolved.source == "network"
        assert read_all(genome, wanted) == samtools(ASSETS / GENOME, wanted)
    assert not (cache.root / "ranges").exists() or not any(
        p.name.startswith(name) for p in (cache.root / "ranges").iterdir()
    )


# --- integrity -------------------------------------------------------------------------------------


def test_a_corrupted_transfer_is_retried_and_a_damaged_cached_block_fetched_again(cache, httpd, big):
    wanted = [("chrA", 2_000_000, 2_000_500)]
    assert ranged.prepare(cache, httpd.url(BIG)).source == "range"
    httpd.faults[f"/{BIG}"].append("corrupt")
    with ranged.open_genome(cache, httpd.url(BIG)) as genome:
        assert read_all(genome, wanted) == samtools(big, wanted)
    ranges = [e["range"] for e in httpd.gets(BIG)[1:]]
    assert len(ranges) == 2 and ranges[0] == ranges[1], "the corrupted body is fetched again"

    blocks = [p for p in (cache.root / "ranges").rglob("blocks/*/*") if int(p.name) < big.stat().st_size - 28]
    assert len(blocks) == 1
    blocks[0].write_bytes(b"\0" * blocks[0].stat().st_size)  # bit rot on the shared disk
    with ranged.open_genome(cache, httpd.url(BIG)) as genome:
        assert read_all(genome, wanted) == samtools(big, wanted)
    assert len(httpd.gets(BIG)) == 4
    ranged.check_bgzf(blocks[0].read_bytes())


def test_a_file_replaced_at_the_same_url_is_detected_and_prepared_again(cache, httpd, www):
    wanted = [("CHROMOSOME_I", 500_000, 500_300), ("CHROMOSOME_X", 10, 4000)]
    expected = samtools(ASSETS / GENOME, wanted)
    assert ranged.prepare(cache, httpd.url(GENOME)).source == "range"
    # the same sequences recompressed: every block moves
    (www / "ce.fa").write_bytes(run("bgzip", "-dc", www / GENOME).stdout)
    run("bgzip", "-f", "-l", "1", www / "ce.fa")
    run("samtools", "faidx", www / GENOME)
    with (
        ranged.open_genome(cache, httpd.url(GENOME)) as genome,
        pytest.raises(IntegrityError, match="changed"),
    ):
        read_all(genome, wanted)
    with ranged.open_genome(cache, httpd.url(GENOME)) as genome:
        assert genome.resolved.source == "range" and genome.resolved.bytes_downloaded > 0
        assert read_all(genome, wanted) == expected
    assert len(httpd.gets(f"{GENOME}.gzi")) == 2


def test_block_files_stay_inside_the_cache_or_in_memory(cache, httpd, tmp_path):
    wanted = [("CHROMOSOME_I", 1, 120), ("CHROMOSOME_V", 100, 4000)]
    entry = Path(ranged.prepare(cache, httpd.url(GENOME)).fasta).parent
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.rmtree(entry / "blocks")
    (entry / "blocks").mkdir()
    (entry / "blocks" / "0").symlink_to(outside)  # planted: must be neither read nor written
    with pytest.raises(IntegrityError, match="outside"):
        ranged.open_genome(cache, httpd.url(GENOME))
    assert list(outside.iterdir()) == []

    shutil.rmtree(entry / "blocks")
    (entry / "blocks").write_text("")  # the block store cannot be written (as on a read-only mount)
    with ranged.open_genome(cache, httpd.url(GENOME)) as genome:
        assert read_all(genome, wanted) == samtools(ASSETS / GENOME, wanted)
        requests = genome.stats["requests"]
        assert read_all(genome, wanted) == samtools(ASSETS / GENOME, wanted)
        assert genome.stats["requests"] == requests, "blocks are kept in memory instead"
        assert not genome.store.writable


def test_secrets_in_the_url_reach_no_name_file_or_log(cache, httpd, big, caplog):
    caplog.set_level("DEBUG")
    url = httpd.url(BIG) + "?token=SECRET-7f3a"
    with ranged.open_genome(cache, url) as genome:
        assert read_all(genome, [("chrC", 5, 900)]) == samtools(big, [("chrC", 5, 900)])
    with pytest.raises(SourceError) as failure:
        ranged.open_genome(cache, httpd.url("missing.fa.gz") + "?token=SECRET-7f3a")
    assert "SECRET" not in str(failure.value)
    httpd.faults[f"/{BIG}"] += ["503"] * 5
    with ranged.open_genome(cache, url) as genome, pytest.raises(SourceError) as failure:
        genome.region("chrA", Region(10, 20))
    assert "SECRET" not in str(failure.value)
    assert "SECRET" not in caplog.text
    for path in cache.root.rglob("*"):
        assert "SECRET" not in path.name
        if path.is_file():
            assert b"SECRET" not in path.read_bytes(), path


# --- many processes on one cache ----------------------------------------------------------------------


def test_concurrent_processes_share_one_block_store(cache, httpd, big, tmp_path):
    jobs = [
        ("chrA", "+", [(300_000, 300_800), (305_000, 305_900)]),
        ("chrA", "-", [(300_500, 301_200), (380_000, 380_100)]),
        ("chrC", "+", [(2_600_003 - 500, 2_600_003)]),
        ("chrA", "+", [(300_000, 300_800), (305_000, 305_900)]),
        ("chrB", "-", [(1, 700), (64_000, 70_000)]),
        ("chrA", "-", [(380_000, 380_100), (300_500, 301_200)]),
    ]

    def job(i: int) -> str:
        seq_id, strand, exons = jobs[i]
        return seq_retrieval(tmp_path / f"job{i}", cache.root, httpd.url(BIG), seq_id, strand, exons, "range")

    with ThreadPoolExecutor(len(jobs)) as pool:
        outputs = list(pool.map(job, range(len(jobs))))
    for i, (seq_id, strand, exons) in enumerate(jobs):
        wanted = [(seq_id, s, e) for s, e in sorted(exons)]
        plus = "".join(samtools(big, wanted))
        assert outputs[i].split("\n", 1)[1].replace("\n", "") == (
            reverse_complement(plus) if strand == "-" else plus
        ), jobs[i]
    root = cache.root / "ranges"
    assert [p.name for p in root.iterdir()] == [ranged.parse_location(httpd.url(BIG)).entry_name]
    leftovers = [p for p in root.rglob("*") if p.name.startswith(".")]
    assert leftovers == [], "no temporary or staging file is left"
    for block in root.rglob("blocks/*/*"):
        ranged.check_bgzf(block.read_bytes())
    assert len(httpd.gets(f"{BIG}.gzi")) == 1, "one process prepared the entry, the others waited"
    assert httpd.gets(BIG, ranged=False) == []


# --- S3 and the CLI -----------------------------------------------------------------------------------


def test_s3_sources_are_read_by_ranged_get_object(cache, big, monkeypatch, tmp_path):
    moto_server = pytest.importorskip("moto.server")
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }.items():
        monkeypatch.setenv(key, value)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
        import boto3

        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="genomes")
        for suffix in ("", ".fai", ".gzi"):
            s3.upload_file(f"{big}{suffix}", "genomes", f"fasta/{BIG}{suffix}")
        wanted = regions(big, 12, seed=5, max_len=4000)[:12]
        with ranged.open_genome(cache, f"s3://genomes/fasta/{BIG}") as genome:
            assert genome.resolved.source == "range"
            assert read_all(genome, wanted) == samtools(big, wanted)
            stats = genome.stats
        assert 0 < stats["bytes_fetched"] <= sum(e - s for s, e in needed(big, wanted, line_ends=True))
        assert stats["bytes_fetched"] < big.stat().st_size / 4
        with ranged.open_genome(cache, f"s3://genomes/fasta/{BIG}") as genome:
            assert read_all(genome, wanted) == samtools(big, wanted)
            assert genome.stats["requests"] == 0
    finally:
        server.stop()


def test_cli_fetch_with_range_access_writes_a_range_receipt(httpd, cache_root, tmp_path, big):
    url = httpd.url(BIG)
    receipt = tmp_path / "receipt.json"
    done = cli(
        "--cache-dir",
        cache_root,
        "--quiet",
        "fetch",
        url,
        "--access",
        "range",
        "--receipt",
        receipt,
        "--session",
        "s1",
    )
    assert done.returncode == 0, done.stderr
    first = json.loads(receipt.read_text())
    assert first["source"] == "range" and first["url"] == url and first["size"] == big.stat().st_size
    assert 0 < first["bytes_downloaded"] < 10_000
    entry = cache_root / "ranges" / first["entry"]
    assert json.loads((entry / "entry.json").read_text())["url"] == url
    assert done.stdout.strip() == str(entry / BIG)
    assert httpd.gets(BIG, ranged=False) == [] and len(httpd.gets(BIG, ranged=True)) == 1

    done = cli("--cache-dir", cache_root, "fetch", url, "--access", "range", "--receipt", receipt)
    assert done.returncode == 0, done.stderr
    assert json.loads(receipt.read_text())["bytes_downloaded"] == 0
    assert len(httpd.gets(BIG, ranged=True)) == 1

    httpd.faults[f"/{GENOME}"] += ["norange"] * 3
    done = cli(
        "--cache-dir", cache_root, "fetch", httpd.url(GENOME), "--access", "range", "--receipt", receipt
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(receipt.read_text())["source"] == "network"


def test_range_entries_are_listed_and_pruned_least_recently_used_first(cache, httpd, big):
    www = Path(httpd.root)
    shutil.copy(www / GENOME, www / "other.fa.gz")
    for suffix in (".fai", ".gzi"):
        shutil.copy(www / f"{GENOME}{suffix}", www / f"other.fa.gz{suffix}")
    old = ranged.prepare(cache, httpd.url(GENOME))
    new = ranged.prepare(cache, httpd.url("other.fa.gz"))
    os.utime(cache.locks / f"{old.entry}.ranges.lock", (1, 1))  # used long ago
    listed = {e["entry"]: e for e in cache.entries()}
    assert listed[old.entry]["kind"] == listed[new.entry]["kind"] == "range"
    keep = listed[new.entry]["disk_bytes"]
    assert cache.prune(max_size=keep) == [old.entry]
    assert [e["entry"] for e in cache.entries()] == [new.entry]
    assert not (cache.ranges / old.entry).exists()


# --- a large .gzi is read page by page ----------------------------------------------------------------


def test_a_large_gzi_is_read_by_page_and_pages_are_checked(cache, httpd, big, monkeypatch):
    """Pages of 8 records (instead of 256) and no whole-file threshold make the suite's genome's
    .gzi 'large': only the pages the lookups need cross the network, by exact ranges."""
    from genomecache import blockstore

    monkeypatch.setattr(blockstore, "PAGE", 8)
    monkeypatch.setattr(ranged, "PAGE", 8)
    monkeypatch.setattr(ranged, "WHOLE_GZI", 0)
    gzi_size = Path(f"{big}.gzi").stat().st_size
    wanted = [("chrA", 5, 900), ("chrB", 1_000_000, 1_003_000), ("chrC", 2_600_003 - 500, 2_600_003)]

    with ranged.open_genome(cache, httpd.url(BIG)) as genome:
        assert genome.resolved.source == "range"
        assert read_all(genome, wanted) == samtools(big, wanted)
    gzi_gets = httpd.gets(f"{BIG}.gzi")
    assert gzi_gets and all(CLOSED_RANGE.fullmatch(e["range"] or "") for e in gzi_gets)
    assert sum(e["bytes"] for e in gzi_gets) < gzi_size / 2
    entry = cache.ranges / ranged.parse_location(httpd.url(BIG)).entry_name
    assert not (entry / f"{BIG}.gzi").exists()
    pages = sorted((entry / "gzi").iterdir())
    assert pages

    # a new process (no pages in memory) reads the cached pages; a damaged one is fetched again
    ranged._PARSED.clear()
    pages[0].write_bytes(b"\0" * pages[0].stat().st_size)
    before = len(httpd.gets(f"{BIG}.gzi"))
    with ranged.open_genome(cache, httpd.url(BIG)) as genome:
        assert read_all(genome, wanted) == samtools(big, wanted)
    assert len(httpd.gets(f"{BIG}.gzi")) == before + 1, "only the damaged page is fetched again"
    ranged._PARSED.clear()
    with ranged.open_genome(cache, httpd.url(BIG)) as genome:
        assert read_all(genome, wanted) == samtools(big, wanted)
    assert len(httpd.gets(f"{BIG}.gzi")) == before + 1


@pytest.mark.parametrize("gzi", ["whole", "paged"])
def test_range_mode_and_full_mode_agree_on_random_regions(cache, httpd, big, monkeypatch, gzi):
    """Property (Hypothesis): for any region, range mode returns the bases full mode returns."""
    pytest.importorskip("hypothesis")
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from genomecache import blockstore

    if gzi == "paged":
        monkeypatch.setattr(blockstore, "PAGE", 8)
        monkeypatch.setattr(ranged, "PAGE", 8)
        monkeypatch.setattr(ranged, "WHOLE_GZI", 0)
    fai = fai_records(big)
    with ranged.open_genome(cache, httpd.url(BIG)) as by_range, Genome.open(big) as full:
        assert by_range.resolved.source == "range"

        @settings(max_examples=150, deadline=None, derandomize=True, database=None)
        @given(st.sampled_from(sorted(fai)), st.data())
        def agree(name: str, data: st.DataObject) -> None:
            rlen = fai[name][0]
            start = data.draw(st.integers(1, rlen), label="start")
            span = data.draw(st.sampled_from([0, 1, 59, 60, 61, 1000, 65_280, 200_000]), label="span")
            region = Region(start, min(rlen, start + span))
            assert by_range.region(name, region) == full.region(name, region)

        agree()
    assert httpd.gets(BIG, ranged=False) == []


# --- start-up: what a range-mode process loads and how many round trips its lookups take ------------

IMPORTS_OF = """
import json, runpy, sys
sys.argv = [sys.argv[1], *json.loads(sys.argv[2])]
code = None
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def test_a_range_mode_retrieval_of_an_http_url_loads_no_s3_client_and_no_full_mode_reader(
    cache_root, httpd, big, tmp_path
):
    """Start-up cost: boto3/botocore (S3 only), pyfaidx (full mode only) and Biopython (only
    to reverse-complement or translate) are imported where used; a plus-strand transcript
    read by range from an http URL loads none of them, and still gets samtools' bases."""
    exons = [(1_000_000, 1_000_400), (1_020_000, 1_020_650)]
    args = ["--output_type", "transcript", "--unique_entry_id", "t1", "--base_seq_name", "t1"]
    args += ["--seq_id", "chrB", "--seq_strand", "+", "--fasta_file_url", httpd.url(BIG), "--access", "range"]
    args += ["--exon_seq_regions", json.dumps([{"start": s, "end": e} for s, e in exons])]
    args += ["--cache_dir", str(cache_root)]
    result = subprocess.run(
        [sys.executable, "-c", IMPORTS_OF, str(SEQ_RETRIEVAL), json.dumps(args)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **FAST_ENV},
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["code"] in (0, None), result.stderr
    written = (tmp_path / "t1-transcript.fa").read_text().split("\n", 1)[1].replace("\n", "")
    assert written == "".join(samtools(big, [("chrB", s, e) for s, e in exons]))
    assert httpd.gets(BIG, ranged=False) == [], "range mode downloaded the whole genome"
    heavy = ("boto3", "botocore", "s3transfer", "pyfaidx", "Bio")
    loaded = sorted(m for m in report["modules"] if m.split(".")[0] in heavy)
    assert loaded == [], f"range mode of an http URL imported {loaded}"


@pytest.fixture
def page_rounds(monkeypatch) -> list[list[int]]:  # type: ignore[no-untyped-def]
    """A paged .gzi (8 records a page, never read whole); each round of page requests is logged."""
    from genomecache import blockstore

    monkeypatch.setattr(blockstore, "PAGE", 8)
    monkeypatch.setattr(ranged, "PAGE", 8)
    monkeypatch.setattr(ranged, "WHOLE_GZI", 0)
    rounds: list[list[int]] = []
    read_pages = ranged._read_pages

    def counted(source, etag, count, pages):  # type: ignore[no-untyped-def]
        rounds.append(sorted(pages))
        return read_pages(source, etag, count, pages)

    monkeypatch.setattr(ranged, "_read_pages", counted)
    return rounds


def test_a_batch_of_lookups_reads_its_gzi_pages_in_one_round_trip(cache, httpd, big, page_rounds):
    """A large (paged) .gzi: the pages that a batch of regions needs are fetched together, in
    parallel, not one round trip per page missed by the first guess."""
    wanted = regions(big, 40, seed=7, max_len=5000)
    with ranged.open_genome(cache, httpd.url(BIG)) as genome:
        prepared = len(page_rounds)  # the last page, fetched while preparing the entry
        genome.prefetch_many((name, Region(s, e)) for name, s, e in wanted)
        lookups = page_rounds[prepared:]
        assert read_all(genome, wanted) == samtools(big, wanted)
    assert 1 <= len(lookups) <= 2, f"page page_rounds: {lookups}"
    assert len(page_rounds) == prepared + len(lookups), "reading the regions fetched more pages"
    assert sum(len(r) for r in lookups) > 10


def test_a_hint_brings_the_lookup_pages_with_the_preparing_requests(cache, httpd, big, page_rounds):
    """Regions named when opening (as seq_retrieval.py and batches do): their .gzi pages come
    in the round trip that checks the end-of-file block, so the lookups need no page request."""
    wanted = regions(big, 20, seed=11, max_len=5000)
    hint = [(name, Region(s, e)) for name, s, e in wanted]
    with ranged.open_genome(cache, httpd.url(BIG), hint) as genome:
        assert len(page_rounds) == 1 and len(page_rounds[0]) > 5, page_rounds
        genome.prefetch_many(hint)
        assert read_all(genome, wanted) == samtools(big, wanted)
    assert len(page_rounds) == 1, f"lookups fetched pages after the preparing round trip: {page_rounds[1:]}"
    assert_closed_block_ranges(httpd, big)
