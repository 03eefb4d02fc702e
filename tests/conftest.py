"""Shared fixtures: the embedded test genome and its variants, a real loopback HTTP server, the CLI.

samtools and bgzip are the independent oracle: variants of the embedded genome are derived
with them (and gzip) at test time, and cached files are compared against what they produce.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # tests.support is imported as a package from the repository root
    sys.path.insert(0, str(REPO))

from genomecache.cache import GenomeCache, resolve_for_reading  # noqa: E402
from genomecache.requests import Region  # noqa: E402
from genomecache.retrieval import Genome  # noqa: E402
from genomecache.sources import RetryPolicy  # noqa: E402
from tests.support.httpserver import GenomeServer  # noqa: E402
from tests.support.samtools import decompressed, run, samtools_indexes, samtools_region  # noqa: E402, F401
from tests.support.scripts import run_script  # noqa: E402
from tests.support.variant_api import FakeVariantApi  # noqa: E402

ASSETS = REPO / "assets" / "genome"
CLI = REPO / "bin" / "genome_cache.py"
GENOME = "ce.fa.gz"
REGIONS = [
    "CHROMOSOME_I:1-120",
    "CHROMOSOME_I:500000-500300",
    "CHROMOSOME_I:1009700-1009800",
    "CHROMOSOME_III:4900-5000",
    "CHROMOSOME_MtDNA:1-5000",
]
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
FAST_ENV = {"GENOMECACHE_RETRIES": "3", "GENOMECACHE_BACKOFF": "0.05", "GENOMECACHE_TIMEOUT": "5"}


def plain_fasta() -> bytes:
    """The embedded genome's FASTA text, as bgzip decompresses it."""
    return decompressed(ASSETS / GENOME)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    """``--collect-only`` lists the tests and stops: no workflow is started.

    pytest-workflow queues every YAML workflow while collecting and starts the queue in its own
    ``pytest_runtestloop``, which pytest calls before its own (the one that returns early for
    ``--collect-only``); so listing the tests would run every pipeline, and crash where
    ``nextflow`` is not on PATH. Answering first, as pytest itself does, stops both.
    """
    if not session.config.option.collectonly:
        return None
    if session.testsfailed and not session.config.option.continue_on_collection_errors:
        raise session.Interrupted(f"{session.testsfailed} errors during collection")
    return True


