"""Issue 8: no wrong base from a damaged entry, self-healing, sizes, remove, names, pre-download checks.

Every read goes the way the pipeline reads: ``resolve_for_reading`` on the ``file://`` path
DOWNLOAD_GENOMES hands over, ``cache.reading`` and ``Genome``; answers are compared with
``samtools faidx`` on the pristine file.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from genomecache.cache import GenomeCache, healing, resolve_for_reading
from genomecache.errors import GenomeCacheError, IntegrityError
from genomecache.requests import Region
from genomecache.retrieval import Genome
from tests.conftest import ASSETS, GENOME, REGIONS, cli, published, read_region, samtools_region, settle
from tests.support.scripts import run_script


def expected(genome_dir: Path, region: str) -> bytes:
    return b"".join(samtools_region(genome_dir / GENOME, region).splitlines()[1:])


def writable(path: Path) -> Path:
    os.chmod(path.parent, 0o755)
    if path.exists():
        os.chmod(path, 0o644)
    return path


def flip(path: Path, offset: int) -> None:
    data = bytearray(writable(path).read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def fai_offset_changed(fasta: Path) -> None:
    lines = writable(Path(f"{fasta}.fai")).read_text().splitlines()
    fields = lines[0].split("\t")
    fields[2] = str(int(fields[2]) + 4)
    Path(f"{fasta}.fai").write_text("\n".join(["\t".join(fields), *lines[1:]]) + "\n")


DAMAGES = {
    # the eight kinds (three gave wrong bases with exit 0) and more
    "fai two bytes short": lambda f: os.truncate(
        writable(Path(f"{f}.fai")), Path(f"{f}.fai").stat().st_size - 2
    ),
    "fai offset changed": fai_offset_changed,
    "gzi byte flipped": lambda f: flip(Path(f"{f}.gzi"), 20),
    "gzi deleted": lambda f: writable(Path(f"{f}.gzi")).unlink(),
    "fai empty": lambda f: writable(Path(f"{f}.fai")).write_bytes(b""),
    "fai deleted": lambda f: writable(Path(f"{f}.fai")).unlink(),
    "fasta truncated": lambda f: os.truncate(writable(f), f.stat().st_size - 100),
    "fasta appended": lambda f: writable(f).write_bytes(f.read_bytes() + b"\0" * 10),
    "fasta data byte flipped": lambda f: flip(f, f.stat().st_size // 3),
    "fasta deleted": lambda f: writable(f).unlink(),
    "entry.json byte flipped": lambda f: flip(f.parent / "entry.json", 30),
    "entry.json deleted": lambda f: writable(f.parent / "entry.json").unlink(),
    "entry dir deleted": lambda f: subprocess.run(["rm", "-rf", str(f.parent)], check=True),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_any_damage_gives_correct_bases_healed_in_the_same_call(cache, server, genome_dir, damage):
    got = cache.ensure(server.url(GENOME))
    fasta = Path(got.fasta)
    DAMAGES[damage](fasta)

    # the pipeline's hand-over: the cached file itself, as file://
    answers = [read_region(cache, f"file://{fasta}", region) for region in REGIONS]

    assert answers == [expected(genome_dir, region) for region in REGIONS]
    assert len(settle(server).gets(GENOME)) == 2  # fetched again once, in that same call
    assert cache.verify(got.entry) is None


def test_bit_rot_in_a_data_block_is_one_line_naming_the_entry_then_healed(cache, server, genome_dir):
    got = cache.ensure(server.url(GENOME))
    fasta = Path(got.fasta)
    before = fasta.stat()
    flip(fasta, 1000)  # inside the first data block; size, EOF marker and mtime unchanged
    os.utime(fasta, ns=(before.st_atime_ns, before.st_mtime_ns))
    receipt = cache.receipts / got.entry / "receipt.json"
    receipt.parent.mkdir(parents=True)
    receipt.write_text("{}")

    with pytest.raises(IntegrityError) as error:
        read_region(cache, f"file://{fasta}", "CHROMOSOME_I:1-120")
    message = str(error.value)
    assert got.entry in message and "damaged" in message and "\n" not in message
    assert f"cache entry {got.entry}: damaged (" in message
    assert "corrupt BGZF block at byte 0" in message  # the flipped byte's block, found by inflating it
    assert published(cache.root) == []  # moved aside: no reader is served it again
    assert not receipt.exists()  # and the next run's download step is not skipped

    assert read_region(cache, f"file://{fasta}", "CHROMOSOME_I:1-120") == expected(
        genome_dir, "CHROMOSOME_I:1-120"
    )
    assert len(settle(server).gets(GENOME)) == 2


def test_a_failure_that_is_not_damage_is_one_line_and_keeps_the_entry(cache, server):
    got = cache.ensure(server.url(GENOME))
    with pytest.raises(IntegrityError, match=f"cache entry {got.entry}: reading .* failed"):
        with cache.reading(got.fasta):
            raise ValueError("a bug in the caller, not damage")
    assert published(cache.root) == [got.entry]


def test_quarantined_entry_is_not_deleted_while_another_reader_holds_it(cache, server):
    got = cache.ensure(server.url(GENOME))
    fasta = Path(got.fasta)
    started, done = threading.Event(), threading.Event()
    seen: list[bytes] = []

    def reader() -> None:
        with cache.reading(fasta) as path, Genome.open(path) as genome:
            started.set()
            done.wait(30)
            seen.append(genome.region("CHROMOSOME_I", Region(1, 50)).encode())

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        assert started.wait(10)
        writable(Path(f"{fasta}.gzi")).write_bytes(b"\0" * 8)
        with pytest.raises(IntegrityError, match="moved aside"):
            with cache.reading(fasta):
                pass
        aside = [p for p in cache.genomes.iterdir() if p.name.startswith(".quarantine-")]
        assert len(aside) == 1
        assert cache.status()["quarantined"] == [aside[0].name]
        assert cache.sweep() == []  # the first reader still holds it
        assert aside[0].exists()
    finally:
        done.set()
        thread.join()
    assert seen and len(seen[0]) == 50
    assert cache.sweep() == [aside[0].name]
    assert not aside[0].exists()


def test_read_only_cache_names_the_command_that_repairs_it(cache, server, cache_root):
    got = cache.ensure(server.url(GENOME))
    writable(Path(f"{got.fasta}.fai")).write_bytes(b"")
    os.chmod(Path(got.fasta).parent, 0o555)
    os.chmod(cache_root / "genomes", 0o555)
    try:
        if os.access(cache_root / "genomes", os.W_OK):  # root ignores modes: make it read-only for real
            ro = cache_root.parent / "ro"
            ro.mkdir()
            result = subprocess.run(
                ["mount", "--bind", "-o", "ro", str(cache_root), str(ro)], capture_output=True
            )
            if result.returncode != 0:
                subprocess.run(["umount", str(ro)], capture_output=True)
                result = None
            if result is None or subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)]).returncode:
                pytest.skip("cannot make a read-only bind mount here")
            try:
                reader = GenomeCache(ro, policy=cache.policy, progress=False)
                with pytest.raises(IntegrityError) as error:
                    resolve_for_reading(f"file://{ro}/genomes/{got.entry}/{Path(got.fasta).name}", reader)
            finally:
                subprocess.run(["umount", "-l", str(ro)], capture_output=True)
        else:
            with pytest.raises(IntegrityError) as error:
                resolve_for_reading(f"file://{got.fasta}", cache)
    finally:
        os.chmod(cache_root / "genomes", 0o755)
    message = str(error.value)
    assert f"verify {got.entry}" in message and "not writable" in message and "\n" not in message
    assert len(settle(server).gets(GENOME)) == 1


def test_published_entries_are_read_only_and_still_removable(cache, server, cache_root):
    got = cache.ensure(server.url(GENOME))
    folder = Path(got.fasta).parent
    assert stat.S_IMODE(folder.stat().st_mode) == 0o555
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o444}
    assert cache.verify(got.entry) is None  # verify notes its time in place
    assert json.loads((folder / "entry.json").read_text())["verified_at"]
    assert cache.read_entry(got.entry)  # and the record still checks
    result = cli("--cache-dir", cache_root, "remove", server.url(GENOME))
    assert result.returncode == 0, result.stderr
    assert published(cache_root) == []
    assert list(cache.genomes.iterdir()) == []


def test_remove_refuses_an_entry_in_use(cache, server, cache_root):
    got = cache.ensure(server.url(GENOME))
    with cache.reading(got.fasta):
        result = cli("--cache-dir", cache_root, "remove", got.entry)
    assert result.returncode == 1
    assert result.stderr.strip() == f"ERROR cache entry {got.entry}: in use by another task; not removed"
    assert published(cache_root) == [got.entry]
    missing = cli("--cache-dir", cache_root, "remove", "nothing-0123456789ab")
    assert missing.returncode == 1 and "not in the cache" in missing.stderr


def test_local_bgzf_without_indexes_is_indexed_like_a_remote_one(cache, genome_dir, tmp_path):
    local = tmp_path / "x.fa.gz"
    local.write_bytes((genome_dir / GENOME).read_bytes())  # BGZF, no .fai/.gzi beside it
    result = cli("--cache-dir", cache.root, "-q", "fetch", local)
    assert result.returncode == 0, result.stderr
    fasta = Path(result.stdout.strip())
    assert fasta.parent.parent == cache.root / "genomes"
    assert read_region(cache, f"file://{fasta}", REGIONS[0]) == expected(genome_dir, REGIONS[0])
    assert not list(cache.genomes.glob(".partial-*"))


# --- prune -------------------------------------------------------------------------------

GIB = 1 << 30


def test_prune_prints_what_it_keeps_and_removes_and_refuses_tiny_sizes(cache, server, cache_root):
    keep = cache.ensure(server.url(GENOME))
    old = cache.ensure(server.url("noindex.fa.gz"))
    os.utime(cache.locks / f"{old.entry}.lock", (1_000_000, 1_000_000))

    tiny = cli("--cache-dir", cache_root, "prune", "--max-size", "20K")
    assert tiny.returncode == 1 and "below 1 MiB" in tiny.stderr and "--force" in tiny.stderr
    assert sorted(published(cache_root)) == sorted([keep.entry, old.entry])
    assert cli("--cache-dir", cache_root, "prune", "--max-size", "20M").stdout.count("keep ") == 2

    one = sum(p.stat().st_size for p in Path(keep.fasta).parent.iterdir())
    result = cli("--cache-dir", cache_root, "prune", "--max-size", str(one + 100), "--force")
    assert result.returncode == 0, result.stderr
    assert f"keep {keep.entry}" in result.stdout and f"removed {old.entry}" in result.stdout
    assert published(cache_root) == [keep.entry]


def test_prune_removes_abandoned_partials_but_not_one_being_written(cache, server, cache_root):
    server.faults["/noindex.fa.gz"] += ["short", "503", "503"]
    with pytest.raises(GenomeCacheError):
        cache.ensure(server.url("noindex.fa.gz"))
    [partial] = list(cache.genomes.glob(".partial-*"))
    entry = partial.name.removeprefix(".partial-")
    with cache._lock(entry, exclusive=True):  # a download in progress holds its lock
        assert cache.prune(10 * GIB) == []
        assert partial.exists()
    assert cache.prune(10 * GIB) == [partial.name]
    assert not partial.exists()


# --- names, checksums and requests before the download ------------------------------------------


def payload(**extra: object) -> dict:
    return {
        "unique_entry_id": "R1",
        "base_seq_name": "gene1",
        "seq_id": "CHROMOSOME_I",
        "seq_strand": "+",
        "fasta_file_url": "https://example.org/g.fa.gz",
        "exon_seq_regions": [{"start": 1, "end": 30}],
        **extra,
    }


def test_a_malformed_checksum_fails_before_any_request(cache_root, server):
    for bad in ("deadbeef", "sha256:xyz", "sha256:" + "0" * 63, "crc32:00000000"):
        result = cli("--cache-dir", cache_root, "fetch", server.url(GENOME), "--sha256", bad)
        assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
        assert "ERROR" in result.stderr and "Traceback" not in result.stderr
    assert settle(server).log == []


def requests_file(tmp_path: Path, url: str, **extra: object) -> Path:
    path = tmp_path / "requests.json"
    path.write_text(json.dumps([payload(fasta_file_url=url, **extra)]))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"seq_id": "chrZ"}, "request R1: field seq_id: 'chrZ' is not in genome ce.fa.gz"),
        (
            {"exon_seq_regions": [{"start": 1, "end": 15_072_500}]},
            "request R1: field exon_seq_regions: region 1..15072500 ends beyond CHROMOSOME_I",
        ),
    ],
)
def test_wrong_requests_fail_before_the_genome_is_downloaded(cache_root, server, tmp_path, change, message):
    url = server.url(GENOME)
    result = cli(
        "--cache-dir", cache_root, "fetch", url, "--requests", requests_file(tmp_path, url, **change)
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"ERROR {message}") and result.stderr.count("\n") == 1, result.stderr
    assert settle(server).gets(GENOME) == []  # only the small .fai was read
    assert len(settle(server).gets(f"{GENOME}.fai")) == 1
    assert published(cache_root) == []


def test_without_a_source_fai_requests_are_checked_after_the_download(cache_root, server, tmp_path):
    url = server.url("noindex.fa.gz")
    ok = cli("--cache-dir", cache_root, "fetch", url, "--requests", requests_file(tmp_path, url))
    assert ok.returncode == 0, ok.stderr
    bad = requests_file(tmp_path, url, seq_id="chrZ")
    result = cli("--cache-dir", cache_root, "fetch", url, "--requests", bad)
    assert result.returncode == 1 and "field seq_id: 'chrZ' is not in genome" in result.stderr


def test_a_cold_fetch_with_requests_gets_each_source_file_once(cache_root, server, tmp_path):
    """The ``.fai`` read to check the requests is the one the download keeps: no second GET."""
    url = server.url(GENOME)
    ok = cli("--cache-dir", cache_root, "fetch", url, "--requests", requests_file(tmp_path, url))
    assert ok.returncode == 0, ok.stderr
    log = settle(server)
    assert [len(log.gets(f"{GENOME}{suffix}")) for suffix in ("", ".fai", ".gzi")] == [1, 1, 1]
    fasta = Path(ok.stdout.strip())
    assert Path(f"{fasta}.fai").read_bytes() == (ASSETS / f"{GENOME}.fai").read_bytes()


# --- entries checked on every open ----------------------------------------------------------------


def test_entries_published_before_index_digests_are_checked_against_their_data(cache, server, genome_dir):
    got = cache.ensure(server.url(GENOME))
    fasta = Path(got.fasta)
    record = json.loads((fasta.parent / "entry.json").read_text())
    old = {k: v for k, v in record.items() if k not in ("format", "index_files", "record_sha256", "mtime_ns")}
    writable(fasta.parent / "entry.json").write_text(json.dumps(old))
    assert read_region(cache, f"file://{fasta}", REGIONS[1]) == expected(genome_dir, REGIONS[1])
    assert len(settle(server).gets(GENOME)) == 1  # a sound old entry is still a hit

    os.truncate(writable(Path(f"{fasta}.fai")), Path(f"{fasta}.fai").stat().st_size - 2)
    assert [read_region(cache, f"file://{fasta}", r) for r in REGIONS] == [
        expected(genome_dir, r) for r in REGIONS
    ]
    assert len(settle(server).gets(GENOME)) == 2


def test_a_cached_file_named_through_another_spelling_of_the_root_is_still_checked(cache, server, tmp_path):
    got = cache.ensure(server.url(GENOME))
    link = tmp_path / "link-to-cache"
    link.symlink_to(cache.root)
    via_link = GenomeCache(link, policy=cache.policy, progress=False)
    writable(Path(f"{got.fasta}.gzi")).write_bytes(b"\0" * 8)  # damaged: must be noticed, not read
    path = resolve_for_reading(f"file://{got.fasta}", via_link)
    with via_link.reading(path) as local, Genome.open(local) as genome:
        assert genome.region("CHROMOSOME_I", Region(1, 10))
    assert len(settle(server).gets(GENOME)) == 2


def test_healing_reads_again_after_bit_rot_is_found_mid_read(cache, server, genome_dir):
    got = cache.ensure(server.url(GENOME))
    fasta = Path(got.fasta)
    before = fasta.stat()
    flip(fasta, 1000)
    os.utime(fasta, ns=(before.st_atime_ns, before.st_mtime_ns))

    bases = healing(lambda: read_region(cache, f"file://{fasta}", "CHROMOSOME_I:1-120"))

    assert bases == expected(genome_dir, "CHROMOSOME_I:1-120")
    assert len(settle(server).gets(GENOME)) == 2


@pytest.mark.parametrize("access", ["full", "range"])
@pytest.mark.parametrize("damage", ["fai two bytes short", "gzi byte flipped", "bit rot"])
def test_seq_retrieval_gives_correct_bases_or_one_line_never_a_traceback(
    cache, server, genome_dir, tmp_path, damage, access
):
    """The pipeline's retrieval script on a damaged entry handed over as file:// (issue 8 items 1, 4, 5)."""
    got = cache.ensure(server.url(GENOME))
    fasta = Path(got.fasta)
    if damage == "bit rot":
        before = fasta.stat()
        flip(fasta, 1000)
        os.utime(fasta, ns=(before.st_atime_ns, before.st_mtime_ns))
    else:
        DAMAGES[damage](fasta)
    out = tmp_path / "out.fa"
    result = run_script(
        "seq_retrieval.py",
        *["--output_type", "transcript", "--unique_entry_id", "R1", "--base_seq_name", "r1"],
        *[
            "--seq_id",
            "CHROMOSOME_I",
            "--seq_strand",
            "+",
            "--exon_seq_regions",
            '[{"start": 1, "end": 120}]',
        ],
        *["--fasta_file_url", f"file://{fasta}", "--cache_dir", cache.root, "--sequence_output_file", out],
        *["--access", access],
        cwd=tmp_path,
    )
    # found on open, or mid-read (bit rot): healed in that same call, so always the bases
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert out.read_text().splitlines() == [">r1", expected(genome_dir, "CHROMOSOME_I:1-120").decode()]
    assert len(settle(server).gets(GENOME)) == 2  # fetched again once


