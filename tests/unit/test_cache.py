"""The cache: fetch once, index like samtools, convert to BGZF, refuse non-FASTA, verify, prune, mirror."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from genomecache.cache import GenomeCache
from genomecache.errors import GenomeCacheError, IntegrityError, NotFastaError
from genomecache.retrieval import open_genome
from tests.conftest import (
    BGZF_EOF,
    GENOME,
    REGIONS,
    cli,
    plain_fasta,
    published,
    read_region,
    run,
    samtools_indexes,
    samtools_region,
    settle,
    small_tmpfs,
)
from tests.support.digests import sha256
from tests.support.retrieval_args import single_args
from tests.support.scripts import run_script


def partial_dirs(root: Path) -> list[Path]:
    genomes = root / "genomes"
    return sorted(genomes.glob(".partial-*")) if genomes.exists() else []


# --- 1. a BGZF source with its indexes -------------------------------------------------------


def test_bgzf_source_with_indexes_is_downloaded_once_and_then_served_from_cache(
    cache, server, genome_dir, tmp_path
):
    url = server.url(GENOME)
    got = cache.ensure(url)

    fasta = Path(got.fasta)
    assert got.source == "network"
    assert fasta.parent.parent == cache.root / "genomes"
    assert fasta.read_bytes() == (genome_dir / GENOME).read_bytes()
    assert got.size == got.bytes_downloaded == (genome_dir / GENOME).stat().st_size
    assert len(settle(server).gets(GENOME)) == 1, settle(server).log
    assert settle(server).gets(GENOME, ranged=True) == []
    # the source's indexes were used and are what samtools builds for the same file
    assert len(settle(server).gets(f"{GENOME}.fai")) == len(settle(server).gets(f"{GENOME}.gzi")) == 1
    fai, gzi = samtools_indexes(fasta, tmp_path / "oracle")
    assert Path(f"{fasta}.fai").read_bytes() == fai
    assert Path(f"{fasta}.gzi").read_bytes() == gzi
    record = json.loads((fasta.parent / "entry.json").read_text())
    assert record["indexes"] == "downloaded"
    assert record["sha256"] == sha256(fasta)
    assert record["url"] == url

    requests_before = len(settle(server).log)
    again = cache.ensure(url)
    assert again.source == "cache"
    assert again.fasta == got.fasta
    assert settle(server).log[requests_before:] == []
    # a fresh GenomeCache object on the same root (another task) also hits
    assert GenomeCache(cache.root, policy=cache.policy, progress=False).ensure(url).source == "cache"
    assert settle(server).log[requests_before:] == []


# --- 2. missing indexes are built; gzip and plain FASTA become BGZF ---------------------------


def test_source_without_indexes_gets_samtools_identical_indexes(cache, server, genome_dir, tmp_path):
    got = cache.ensure(server.url("noindex.fa.gz"))

    fasta = Path(got.fasta)
    assert [e["status"] for e in settle(server).gets("noindex.fa.gz.fai")] == [404]
    fai, gzi = samtools_indexes(fasta, tmp_path / "oracle")
    assert Path(f"{fasta}.fai").read_bytes() == fai
    assert Path(f"{fasta}.gzi").read_bytes() == gzi
    assert json.loads((fasta.parent / "entry.json").read_text())["indexes"] == "built"


@pytest.mark.parametrize(("name", "fmt"), [("plain.fa.gz", "gzip"), ("ce.fa", "plain")])
def test_gzip_and_plain_fasta_are_recompressed_to_bgzf(cache, server, genome_dir, tmp_path, name, fmt):
    got = cache.ensure(server.url(name))

    fasta = Path(got.fasta)
    assert fasta.name.endswith(".gz")
    assert fasta.read_bytes()[-28:] == BGZF_EOF
    run("bgzip", "-t", fasta)
    record = json.loads((fasta.parent / "entry.json").read_text())
    assert record["source_format"] == fmt
    assert record["source_size"] == (genome_dir / name).stat().st_size
    # the decompressed content is the original FASTA, byte for byte
    assert run("bgzip", "-dc", fasta).stdout == (genome_dir / "ce.fa").read_bytes()
    for region in REGIONS:
        assert samtools_region(fasta, region) == samtools_region(genome_dir / GENOME, region), region
    fai, gzi = samtools_indexes(fasta, tmp_path / "oracle")
    assert Path(f"{fasta}.fai").read_bytes() == fai
    assert Path(f"{fasta}.gzi").read_bytes() == gzi


@pytest.mark.parametrize("name", ["genome.fasta", "entry.json", "download"])
def test_bgzf_source_named_without_gz_is_cached_readable(cache, server, genome_dir, name):
    """pyfaidx only treats ``*.gz``/``*.bgz`` as BGZF, and the staging area has its own files."""
    shutil.copyfile(genome_dir / GENOME, genome_dir / name)

    got = cache.ensure(server.url(name))

    fasta = Path(got.fasta)
    assert fasta.read_bytes() == (genome_dir / GENOME).read_bytes()
    with contextlib.closing(open_genome(fasta)) as faidx:
        assert str(faidx.fetch("CHROMOSOME_I", 1, 50)) == samtools_region(
            genome_dir / GENOME, "CHROMOSOME_I:1-50"
        ).decode().split("\n", 1)[1].replace("\n", "")
    assert cache.ensure(server.url(name)).source == "cache"


# --- 4. not FASTA -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["picture.png", "notes.fa", "notes.fa.gz"])
def test_not_fasta_is_refused_and_nothing_is_published(cache, server, name):
    with pytest.raises(NotFastaError):
        cache.ensure(server.url(name))

    assert published(cache.root) == []
    assert partial_dirs(cache.root) == []
    assert cache.entries() == []
    # nothing left behind is served on the next attempt: it fetches (and refuses) again
    with pytest.raises(NotFastaError):
        cache.ensure(server.url(name))
    assert len(settle(server).gets(name)) == 2


# --- 7. a full disk ---------------------------------------------------------------------------


@pytest.fixture
def tiny_fs(tmp_path: Path):  # type: ignore[no-untyped-def]
    with small_tmpfs(tmp_path / "tiny", "200k") as mount:
        yield mount


def test_full_disk_fails_with_one_line_error_and_publishes_nothing(tiny_fs, server, genome_dir):
    assert (genome_dir / GENOME).stat().st_size > 200 * 1024
    root = tiny_fs / "cache"

    result = cli("--cache-dir", root, "-q", "fetch", server.url(GENOME))

    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1, result.stderr
    # known before the body is fetched: the URL and both sizes, and nothing left behind
    assert errors[0].startswith(f"ERROR {server.url(GENOME)}: not enough free space")
    assert "needs " in errors[0] and "KiB free" in errors[0]
    assert "Traceback" not in result.stderr
    assert settle(server).gets(GENOME) == []
    assert not list((root / "genomes").glob(".partial-*"))
    assert result.stdout == ""
    assert published(root) == []


# --- 8. verify, truncation, prune -------------------------------------------------------------


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    os.chmod(path, 0o644)
    path.write_bytes(bytes(data))


def test_verify_finds_a_flipped_byte_removes_the_entry_and_the_next_fetch_repairs_it(
    cache, server, cache_root
):
    got = cache.ensure(server.url(GENOME))
    fasta = Path(got.fasta)

    ok = cli("--cache-dir", cache_root, "verify")
    assert ok.returncode == 0, ok.stderr
    assert f"OK  {got.entry}" in ok.stdout

    flip_byte(fasta, fasta.stat().st_size // 2)
    problem = f"cache entry {got.entry}: {GENOME} changed since publish (checksum mismatch)"
    kept = cli("--cache-dir", cache_root, "verify", "--keep")  # README: --keep only reports
    assert (kept.returncode, kept.stdout, kept.stderr) == (1, "", f"BAD {problem}\n")
    assert published(cache_root) == [got.entry]
    bad = cli("--cache-dir", cache_root, "verify")
    assert (bad.returncode, bad.stdout) == (1, "")
    assert bad.stderr == f"BAD {problem}; removed, it will be fetched again on next use\n"
    assert not fasta.parent.exists()
    assert published(cache_root) == []

    again = cache.ensure(server.url(GENOME))
    assert again.source == "network"
    assert Path(again.fasta).read_bytes() == (server.root / GENOME).read_bytes()


def test_truncated_entry_is_not_served_and_is_fetched_again(cache, server):
    got = cache.ensure(server.url(GENOME))
    fasta = Path(got.fasta)
    os.chmod(fasta, 0o644)
    os.truncate(fasta, fasta.stat().st_size - 100)

    problem = f"cache entry {got.entry}: {GENOME} is truncated or changed since publish"
    with pytest.raises(IntegrityError) as error:
        cache.read_entry(got.entry)
    assert str(error.value) == problem
    status = cli("--cache-dir", cache.root, "status")  # README: exit 1 if any problem
    assert status.returncode == 1 and f"problem: {problem}\n" in status.stdout, status.stdout

    again = cache.ensure(server.url(GENOME))
    assert again.source == "network"
    assert Path(again.fasta).read_bytes() == (server.root / GENOME).read_bytes()
    assert len(settle(server).gets(GENOME)) == 2
    assert cli("--cache-dir", cache.root, "status").returncode == 0


@pytest.mark.parametrize(
    "record", ['{"fasta": "ce.fa.gz"}', "[1, 2]", "{not json", '{"fasta": "{outside}", "size": {size}}']
)
def test_damaged_entry_record_is_an_integrity_problem_not_a_crash(cache, server, genome_dir, record):
    """A damaged or tampered entry.json is never a crash, and never points the cache outside itself."""
    got = cache.ensure(server.url(GENOME))
    outside = genome_dir / GENOME  # a complete, indexed genome outside the cache
    record = record.replace("{outside}", str(outside)).replace("{size}", str(outside.stat().st_size))
    os.chmod(Path(got.fasta).parent, 0o755)  # published entries are read-only (root ignores that)
    os.chmod(Path(got.fasta).parent / "entry.json", 0o644)
    (Path(got.fasta).parent / "entry.json").write_text(record)

    with pytest.raises(
        IntegrityError, match=rf"^cache entry {got.entry}: (malformed|unreadable) entry\.json"
    ):
        cache.read_entry(got.entry)
    assert "\n" not in str(cache.status()["problems"][0])
    again = cache.ensure(server.url(GENOME))
    assert again.source == "network"
    assert Path(again.fasta).parent.parent == cache.root / "genomes"
    assert json.loads((Path(again.fasta).parent / "entry.json").read_text())["size"] == got.size


def set_last_use(cache: GenomeCache, entry: str, when: float) -> None:
    os.utime(cache.locks / f"{entry}.lock", (when, when))


def test_prune_removes_least_recently_used_first(cache, server):
    names = ["ce.fa.gz", "noindex.fa.gz", "plain.fa.gz"]
    entries = {name: cache.ensure(server.url(name)).entry for name in names}
    for age, name in enumerate(["ce.fa.gz", "plain.fa.gz", "noindex.fa.gz"]):  # noindex is the oldest
        set_last_use(cache, entries[name], 1_000_000 + 1000 * (3 - age))
    sizes = {r["entry"]: r["disk_bytes"] for r in cache.entries()}
    keep_one = sizes[entries["ce.fa.gz"]] + 10

    assert cache.prune(keep_one, dry_run=True) == [entries["noindex.fa.gz"], entries["plain.fa.gz"]]
    assert len(published(cache.root)) == 3

    assert cache.prune(keep_one) == [entries["noindex.fa.gz"], entries["plain.fa.gz"]]
    assert published(cache.root) == [entries["ce.fa.gz"]]
    assert cache.ensure(server.url("ce.fa.gz")).source == "cache"


def test_prune_skips_an_entry_being_read_in_this_process(cache, server):
    reading = cache.ensure(server.url("noindex.fa.gz"))
    other = cache.ensure(server.url(GENOME))
    set_last_use(cache, reading.entry, 1_000_000)
    set_last_use(cache, other.entry, 2_000_000)
    started, done = threading.Event(), threading.Event()

    def reader() -> None:
        with cache.reading(reading.fasta):
            started.set()
            done.wait(30)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        assert started.wait(10)
        removed = cache.prune(0)
    finally:
        done.set()
        thread.join()
    assert removed == [other.entry]
    assert published(cache.root) == [reading.entry]
    with cache.reading(reading.fasta) as path:
        assert path.read_bytes() == (server.root / "noindex.fa.gz").read_bytes()


def test_reading_a_pruned_entry_says_so(cache, server):
    got = cache.ensure(server.url(GENOME))
    assert cache.prune(0) == [got.entry]
    with pytest.raises(GenomeCacheError, match="not published"), cache.reading(got.fasta):
        pass


# --- 9. mirror --------------------------------------------------------------------------------


def test_mirror_with_indexes_is_used_without_any_request(cache_root, policy, server, genome_dir, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for suffix in ("", ".fai", ".gzi"):
        shutil.copyfile(genome_dir / f"{GENOME}{suffix}", mirror / f"{GENOME}{suffix}")
    cache = GenomeCache(cache_root, mirror=mirror, policy=policy, progress=False)

    got = cache.ensure(server.url(GENOME))

    assert got.source == "mirror"
    assert Path(got.fasta) == mirror / GENOME
    assert settle(server).log == []
    assert published(cache_root) == []


@pytest.mark.parametrize("layout", ["no-index", "no-gzi", "plain-gzip"])
def test_unusable_mirror_file_is_ignored(cache_root, policy, server, genome_dir, tmp_path, layout):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    if layout == "plain-gzip":  # pyfaidx cannot read a plain-gzip FASTA, index or not
        shutil.copyfile(genome_dir / "plain.fa.gz", mirror / GENOME)
        Path(f"{mirror / GENOME}.fai").write_bytes((genome_dir / f"{GENOME}.fai").read_bytes())
    else:
        shutil.copyfile(genome_dir / GENOME, mirror / GENOME)
        if layout == "no-gzi":
            shutil.copyfile(genome_dir / f"{GENOME}.fai", mirror / f"{GENOME}.fai")
    cache = GenomeCache(cache_root, mirror=mirror, policy=policy, progress=False)

    got = cache.ensure(server.url(GENOME))

    assert got.source == "network"
    assert Path(got.fasta).parent.parent == cache_root / "genomes"
    assert len(settle(server).gets(GENOME)) == 1
    assert sorted(p.name for p in mirror.iterdir()) == sorted(
        {GENOME, f"{GENOME}.fai"} if layout != "no-index" else {GENOME}
    )


def test_status_and_list_describe_the_cache(cache, server, cache_root):
    got = cache.ensure(server.url(GENOME))
    status = cache.status()
    assert status["entries"] == 1 and status["problems"] == [] and status["partial_downloads"] == []
    assert status["bytes"] == sum(
        (Path(got.fasta).parent / n).stat().st_size for n in os.listdir(Path(got.fasta).parent)
    )
    listing = cli("--cache-dir", cache_root, "list", "--json")
    assert listing.returncode == 0, listing.stderr
    [entry] = json.loads(listing.stdout)
    assert entry["entry"] == got.entry and entry["url"] == server.url(GENOME)


# --- verified on download: checksums and the EOF marker ---------------------------------------


def error_lines(result: subprocess.CompletedProcess) -> list[str]:
    """The ERROR lines of a CLI run (progress goes to stderr as INFO lines), never a traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    return [line for line in result.stderr.splitlines() if line.startswith("ERROR")]