@pytest.fixture(scope="session")
def variants(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once: the BGZF genome with and without indexes, plain gzip, uncompressed, not-FASTA."""
    folder = tmp_path_factory.mktemp("variants")
    for suffix in ("", ".fai", ".gzi"):
        shutil.copyfile(ASSETS / f"{GENOME}{suffix}", folder / f"{GENOME}{suffix}")
    plain = plain_fasta()
    (folder / "ce.fa").write_bytes(plain)
    (folder / "plain.fa.gz").write_bytes(run("gzip", "-nc", folder / "ce.fa").stdout)
    shutil.copyfile(ASSETS / GENOME, folder / "noindex.fa.gz")
    (folder / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    (folder / "notes.fa").write_bytes(b"this is a README, not a genome\n" * 50)
    (folder / "notes.fa.gz").write_bytes(gzip.compress(b"<html>404 page</html>\n" * 50))
    return folder


@pytest.fixture
def genome_dir(tmp_path: Path, variants: Path) -> Path:
    """A private copy of the served folder (tests may add, remove or damage files in it)."""
    folder = tmp_path / "served"
    shutil.copytree(variants, folder)
    return folder


@pytest.fixture(scope="session")
def big_genome(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ~2.4 MB BGZF genome with samtools' indexes: ~8 Mbp of random bases (so it does not
    compress) in 3 sequences with line widths 60, 70 and 80, descriptions and soft-masked runs.

    Big enough that a transfer is written to disk in several pieces before it completes,
    and spans many BGZF blocks for range reads.
    """
    folder = tmp_path_factory.mktemp("big")
    rng = random.Random(20260)
    table = bytes.maketrans(bytes(range(256)), b"ACGT" * 64)
    parts = []
    for name, length, width in (("chrA", 3_100_000, 60), ("chrB", 2_400_000, 70), ("chrC", 2_600_003, 80)):
        seq = bytearray(rng.randbytes(length).translate(table))
        for _ in range(40):  # soft-masked (lower case) stretches must come back as they are
            start = rng.randrange(length - 5000)
            stop = start + rng.randrange(1, 5000)
            seq[start:stop] = seq[start:stop].lower()
        parts.append(b">%s some description\n" % name.encode())
        parts.extend(bytes(seq[i : i + width]) + b"\n" for i in range(0, length, width))
    fasta = folder / "big.fa"
    fasta.write_bytes(b"".join(parts))
    run("bgzip", "-f", fasta)
    run("samtools", "faidx", folder / "big.fa.gz")
    return folder / "big.fa.gz"


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short backoff for CLI subprocesses (RetryPolicy reads these when the module is imported)."""
    for name, value in FAST_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GENOMECACHE_DIR", raising=False)


@pytest.fixture
def policy() -> RetryPolicy:
    return RetryPolicy(attempts=3, backoff=0.05, timeout=5)


@contextlib.contextmanager
def serving(root: Path, **options: float) -> Iterator[GenomeServer]:
    """A started GenomeServer that stops within 50 ms (serve_forever polls every 0.5 s by default)."""
    httpd = GenomeServer(root, **options)
    httpd.thread = threading.Thread(
        target=httpd.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    httpd.thread.start()
    try:
        yield httpd
    finally:
        httpd.stop()


def settle(httpd: GenomeServer, timeout: float = 10) -> GenomeServer:
    """Wait until every request the server received is answered and logged, then return it.

    A client can finish reading a body before the handler thread has logged it (a
    throttled handler even sleeps after its last chunk): check the log only after this.
    """
    deadline = time.monotonic() + timeout

    def busy() -> bool:
        return any(
            getattr(getattr(t, "_target", None), "__self__", None) is httpd.httpd
            for t in threading.enumerate()
            if t is not httpd.thread
        )

    while busy() and time.monotonic() < deadline:
        time.sleep(0.005)
    return httpd


@pytest.fixture
def server(genome_dir: Path) -> Iterator[GenomeServer]:
    with serving(genome_dir, slow_seconds=2) as httpd:
        yield httpd


@pytest.fixture
def cache_root(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def cache(cache_root: Path, policy: RetryPolicy) -> GenomeCache:
    return GenomeCache(cache_root, policy=policy, progress=False)


@pytest.fixture
def api() -> Iterator[FakeVariantApi]:
    """A loopback variant API (PAVI's answer shapes) that counts its calls and can be taken down."""
    with FakeVariantApi() as server:
        yield server


def cli(
    *args: str | os.PathLike[str], timeout: float = 60, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run ``bin/genome_cache.py`` as the pipeline does; returns the completed process (text)."""
    return run_script("genome_cache.py", *args, timeout=timeout, env={**FAST_ENV, **(env or {})})


def cache_files(root: Path) -> list[str]:
    """Every path under a cache root, relative, sorted."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def published(root: Path) -> list[str]:
    """Names of published entry directories (not staging, not trash)."""
    genomes = root / "genomes"
    return sorted(p.name for p in genomes.iterdir() if not p.name.startswith(".")) if genomes.exists() else []


def no_partial_downloads(cache: GenomeCache) -> bool:
    """No download in progress or left behind, by the cache's account and on disk."""
    return cache.status()["partial_downloads"] == [] and not list(cache.genomes.glob(".partial-*/*"))


@contextlib.contextmanager
def small_tmpfs(mount: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` (e.g. ``20m``) mounted at ``mount`` for a full-disk test; skips
    with the reason where mounting is not permitted (it needs root)."""
    mount.mkdir(exist_ok=True)
    try:
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot mount a {size} tmpfs: {exc}")
    if result.returncode != 0:
        pytest.skip(f"cannot mount a {size} tmpfs (needs root): {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False, capture_output=True)


def read_region(cache: GenomeCache, url: str, region: str) -> bytes:
    """One retrieval as seq_retrieval.py does it: resolve, shared lock and checks, indexed read."""
    name, _, span = region.partition(":")
    start, end = (int(x) for x in span.split("-"))
    path = resolve_for_reading(url, cache)
    with cache.reading(path) as local, Genome.open(local) as genome:
        return genome.region(name, Region(start, end)).encode()
