"""Processes that die, race and read: one download, resumable after SIGKILL, no pruning under a reader."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from genomecache.cache import GenomeCache
from genomecache.locations import parse_location
from genomecache.sources import RetryPolicy
from tests.conftest import CLI, FAST_ENV, GENOME, cli, published, serving, settle
from tests.support.digests import sha256
from tests.support.httpserver import GenomeServer


def start_cli(*args: str | os.PathLike[str], env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(CLI), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **FAST_ENV, **(env or {})},
    )


def hold_body_gets(server: GenomeServer, name: str) -> tuple[threading.Event, threading.Event]:
    """Make the server hold every whole-file GET of ``name`` until ``release`` is set;
    ``arrived`` is set when the first one came. Everything else is served as usual."""
    arrived, release = threading.Event(), threading.Event()

    class Held(server.httpd.RequestHandlerClass):  # type: ignore[misc,name-defined]
        def do_GET(self) -> None:
            if urlsplit(self.path).path == f"/{name}" and not self.headers.get("Range"):
                arrived.set()
                release.wait(60)
            super().do_GET()

    server.httpd.RequestHandlerClass = Held
    return arrived, release


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


def holds_open(pid: int, path: Path) -> bool:
    """Whether process ``pid`` has ``path`` open (it waits on, or holds, that lock file)."""
    fds = Path(f"/proc/{pid}/fd")
    with contextlib.suppress(OSError):  # a process that exits meanwhile holds nothing
        return any(os.readlink(fd) == str(path) for fd in fds.iterdir())
    return False


def test_concurrent_processes_download_once(tmp_path, genome_dir):
    root = tmp_path / "cache"
    with serving(genome_dir) as server:
        url = server.url(GENOME)
        lock = root / "locks" / f"{parse_location(url).entry_name}.lock"
        arrived, release = hold_body_gets(server, GENOME)
        # a long read timeout: the one body GET is held until every contender is at the lock
        procs = [
            start_cli("--cache-dir", root, "-q", "fetch", url, env={"GENOMECACHE_TIMEOUT": "90"})
            for _ in range(4)
        ]
        try:
            wait_for(arrived.is_set, 60, "the first GET of the genome")
            # they overlap: all four are inside the entry's lock (one downloading, three waiting)
            wait_for(lambda: all(holds_open(p.pid, lock) for p in procs), 60, "all four at the entry's lock")
            assert [p.poll() for p in procs] == [None] * 4
            assert len(server.gets(GENOME)) == 0  # the held GET is logged once answered
        finally:
            release.set()
        results = [p.communicate(timeout=60) for p in procs]

    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in results]
    paths = {out.strip() for out, _ in results}
    assert len(paths) == 1
    assert len(settle(server).gets(GENOME)) == 1, settle(server).log
    assert len([e for e in settle(server).log if e["method"] == "HEAD"]) == 1
    assert sha256(Path(paths.pop())) == sha256(genome_dir / GENOME)


def stack_names(ident: int) -> set[str]:
    """Names of the functions of ``genomecache/cache.py`` on thread ``ident``'s stack now."""
    frame, names = sys._current_frames().get(ident), set()
    while frame is not None:
        if frame.f_code.co_filename.endswith(os.path.join("genomecache", "cache.py")):
            names.add(frame.f_code.co_name)
        frame = frame.f_back
    return names


def test_concurrent_threads_download_once(cache_root, server, genome_dir):
    cache = GenomeCache(cache_root, policy=RetryPolicy(attempts=3, backoff=0.05, timeout=90), progress=False)
    arrived, release = hold_body_gets(server, GENOME)
    workers: list[int] = []

    def fetch(_: int):  # type: ignore[no-untyped-def]
        workers.append(threading.get_ident())
        return cache.ensure(server.url(GENOME))

    def one_downloading_three_waiting() -> bool:
        stacks = [stack_names(t) for t in workers]
        downloading = [s for s in stacks if "_download" in s]
        waiting = [s for s in stacks if "_lock" in s and "_download" not in s]
        return len(stacks) == 4 and len(downloading) == 1 and len(waiting) == 3

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(fetch, i) for i in range(4)]
        try:
            wait_for(arrived.is_set, 30, "the first GET of the genome")
            # they overlap: while one thread's body GET is held, the three others wait on the lock
            wait_for(one_downloading_three_waiting, 30, "one thread downloading, three waiting on the lock")
        finally:
            release.set()
        results = [f.result(timeout=60) for f in futures]

    assert len({r.fasta for r in results}) == 1
    assert sorted(r.source for r in results) == ["cache"] * 3 + ["network"]
    assert len(settle(server).gets(GENOME)) == 1
    assert sha256(Path(results[0].fasta)) == sha256(genome_dir / GENOME)


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


def test_a_download_in_progress_is_invisible_until_published_whole(cache_root, policy, big_served):
    name = "big.fa.gz"
    size = (big_served / name).stat().st_size
    with serving(big_served, throttle=size / 2) as server:  # the body takes ~2 s
        url = server.url(name)
        entry = parse_location(url).entry_name
        partial = cache_root / "genomes" / f".partial-{entry}" / "download"
        with ThreadPoolExecutor(1) as pool:
            fetching = pool.submit(GenomeCache(cache_root, policy=policy, progress=False).ensure, url)
            wait_for(lambda: partial.exists() and partial.stat().st_size >= 1 << 20, 20, "1 MiB on disk")
            # another task meanwhile: no entry, nothing listed, nothing to read
            other = GenomeCache(cache_root, policy=policy, progress=False)
            assert other.read_entry(entry) is None
            assert other.entries() == [] and published(cache_root) == []
            assert not (cache_root / "genomes" / entry).exists()
            assert partial.stat().st_size < size and not fetching.done()
            got = fetching.result(timeout=30)

    assert got.source == "network" and published(cache_root) == [entry]
    folder = cache_root / "genomes" / entry
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [name, f"{name}.fai", f"{name}.gzi", "entry.json"]
    )
    assert sha256(folder / name) == sha256(big_served / name)
    assert list((cache_root / "genomes").glob(".partial-*")) == []