def altered_genome(folder: Path, name: str) -> Path:
    """A valid, indexed BGZF copy of the test genome whose first line of bases is lower case:
    every block CRC and the EOF marker are sound, only its content differs (samtools tells)."""
    lines = plain_fasta().split(b"\n")
    lines[1] = lines[1].lower()
    plain = folder / name.removesuffix(".gz")
    plain.write_bytes(b"\n".join(lines))
    run("bgzip", "-f", plain)
    run("samtools", "faidx", folder / name)
    return folder / name


@pytest.mark.parametrize("algorithm", ["sha256", "md5"])
def test_a_wrong_manifest_checksum_is_one_line_and_nothing_is_published(
    server, genome_dir, cache_root, tmp_path, algorithm
):
    """The body is sound but is not the file the manifest names: refused, removed, not resumed."""
    other = altered_genome(tmp_path, "other.fa.gz")
    wrong = hashlib.new(algorithm, other.read_bytes()).hexdigest()
    right = hashlib.new(algorithm, (genome_dir / GENOME).read_bytes()).hexdigest()

    result = cli(
        "--cache-dir", cache_root, "-q", "fetch", server.url(GENOME), "--sha256", f"{algorithm}:{wrong}"
    )

    assert result.returncode == 1
    assert error_lines(result) == [
        f"ERROR {server.url(GENOME)}: {algorithm} mismatch: expected {wrong}, got {right}; "
        "the download was removed"
    ]
    assert result.stdout == ""
    assert published(cache_root) == [] and partial_dirs(cache_root) == []
    assert len(settle(server).gets(GENOME)) == 1
    ok = cli("--cache-dir", cache_root, "-q", "fetch", server.url(GENOME), "--sha256", f"{algorithm}:{right}")
    assert ok.returncode == 0, ok.stderr
    assert [e["range"] for e in settle(server).gets(GENOME)] == [None, None]  # fetched whole again


