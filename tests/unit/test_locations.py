"""Genome URLs (``locations.py``): which cache entry a URL names, what of it may be shown, what is refused."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from genomecache.errors import SourceError
from genomecache.locations import parse_location, redact


def test_the_entry_is_the_basename_and_a_digest_of_the_url_shown() -> None:
    location = parse_location("https://ftp.ensembl.org/pub/release-110/fasta/ce.fa.gz")
    digest = hashlib.sha256(b"https://ftp.ensembl.org/pub/release-110/fasta/ce.fa.gz").hexdigest()[:12]
    assert location.entry_name == f"ce.fa.gz-{digest}"
    assert (location.scheme, location.basename) == ("https", "ce.fa.gz")


def test_one_basename_at_two_places_is_two_entries_and_one_url_is_always_one() -> None:
    names = {
        parse_location(url).entry_name
        for url in (
            "https://a.example.org/ce.fa.gz",
            "https://b.example.org/ce.fa.gz",
            "https://a.example.org/old/ce.fa.gz",
            "s3://bucket/ce.fa.gz",
        )
    }
    assert len(names) == 4
    assert all(name.startswith("ce.fa.gz-") for name in names)
    assert (
        parse_location("https://a.example.org/ce.fa.gz").entry_name
        == parse_location(" https://a.example.org/ce.fa.gz ").entry_name
    )


def test_credentials_query_and_fragment_are_never_shown_nor_in_the_entry_name() -> None:
    plain = parse_location("https://genomes.example.org:8443/wb/ce.fa.gz")
    secret = parse_location(
        "https://reader:hunter2@genomes.example.org:8443/wb/ce.fa.gz?X-Amz-Signature=abc123&token=t0k#frag"
    )
    assert secret.display == "https://genomes.example.org:8443/wb/ce.fa.gz"
    # a presigned URL whose signature changes still names the one entry
    assert secret.entry_name == plain.entry_name
    for leaked in ("reader", "hunter2", "abc123", "t0k", "frag", "Signature"):
        assert leaked not in secret.display + secret.entry_name
    assert "hunter2" in secret.url  # what is fetched keeps them


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://[::1]:8080/ce.fa.gz?sig=1", "http://[::1]:8080/ce.fa.gz"),
        ("s3://bucket/key/ce.fa.gz?versionId=3", "s3://bucket/key/ce.fa.gz"),
        ("https://u:p@[2001:db8::1]/ce.fa.gz", "https://[2001:db8::1]/ce.fa.gz"),
        ("http://[::1/ce.fa.gz", "<invalid URL>"),
        ("relative/ce.fa.gz", "relative/ce.fa.gz"),
    ],
)
def test_redact(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_the_index_of_a_presigned_url_keeps_its_query() -> None:
    location = parse_location("https://h.example.org/ce.fa.gz?sig=abc")
    fai = location.sibling(".fai")
    assert fai.url == "https://h.example.org/ce.fa.gz.fai?sig=abc"
    assert fai.display == "https://h.example.org/ce.fa.gz.fai"


def test_a_plain_path_is_an_absolute_file_url_that_names_the_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    odd = tmp_path / "a%20b?c#d.fa.gz"  # '%', '?' and '#' are legal in file names
    odd.write_bytes(b"x")
    location = parse_location(odd.name)
    assert location.scheme == "file"
    assert location.url.startswith(f"file://{tmp_path}/")
    assert Path(location.local_path) == odd and Path(location.local_path).read_bytes() == b"x"
    assert parse_location(f"file://{tmp_path}/ce.fa.gz").local_path == f"{tmp_path}/ce.fa.gz"


def test_only_local_locations_have_a_local_path() -> None:
    with pytest.raises(ValueError, match="not a local file"):
        parse_location("https://h.example.org/ce.fa.gz").local_path  # noqa: B018


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "empty genome URL"),
        ("   ", "empty genome URL"),
        ("ftp://h.example.org/ce.fa.gz", "unsupported URL scheme 'ftp' in ftp://h.example.org/ce.fa.gz"),
        ("http:///ce.fa.gz", "has no host"),
        ("s3:///ce.fa.gz", "has no host"),
        ("https://h.example.org/genomes/", "does not name a file"),
        ("https://h.example.org", "does not name a file"),
        ("http://h.example.org:port/ce.fa.gz", "is not a valid URL (host or port)"),
    ],
)
def test_unusable_urls_are_refused_with_one_line_naming_them(url: str, message: str) -> None:
    with pytest.raises(SourceError, match="^[^\n]+$") as raised:
        parse_location(url)
    assert message in str(raised.value)


def test_a_refused_url_shows_no_credentials() -> None:
    with pytest.raises(SourceError) as raised:
        parse_location("ftp://user:hunter2@h.example.org/ce.fa.gz?token=t0k")
    assert "hunter2" not in str(raised.value) and "t0k" not in str(raised.value)
    assert "ftp://h.example.org/ce.fa.gz" in str(raised.value)


@pytest.mark.parametrize(
    ("path", "basename"),
    [
        ("/../../etc/passwd", "passwd"),
        ("/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "_.._etc_passwd"),
        ("/.hidden.fa.gz", "hidden.fa.gz"),
        ("/%2e%2e", "genome"),
        ("/dir/ce%20v2.fa.gz", "ce_v2.fa.gz"),
    ],
)
def test_basenames_from_hostile_paths(path: str, basename: str) -> None:
    assert parse_location(f"http://h.example.org{path}").basename == basename


# pieces of hostile file names: dot segments, percent-encoded separators and NULs, any text
PIECES = st.sampled_from(["..", ".", "%2F", "%2f", "%2e", "%2E%2E", "%00", "%5C", "\\", "%", "~"]) | st.text(
    max_size=4
)


@given(st.lists(PIECES, min_size=1, max_size=12).map("".join).filter(lambda t: not {"/", "?", "#"} & set(t)))
def test_no_url_path_names_an_entry_outside_the_cache_folder(name: str) -> None:
    for url in (f"http://h.example.org/x/{name}", f"s3://bucket/{name}"):
        try:
            entry = parse_location(url).entry_name
        except SourceError:
            continue  # refused is safe
        assert "/" not in entry and os.sep not in entry and not entry.startswith(".")
        assert entry not in (".", "..") and "\x00" not in entry and "\\" not in entry
        root = Path("/cache/genomes")
        assert os.path.normpath(root / entry).startswith(f"{root}/")