def test_new_messages_and_records_carry_no_secret(cache, server, cache_root, tmp_path, caplog):
    """Pre-download request checks, healing and the entry record name the URL without secrets."""
    caplog.set_level("DEBUG")
    secret = "pa55w0rd-and-t0ken"
    url = server.url(GENOME).replace("127.0.0.1", f"reader:{secret}@127.0.0.1") + f"?X-Amz-Signature={secret}"
    bad = cli(
        "--cache-dir", cache_root, "fetch", url, "--requests", requests_file(tmp_path, url, seq_id="chrZ")
    )
    assert bad.returncode == 1 and "chrZ" in bad.stderr
    ok = cli(
        "--cache-dir", cache_root, "fetch", url, "--session", "s1", "--receipt", tmp_path / "receipt.json"
    )
    assert ok.returncode == 0, ok.stderr
    fasta = Path(ok.stdout.strip())
    writable(Path(f"{fasta}.gzi")).write_bytes(b"")
    # healing fetches from the recorded URL, which has no credentials (this server needs none)
    reader = GenomeCache(cache_root, policy=cache.policy, progress=False)
    assert read_region(reader, f"file://{fasta}", REGIONS[0])
    texts = [bad.stdout, bad.stderr, ok.stdout, ok.stderr, caplog.text]
    texts += [
        p.read_text() for p in cache_root.rglob("*") if p.is_file() and p.suffix in (".json", ".source")
    ]
    texts.append((tmp_path / "receipt.json").read_text())
    assert not [t for t in texts if secret in t]