def test_a_body_that_does_not_match_its_s3_style_etag_md5_is_refused(cache, server, genome_dir, tmp_path):
    """A single-part S3 ETag is the object's MD5; a body that differs (here a valid BGZF genome
    whose CRCs, EOF marker and size all pass) is refused by that MD5 alone."""
    pristine_md5 = hashlib.md5((genome_dir / GENOME).read_bytes()).hexdigest()
    altered = altered_genome(tmp_path, GENOME)
    for suffix in ("", ".fai", ".gzi"):
        shutil.copyfile(f"{altered}{suffix}", genome_dir / f"{GENOME}{suffix}")

    class S3ETag(server.httpd.RequestHandlerClass):  # type: ignore[misc,name-defined]
        def send_header(self, keyword: str, value: str) -> None:
            super().send_header(keyword, f'"{pristine_md5}"' if keyword == "ETag" else value)

    server.httpd.RequestHandlerClass = S3ETag

    with pytest.raises(IntegrityError) as error:
        cache.ensure(server.url(GENOME))

    assert (
        str(error.value) == f"{server.url(GENOME)}: MD5 does not match the S3 ETag; the download was removed"
    )
    assert published(cache.root) == [] and partial_dirs(cache.root) == []
    assert cache.entries() == []


def test_a_download_without_the_bgzf_eof_marker_is_refused(cache, server, genome_dir, cache_root):
    data = (genome_dir / GENOME).read_bytes()
    assert data.endswith(BGZF_EOF)
    (genome_dir / "noeof.fa.gz").write_bytes(data[: -len(BGZF_EOF)])  # every data block intact
    for suffix in (".fai", ".gzi"):
        shutil.copyfile(genome_dir / f"{GENOME}{suffix}", genome_dir / f"noeof.fa.gz{suffix}")
    url = server.url("noeof.fa.gz")

    with pytest.raises(IntegrityError) as error:
        cache.ensure(url)
    assert (
        str(error.value) == f"{url}: BGZF end-of-file marker missing (truncated?); the download was removed"
    )
    assert published(cache_root) == [] and partial_dirs(cache_root) == []

    result = cli("--cache-dir", cache_root, "-q", "fetch", url)
    assert result.returncode == 1 and result.stdout == ""
    assert error_lines(result) == [f"ERROR {error.value}"]
    assert published(cache_root) == [] and partial_dirs(cache_root) == []
    assert len(settle(server).gets("noeof.fa.gz")) == 2  # nothing kept to resume from


