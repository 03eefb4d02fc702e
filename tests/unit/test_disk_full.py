"""A full disk: fail before downloading when the size is known not to fit, and on ENOSPC
remove the partial so the next fetch (of any genome) is not wedged. Real tmpfs mounts (root)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import GENOME, cli, published, serving, settle, small_tmpfs


@pytest.fixture
def tmpfs_20m(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "small", "20m") as mount:
        yield mount


def fill(mount: Path, leave: int) -> Path:
    """Fill the file system until about ``leave`` bytes are free."""
    filler = mount / "filler"
    free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
    with open(filler, "wb") as out:
        out.write(b"\0" * max(0, free - leave))
    return filler


def test_a_download_that_cannot_fit_fails_before_it_starts(tmpfs_20m, big_genome, tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    (served / "big.fa.gz").write_bytes(big_genome.read_bytes())
    size = big_genome.stat().st_size
    fill(tmpfs_20m, size + (1 << 20))  # room for the file, not for the file and the margin
    with serving(served) as server:
        url = server.url("big.fa.gz").replace("127.0.0.1", "reader:s3cret@127.0.0.1") + "?token=s3cret"
        result = cli("--cache-dir", tmpfs_20m / "cache", "-q", "fetch", url)
        assert result.returncode == 1
        [line] = [x for x in result.stderr.splitlines() if x.startswith("ERROR")]
        assert "Traceback" not in result.stderr
        assert line.startswith(f"ERROR {server.url('big.fa.gz')}: not enough free space")
        assert "needs " in line and " free" in line and "s3cret" not in line
        assert settle(server).gets("big.fa.gz") == []  # not one byte of the body was fetched
    assert published(tmpfs_20m / "cache") == []
    assert not list((tmpfs_20m / "cache" / "genomes").glob(".partial-*"))


def test_enospc_mid_download_removes_the_partial_and_names_the_url(tmpfs_20m, big_genome, genome_dir):
    (genome_dir / "big.fa.gz").write_bytes(big_genome.read_bytes())
    root = tmpfs_20m / "cache"
    # throttled, so the disk can fill up while the body arrives
    with serving(genome_dir, throttle=2_000_000) as server:
        filled: list[Path] = []

        def filler() -> None:  # another process's file takes the room once the download started
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if list((root / "genomes").glob(".partial-*/download")):
                    filled.append(fill(tmpfs_20m, 0))
                    return
                time.sleep(0.01)

        thread = threading.Thread(target=filler)
        thread.start()
        result = cli("--cache-dir", root, "-q", "fetch", server.url("big.fa.gz"))
        thread.join()
        assert filled, "the download never started"
        assert result.returncode == 1
        errors = [x for x in result.stderr.splitlines() if x.startswith("ERROR")]
        assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
        assert server.url("big.fa.gz") in errors[0] and "no space left" in errors[0].lower()
        assert not list((root / "genomes").glob(".partial-*"))  # nothing left filling the disk
        assert published(root) == []

        filled[0].unlink()  # room again: other genomes and this one fetch fine
        again = cli("--cache-dir", root, "-q", "fetch", server.url(GENOME))
        assert again.returncode == 0, again.stderr
        assert cli("--cache-dir", root, "-q", "fetch", server.url("big.fa.gz")).returncode == 0
    assert len(published(root)) == 2