def test_batch_heals_bit_rot_found_mid_read_and_finishes_every_request(cache, server, genome_dir, tmp_path):
    """A batch (the pipeline's SEQUENCE_RETRIEVAL) reopens a genome found damaged mid-read, once."""
    got = cache.ensure(server.url(GENOME))
    fasta = Path(got.fasta)
    before = fasta.stat()
    flip(fasta, 1000)
    os.utime(fasta, ns=(before.st_atime_ns, before.st_mtime_ns))
    regions = [(1, 120), (200, 400), (5000, 5100)]
    batch = [
        {
            "unique_entry_id": f"B{i}",
            "base_seq_name": f"b{i}",
            "seq_id": "CHROMOSOME_I",
            "seq_strand": "+",
            "fasta_file_url": "ignored",
            "exon_seq_regions": [{"start": start, "end": end}],
        }
        for i, (start, end) in enumerate(regions)
    ]
    (tmp_path / "batch.json").write_text(json.dumps(batch))
    result = run_script(
        "seq_retrieval.py",
        *["--batch", "batch.json", "--output_type", "transcript"],
        *["--fasta_file_url", f"file://{fasta}", "--cache_dir", cache.root],
        cwd=tmp_path,
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    for i, (start, end) in enumerate(regions):
        lines = (tmp_path / f"B{i}-transcript.fa").read_text().splitlines()
        assert lines[1].encode() == expected(genome_dir, f"CHROMOSOME_I:{start}-{end}")
    assert len(settle(server).gets(GENOME)) == 2