# --- the mirror comes first, even before a filled cache -----------------------------------------


def test_the_mirror_is_preferred_over_an_already_filled_cache(
    cache, server, genome_dir, cache_root, tmp_path
):
    url = server.url(GENOME)
    cached = cache.ensure(url)
    assert cached.source == "network"
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    altered_genome(mirror, GENOME)  # told apart from the cached copy by its bases
    requests_before = len(settle(server).log)
    region = "CHROMOSOME_I:1-120"
    from_mirror = b"".join(samtools_region(mirror / GENOME, region).splitlines()[1:])
    assert from_mirror != b"".join(samtools_region(genome_dir / GENOME, region).splitlines()[1:])

    with_mirror = GenomeCache(cache_root, mirror=mirror, policy=cache.policy, progress=False)
    got = with_mirror.ensure(url)
    bases = read_region(with_mirror, url, region)
    result = cli("--cache-dir", cache_root, "--mirror", mirror, "-q", "fetch", url)

    assert got.source == "mirror" and Path(got.fasta) == mirror / GENOME
    assert bases == from_mirror
    assert result.returncode == 0 and result.stdout.strip() == str(mirror / GENOME), result.stderr
    assert settle(server).log[requests_before:] == []
    assert published(cache_root) == [cached.entry]  # the cached copy is left as it was


