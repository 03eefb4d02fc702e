"""A cache shared by the members of one group: two different uids fetch, read, resume and
prune in one cache (root: forked children switch uid; skipped when not root)."""

from __future__ import annotations

import importlib
import multiprocessing
import os
import stat
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from genomecache.cache import GenomeCache, resolve_for_reading
from genomecache.errors import GenomeCacheError
from genomecache.locations import parse_location
from genomecache.requests import Region
from genomecache.retrieval import Genome
from genomecache.sources import RetryPolicy
from tests.conftest import GENOME, published, samtools_region, settle

GROUP, ALICE, BOB = 4242, 10001, 10002


def _as_user(uid: int, action: str, root: str, url: str) -> dict:
    """In a fresh child (forkserver: no threads inherited), switch to ``uid`` and act."""
    policy = RetryPolicy(attempts=3, backoff=0.05, timeout=5)
    try:
        # the interpreter's own folder may be closed to other users (/root/.pyenv): load
        # what is imported lazily before switching
        "localhost".encode("idna")
        for module in (
            "ctypes",
            "ctypes.util",
            "json.decoder",
            "email.parser",
            "http.client",
            "urllib3",
            "tenacity",
        ):
            importlib.import_module(module)
        os.setgroups([GROUP])
        os.setgid(GROUP)
        os.setuid(uid)
        os.umask(0o022)
        cache = GenomeCache(root, policy=policy, progress=False)
        if action == "fetch":
            return {"ok": cache.ensure(url).source}
        if action == "read":
            path = resolve_for_reading(url, cache)
            with cache.reading(path) as local, Genome.open(local) as genome:
                return {"ok": genome.region("CHROMOSOME_I", Region(1, 120))}
        return {"ok": cache.prune(0)}
    except GenomeCacheError as exc:
        return {"error": str(exc)}
    except BaseException:  # noqa: BLE001 - reported to the parent
        return {"traceback": traceback.format_exc()}


def as_user(uid: int, action: str, root: Path, url: str = "") -> dict:
    """Run one action as ``uid`` in group GROUP (umask 022) in a new process; its answer."""
    context = multiprocessing.get_context("forkserver")
    with context.Pool(1, maxtasksperchild=1) as pool:
        answer = pool.apply_async(_as_user, (uid, action, str(root), url)).get(timeout=120)
    assert "traceback" not in answer, answer["traceback"]
    return answer


@pytest.fixture
def group_cache() -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("needs root to run two different uids against one cache")
    base = Path(tempfile.mkdtemp(prefix="gc-shared-"))  # not under pytest's 0700 tmp dir
    os.chmod(base, 0o755)
    root = base / "cache"
    root.mkdir()
    os.chown(root, 0, GROUP)
    os.chmod(root, 0o2775)  # README: chgrp the cache root to the team's group, chmod 2775
    try:
        yield root
    finally:
        import shutil

        for path in [root, *root.rglob("*")]:
            if path.is_dir() and not path.is_symlink():
                os.chmod(path, 0o755)
        shutil.rmtree(base)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_two_users_of_one_group_share_one_cache(group_cache, server, genome_dir):
    url = server.url(GENOME)
    region = "CHROMOSOME_I:1-120"
    want = b"".join(samtools_region(genome_dir / GENOME, region).splitlines()[1:]).decode()

    assert as_user(ALICE, "fetch", group_cache, url) == {"ok": "network"}
    assert as_user(BOB, "fetch", group_cache, url) == {"ok": "cache"}
    assert as_user(BOB, "read", group_cache, url) == {"ok": want}
    assert len(settle(server).gets(GENOME)) == 1

    # Bob's abandoned partial download is taken over by Alice: restarted (its files are Bob's)
    server.faults["/noindex.fa.gz"] += ["short", "503", "503"]
    other = server.url("noindex.fa.gz")
    failed = as_user(BOB, "fetch", group_cache, other)
    assert list(failed) == ["error"] and failed["error"].startswith(f"{other}: "), failed
    assert "503" in failed["error"], failed
    partial = group_cache / "genomes" / f".partial-{parse_location(other).entry_name}"
    assert (mode(partial), partial.stat().st_uid, partial.stat().st_gid) == (0o2770, BOB, GROUP)
    assert as_user(ALICE, "fetch", group_cache, other) == {"ok": "network"}
    assert settle(server).gets("noindex.fa.gz")[-1]["range"] is None

    # what makes it work: setgid group-writable folders, group-writable locks, read-only entries
    assert {folder: mode(group_cache / folder) for folder in ("genomes", "locks")} == {
        "genomes": 0o2775,
        "locks": 0o2775,
    }
    locks = sorted((group_cache / "locks").glob("*.lock"))
    assert len(locks) == 2
    assert {(mode(lock), lock.stat().st_gid) for lock in locks} == {(0o664, GROUP)}
    entries = published(group_cache)
    assert entries == sorted(parse_location(u).entry_name for u in (url, other))
    for entry in entries:
        folder = group_cache / "genomes" / entry
        assert (mode(folder), folder.stat().st_gid) == (0o555, GROUP)
        assert {(mode(p), p.stat().st_gid) for p in folder.iterdir()} == {(0o444, GROUP)}
    assert not any(p.stat().st_mode & stat.S_IWOTH for p in group_cache.rglob("*"))

    # either member can prune the other's entries; README (not covered): the files of Alice's
    # entries, moved aside by Bob, are deleted by her next prune (prune names only what it deleted)
    assert as_user(BOB, "prune", group_cache) == {"ok": entries}
    assert published(group_cache) == []
    aside = sorted(p.name for p in (group_cache / "genomes").iterdir())
    assert [name.rsplit("-", 1)[0] for name in aside] == [f".quarantine-{entry}" for entry in entries]
    assert as_user(ALICE, "prune", group_cache) == {"ok": aside}
    assert list((group_cache / "genomes").iterdir()) == []
