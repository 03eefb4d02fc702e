"""Nothing from a URL or a planted file steers the cache outside itself; secrets never reach disk or logs."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
from pathlib import Path

import pytest

from genomecache.cache import GenomeCache
from genomecache.errors import GenomeCacheError, IntegrityError, SourceError
from genomecache.locations import parse_location
from tests.conftest import GENOME, cache_files, cli, published, settle


def snapshot(folder: Path, skip: tuple[Path, ...]) -> dict[str, tuple[int, float, str]]:
    """Size, mtime and digest of every file under ``folder`` outside the ``skip`` trees."""
    result = {}
    for path in sorted(folder.rglob("*")):
        if any(path == s or s in path.parents for s in skip) or path.is_dir():
            continue
        info = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else os.readlink(path)
        result[str(path)] = (info.st_size, info.st_mtime, digest)
    return result


# --- URLs cannot escape ---------------------------------------------------------------------


class RedirectToTheGenome(dict):
    """``GenomeServer.redirects`` that sends every path but the genome's own files to the
    genome (its ``.fai``/``.gzi`` to the genome's indexes), however the client spelled it:
    so each hostile URL path below downloads a real genome and the cache has to name it."""

    def __init__(self, server) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self.server = server

    def __contains__(self, path: object) -> bool:
        return not str(path).startswith(f"/{GENOME}")

    def __getitem__(self, path: str) -> tuple[int, str]:
        suffix = next((s for s in (".fai", ".gzi") if path.endswith(s)), "")
        return 302, self.server.url(f"{GENOME}{suffix}")


@pytest.mark.parametrize(
    "path",
    [
        "/../../etc/passwd",
        "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/..%2f..%2f..%2fcache%2fgenomes%2fevil",
        "//etc/passwd",
        "/sub/../ce.fa.gz",
        "/%2e%2e",
        "/.hidden.fa.gz",
        "/a/b/..",
    ],
)
def test_url_paths_never_name_a_path_outside_the_cache(cache, server, tmp_path, path):
    url = f"http://127.0.0.1:{server.port}{path}"
    location = parse_location(url)
    server.redirects = RedirectToTheGenome(server)
    before = snapshot(tmp_path, skip=(cache.root,))

    got = cache.ensure(url)  # the server answers every such path with the genome

    assert got.source == "network"
    assert got.entry == location.entry_name
    assert "/" not in got.entry and not got.entry.startswith(".")
    assert Path(got.fasta).parent == cache.genomes / got.entry
    assert Path(got.fasta).resolve().parent.parent == cache.genomes.resolve()
    assert Path(got.fasta).read_bytes() == (server.root / GENOME).read_bytes()
    assert published(cache.root) == [got.entry]
    assert snapshot(tmp_path, skip=(cache.root,)) == before  # nothing written outside the cache


@pytest.mark.parametrize("entry", ["../../outside", "..", "x/../../outside", ".partial-x", "/etc"])
def test_entry_names_from_the_command_line_cannot_escape(cache, cache_root, tmp_path, entry):
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "keep").write_text("mine")
    before = snapshot(tmp_path, skip=(cache_root,))

    with pytest.raises(GenomeCacheError, match="not a cache entry name"):
        cache.verify(entry)
    result = cli("--cache-dir", cache_root, "verify", entry)

    assert result.returncode == 1
    assert result.stderr.startswith("ERROR") and "Traceback" not in result.stderr
    assert snapshot(tmp_path, skip=(cache_root,)) == before
    assert (tmp_path / "outside" / "keep").read_text() == "mine"


@pytest.mark.parametrize("url", ["http://127.0.0.1:notaport/ce.fa.gz", "http://[::1/ce.fa.gz"])
def test_malformed_urls_are_a_one_line_error(cache_root, url):
    with pytest.raises(SourceError, match="not a valid URL"):
        parse_location(url)
    result = cli("--cache-dir", cache_root, "fetch", url)
    assert result.returncode == 1
    assert result.stderr.startswith("ERROR") and "Traceback" not in result.stderr


def test_ipv6_hosts_keep_their_brackets_in_what_is_shown():
    assert (
        parse_location("http://user:pw@[::1]:8080/g/ce.fa.gz?sig=1").display == "http://[::1]:8080/g/ce.fa.gz"
    )


# --- planted symlinks -----------------------------------------------------------------------


def test_symlinked_entry_pointing_outside_is_never_served_nor_written(cache, server, tmp_path):
    url = server.url(GENOME)
    entry = parse_location(url).entry_name
    # a complete, valid-looking entry outside the cache, and a link to it where the entry belongs
    donor = GenomeCache(tmp_path / "donor", policy=cache.policy, progress=False)
    outside = Path(donor.ensure(url).fasta).parent
    cache.genomes.mkdir(parents=True)
    (cache.genomes / entry).symlink_to(outside, target_is_directory=True)
    before = snapshot(outside, skip=())

    with pytest.raises(IntegrityError, match="symlink"):
        cache.read_entry(entry)
    got = cache.ensure(url)

    assert got.source == "network"
    assert not (cache.genomes / entry).is_symlink()
    assert Path(got.fasta).parent.resolve() == (cache.genomes / entry).resolve()
    assert snapshot(outside, skip=()) == before


@pytest.mark.parametrize(
    ("planted", "refusal"),
    [
        # a link where the cache keeps its own scratch files is removed and replaced
        ("staging", None),
        ("download", None),
        # a link in place of the lock file or the genomes folder is refused
        ("lock", "its lock file is a symlink; refusing"),
        ("genomes", "cache path genomes resolves outside the cache; refusing"),
    ],
)
def test_planted_symlinks_are_not_followed_for_writing(cache, server, tmp_path, planted, refusal):
    url = server.url(GENOME)
    entry = parse_location(url).entry_name
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious").write_bytes(b"do not touch\n")
    os.utime(victim / "precious", (1_000_000, 1_000_000))
    cache.root.mkdir()
    if planted == "genomes":
        cache.genomes.symlink_to(victim, target_is_directory=True)
    else:
        cache.genomes.mkdir()
        cache.locks.mkdir()
    if planted == "staging":
        (cache.genomes / f".partial-{entry}").symlink_to(victim, target_is_directory=True)
    elif planted == "download":
        (cache.genomes / f".partial-{entry}").mkdir()
        (cache.genomes / f".partial-{entry}" / "download").symlink_to(victim / "precious")
    elif planted == "lock":
        (cache.locks / f"{entry}.lock").symlink_to(victim / "precious")
    before = snapshot(victim, skip=())

    if refusal:
        with pytest.raises(IntegrityError, match=refusal):
            cache.ensure(url)
        assert settle(server).gets(GENOME) == []  # refused before anything was fetched
    else:
        got = cache.ensure(url)
        assert Path(got.fasta) == cache.genomes / entry / GENOME
        assert not os.path.islink(cache.genomes / f".partial-{entry}")
        assert Path(got.fasta).read_bytes() == (server.root / GENOME).read_bytes()

    assert snapshot(victim, skip=()) == before
    assert sorted(p.name for p in victim.iterdir()) == ["precious"]


# --- secrets ----------------------------------------------------------------------------------

SECRETS = ("SeCrEtSiG123", "tokenABC987", "pAsSw0rdXYZ")


def secret_urls(server) -> list[str]:  # type: ignore[no-untyped-def]
    presigned = f"{server.url(GENOME)}?X-Amz-Signature={SECRETS[0]}&token={SECRETS[1]}"
    userinfo = server.url("noindex.fa.gz").replace("127.0.0.1", f"reader:{SECRETS[2]}@127.0.0.1")
    return [presigned, userinfo]


def assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret} leaked into {where}"


def test_secrets_in_urls_never_reach_names_records_receipts_output_or_logs(
    cache, server, cache_root, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    presigned, userinfo = secret_urls(server)
    server.faults[f"/{GENOME}"].append("short")  # retries and resumes log too

    for url in (presigned, userinfo):
        got = cache.ensure(url)
        assert_no_secret(json.dumps(got.__dict__), "the Resolved record")
    with pytest.raises(SourceError) as missing:
        cache.ensure(presigned.replace(GENOME, "missing.fa.gz"))
    assert_no_secret(str(missing.value), "an error message")

    receipt = tmp_path / "receipt.json"
    outputs = []
    for url in (presigned, userinfo):
        result = cli("--cache-dir", tmp_path / "cli-cache", "fetch", url, "--receipt", receipt)
        assert result.returncode == 0, result.stderr
        outputs += [result.stdout, result.stderr, receipt.read_text()]
    failed = cli("--cache-dir", tmp_path / "cli-cache", "fetch", presigned.replace(GENOME, "missing.fa.gz"))
    assert failed.returncode == 1
    for command in (["status"], ["list", "--json"], ["verify"]):
        outputs.append(cli("--cache-dir", tmp_path / "cli-cache", *command).stdout)
    outputs += [failed.stdout, failed.stderr]

    assert_no_secret("\n".join(outputs), "the CLI's output or receipt")
    assert_no_secret(caplog.text, "the log")
    for root in (cache_root, tmp_path / "cli-cache"):
        for path in root.rglob("*"):
            assert_no_secret(str(path.relative_to(root)), "a file name")
            if path.is_file():  # every file: records, receipts, locks/*.source, even the genomes
                assert_no_secret(path.read_bytes().decode("latin-1"), str(path))
    assert sorted(p.name for p in cache.locks.glob("*.source")) == sorted(
        f"{r['entry']}.source" for r in cache.entries()
    )
    assert [r["url"] for r in cache.entries()] == sorted([server.url(GENOME), server.url("noindex.fa.gz")])


# --- permissions ------------------------------------------------------------------------------


@pytest.fixture
def open_umask():  # type: ignore[no-untyped-def]
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_nothing_the_cache_creates_is_world_writable(open_umask, cache, server, cache_root):
    cache.ensure(server.url(GENOME))
    server.faults["/noindex.fa.gz"] += ["short", "503", "503"]  # leaves a partial download behind
    with pytest.raises(SourceError):
        cache.ensure(server.url("noindex.fa.gz"))
    assert cache.status()["partial_downloads"]

    writable = [p for p in [cache_root, *cache_root.rglob("*")] if p.lstat().st_mode & stat.S_IWOTH]
    assert writable == [], [f"{p}: {oct(p.lstat().st_mode)}" for p in writable]
    assert len(cache_files(cache_root)) > 5


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
@pytest.mark.parametrize("shared", [False, True], ids=["private", "group-shared"])
def test_exact_modes_published_read_only_shared_by_the_group_or_private_by_the_umask(
    cache_root, policy, server, umask, shared
):
    """README: published files 0444 in 0555 folders; a setgid (2775) root gets 2775 folders,
    664 lock files and 2770 partial downloads whatever the umask; otherwise the umask rules."""
    if shared:
        cache_root.mkdir()
        os.chmod(cache_root, 0o2775)  # README: chmod 2775 the cache root
    old = os.umask(umask)
    try:
        cache = GenomeCache(cache_root, policy=policy, progress=False)
        got = cache.ensure(server.url(GENOME))
        server.faults["/noindex.fa.gz"] += ["short", "503", "503"]  # leaves a partial download behind
        with pytest.raises(SourceError):
            cache.ensure(server.url("noindex.fa.gz"))
    finally:
        os.umask(old)

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.lstat().st_mode)

    folder = Path(got.fasta).parent
    assert mode(folder) == 0o555
    assert {p.name: mode(p) for p in folder.iterdir()} == {
        name: 0o444 for name in (GENOME, f"{GENOME}.fai", f"{GENOME}.gzi", "entry.json")
    }
    [partial] = cache.genomes.glob(".partial-*")
    locks = sorted(cache.locks.glob("*.lock"))
    assert len(locks) == 2
    if shared:
        assert {mode(cache.genomes), mode(cache.locks)} == {0o2775}
        assert {mode(lock) for lock in locks} == {0o664}
        assert mode(partial) == 0o2770
    else:
        assert {mode(cache.genomes), mode(cache.locks)} == {0o755 & ~umask}  # never group-writable
        assert {mode(lock) for lock in locks} == {0o664 & ~umask}
        assert mode(partial) == 0o700  # a download in progress is private until published