# --- full-mode reads from a read-only cache ------------------------------------------------------


@contextlib.contextmanager
def read_only_view(root: Path, where: Path) -> Iterator[Path]:
    """The cache at ``root`` as a retrieval job sees it: read-only. As root (whom modes do not
    stop) a read-only bind mount at ``where``; otherwise ``root`` itself with its folders 0555."""
    if os.geteuid() != 0:
        folders = [p for p in [root, *root.rglob("*")] if p.is_dir()]
        modes = {p: p.stat().st_mode for p in folders}
        for folder in folders:
            os.chmod(folder, 0o555)
        try:
            yield root
        finally:
            for folder, mode in modes.items():
                os.chmod(folder, mode)
        return
    where.mkdir()
    if subprocess.run(["mount", "--bind", str(root), str(where)], capture_output=True).returncode:
        pytest.skip("cannot bind-mount the cache read-only here")
    try:
        if subprocess.run(["mount", "-o", "remount,bind,ro", str(where)], capture_output=True).returncode:
            pytest.skip("cannot remount the bind mount read-only here")
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_full_mode_reads_from_a_read_only_cache_give_samtools_bases(
    cache, server, genome_dir, cache_root, tmp_path
):
    url = server.url(GENOME)
    got = cache.ensure(url)
    requests_before = len(settle(server).log)
    want = {r: b"".join(samtools_region(genome_dir / GENOME, r).splitlines()[1:]) for r in REGIONS}
    before = {
        str(p.relative_to(cache_root)): (p.lstat().st_mode, p.lstat().st_mtime_ns)
        for p in cache_root.rglob("*")
    }

    with read_only_view(cache_root, tmp_path / "ro") as view:
        reader = GenomeCache(view, policy=cache.policy, progress=False)
        assert not reader.writable()
        fasta = view / "genomes" / got.entry / GENOME
        by_url = {r: read_region(reader, url, r) for r in REGIONS}
        by_file = {r: read_region(reader, f"file://{fasta}", r) for r in REGIONS}
        # the shared lock holds on a read-only mount: prune (where it is writable) keeps the entry
        with reader.reading(fasta):
            assert cache.prune(0) == []
        out = tmp_path / "out"
        out.mkdir()
        request = {
            "unique_entry_id": "R1",
            "base_seq_name": "r1",
            "seq_id": "CHROMOSOME_I",
            "seq_strand": "+",
        }
        request["exon_seq_regions"] = [{"start": 500000, "end": 500300}]
        script = run_script(
            "seq_retrieval.py", *single_args(request, f"file://{fasta}", view, "transcript"), cwd=out
        )

    assert by_url == want and by_file == want
    assert script.returncode == 0, script.stderr
    assert (out / "R1-transcript.fa").read_bytes().splitlines()[1] == want["CHROMOSOME_I:500000-500300"]
    assert settle(server).log[requests_before:] == []
    after = {
        str(p.relative_to(cache_root)): (p.lstat().st_mode, p.lstat().st_mtime_ns)
        for p in cache_root.rglob("*")
    }
    assert after == before  # not even a lock's last-use time changed


