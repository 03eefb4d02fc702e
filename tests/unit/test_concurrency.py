"""Processes that die, race and read: one download, resumable after SIGKILL, no pruning under a reader."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from genomecache.cache import GenomeCache
from genomecache.locations import parse_location
from tests.conftest import CLI, FAST_ENV, GENOME, cli, published, serving, settle


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def start_cli(*args: str | os.PathLike[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(CLI), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **FAST_ENV},
    )


def wait_for(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def big_served(tmp_path: Path, big_genome: Path) -> Path:
    folder = tmp_path / "served-big"
    folder.mkdir()
    for suffix in ("", ".fai", ".gzi"):
        shutil.copyfile(f"{big_genome}{suffix}", folder / f"{big_genome.name}{suffix}")
    return folder


def test_sigkilled_download_leaves_no_entry_and_the_rerun_resumes(tmp_path, big_served):
    name = "big.fa.gz"
    size = (big_served / name).stat().st_size
    root = tmp_path / "cache"
    with serving(big_served, throttle=1_500_000) as server:
        url = server.url(name)
        entry = parse_location(url).entry_name
        partial = root / "genomes" / f".partial-{entry}" / "download"

        proc = start_cli("--cache-dir", root, "-q", "fetch", url)
        try:
            wait_for(lambda: partial.exists() and partial.stat().st_size >= 1 << 20, 20, "1 MiB on disk")
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=10)
        assert proc.returncode == -signal.SIGKILL

        have = partial.stat().st_size
        assert 0 < have < size
        assert published(root) == []
        assert [p.name for p in (root / "genomes").iterdir()] == [f".partial-{entry}"]

        server.throttle = 0
        started = time.monotonic()
        rerun = cli("--cache-dir", root, "-q", "fetch", url, timeout=30)
        assert rerun.returncode == 0, rerun.stderr
        assert time.monotonic() - started < 15  # the dead process's lock did not hold it up

    fasta = Path(rerun.stdout.strip())
    assert fasta.parent == root / "genomes" / entry
    assert settle(server).gets(name, ranged=True)[-1]["range"] == f"bytes={have}-{size - 1}"
    assert sha256(fasta) == sha256(big_served / name)
    assert published(root) == [entry]
    assert list((root / "genomes").glob(".partial-*")) == []


def test_concurrent_processes_download_once(tmp_path, genome_dir):
    root = tmp_path / "cache"
    size = (genome_dir / GENOME).stat().st_size
    with serving(genome_dir, throttle=size / 1.5) as server:  # the transfer takes ~1.5 s
        url = server.url(GENOME)
        procs = [start_cli("--cache-dir", root, "-q", "fetch", url) for _ in range(4)]
        results = [p.communicate(timeout=60) for p in procs]

    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in results]
    paths = {out.strip() for out, _ in results}
    assert len(paths) == 1
    assert len(settle(server).gets(GENOME)) == 1, settle(server).log
    assert len([e for e in settle(server).log if e["method"] == "HEAD"]) == 1
    assert sha256(Path(paths.pop())) == sha256(genome_dir / GENOME)


def test_concurrent_threads_download_once(cache, server, genome_dir):
    server.throttle = (genome_dir / GENOME).stat().st_size / 0.5
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: cache.ensure(server.url(GENOME)), range(4)))

    assert len({r.fasta for r in results}) == 1
    assert sorted(r.source for r in results) == ["cache"] * 3 + ["network"]
    assert len(settle(server).gets(GENOME)) == 1


READER = """
import sys
from genomecache.cache import GenomeCache
cache = GenomeCache(sys.argv[1], progress=False)
with cache.reading(sys.argv[2]) as path:
    print("reading", path, flush=True)
    sys.stdin.readline()
"""


def test_prune_does_not_remove_an_entry_another_process_is_reading(cache, server, cache_root):
    being_read = cache.ensure(server.url("noindex.fa.gz"))
    idle = cache.ensure(server.url(GENOME))
    os.utime(cache.locks / f"{being_read.entry}.lock", (1_000_000, 1_000_000))  # the least recently used
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(cache_root), being_read.fasta],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().startswith("reading")

        started = time.monotonic()
        pruned = cli("--cache-dir", cache_root, "prune", "--max-size", "0", "--force")
        assert time.monotonic() - started < 10  # skipped, not waited for
        assert pruned.returncode == 0, pruned.stderr
        lines = pruned.stdout.splitlines()
        assert sorted(line.split(" (")[0] for line in lines[:2]) == sorted(
            [f"in use, kept {being_read.entry}", f"removed {idle.entry}"]
        )
        assert published(cache_root) == [being_read.entry]
        assert Path(being_read.fasta).read_bytes() == (server.root / "noindex.fa.gz").read_bytes()
    finally:
        reader.communicate("\n", timeout=10)
    assert reader.returncode == 0

    assert GenomeCache(cache_root, progress=False).prune(0) == [being_read.entry]
    assert published(cache_root) == []