# --- entry names: one per object, never shared by two ----------------------------------------


def test_same_basename_urls_never_collide_and_presigned_urls_of_one_object_share_an_entry(
    cache, server, genome_dir, cache_root
):
    (genome_dir / "other").mkdir()
    altered_genome(genome_dir / "other", GENOME)  # another genome under the same basename
    region = "CHROMOSOME_I:1-120"
    first, second = server.url(GENOME), server.url(f"other/{GENOME}")

    a, b = cache.ensure(first), cache.ensure(second)
    signed = [cache.ensure(f"{first}?X-Amz-Signature={sig}&X-Amz-Expires=60") for sig in ("aaa111", "bbb222")]

    assert a.entry != b.entry and sorted(published(cache_root)) == sorted([a.entry, b.entry])
    for got, served in ((a, genome_dir / GENOME), (b, genome_dir / "other" / GENOME)):
        assert read_region(cache, f"file://{got.fasta}", region) == b"".join(
            samtools_region(served, region).splitlines()[1:]
        )
    assert [(s.entry, s.source) for s in signed] == [(a.entry, "cache")] * 2
    assert len(settle(server).gets(GENOME)) == 1 and len(settle(server).gets(f"other/{GENOME}")) == 1
    assert not any("aaa111" in p.name or "bbb222" in p.name for p in cache_root.rglob("*"))
