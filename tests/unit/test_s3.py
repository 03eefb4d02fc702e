"""s3:// sources against moto's standalone S3 server on loopback (real HTTP, real botocore)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from genomecache.errors import IntegrityError, SourceError
from genomecache.locations import parse_location
from tests.conftest import ASSETS, GENOME, published
from tests.support.digests import sha256

moto_server = pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")

PRIVATE, PUBLIC = "private-genomes", "public-genomes"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """One moto server for the module, holding the genome in a private and a public bucket."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    s3 = boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for bucket in (PRIVATE, PUBLIC):
        s3.create_bucket(Bucket=bucket)
    for suffix in ("", ".fai", ".gzi"):
        body = (ASSETS / f"{GENOME}{suffix}").read_bytes()
        s3.put_object(Bucket=PRIVATE, Key=f"fasta/{GENOME}{suffix}", Body=body)
        # in the public bucket the FASTA is world-readable but its .fai is not: like S3's 403
        # for a key you may not list, a failing optional index must not fail the fetch
        acl = "private" if suffix == ".fai" else "public-read"
        s3.put_object(Bucket=PUBLIC, Key=f"fasta/{GENOME}{suffix}", Body=body, ACL=acl)
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture
def s3env(endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """The environment a job would have: endpoint, region, credentials; no AWS config files or IMDS."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("GENOMECACHE_S3_ANONYMOUS", raising=False)
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    return endpoint


@pytest.fixture
def anonymous(s3env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIALS:
        monkeypatch.delenv(name, raising=False)


GENOME_BYTES = (ASSETS / GENOME).read_bytes()


def test_credentialed_fetch_uses_the_source_indexes_and_the_etag(s3env, cache):
    url = f"s3://{PRIVATE}/fasta/{GENOME}"

    got = cache.ensure(url)

    assert got.source == "network"
    assert sha256(Path(got.fasta).read_bytes()) == sha256(GENOME_BYTES)
    record = json.loads((Path(got.fasta).parent / "entry.json").read_text())
    assert record["indexes"] == "downloaded"
    assert record["source_etag"].strip('"') == hashlib.md5(GENOME_BYTES).hexdigest()  # single-part upload
    assert Path(f"{got.fasta}.gzi").read_bytes() == (ASSETS / f"{GENOME}.gzi").read_bytes()
    assert cache.ensure(url).source == "cache"


def test_anonymous_fetch_of_a_public_genome_builds_an_index_it_may_not_read(anonymous, cache):
    got = cache.ensure(f"s3://{PUBLIC}/fasta/{GENOME}")

    assert sha256(Path(got.fasta).read_bytes()) == sha256(GENOME_BYTES)
    assert json.loads((Path(got.fasta).parent / "entry.json").read_text())["indexes"] == "built"
    assert Path(f"{got.fasta}.fai").read_bytes() == (ASSETS / f"{GENOME}.fai").read_bytes()


def test_anonymous_flag_skips_credentials(s3env, cache, monkeypatch):
    monkeypatch.setenv("GENOMECACHE_S3_ANONYMOUS", "1")
    with pytest.raises(SourceError, match="403|AccessDenied"):  # unsigned: the private bucket refuses
        cache.ensure(f"s3://{PRIVATE}/fasta/{GENOME}")
    assert published(cache.root) == []
    assert cache.ensure(f"s3://{PUBLIC}/fasta/{GENOME}").source == "network"


def test_missing_key_is_a_clear_error(s3env, cache):
    with pytest.raises(SourceError, match=rf"s3://{PRIVATE}/fasta/nope.fa.gz: not found"):
        cache.ensure(f"s3://{PRIVATE}/fasta/nope.fa.gz")
    assert published(cache.root) == []
    assert cache.status()["partial_downloads"] == []


def stage_partial(cache, url: str, data: bytes) -> Path:  # type: ignore[no-untyped-def]
    """What a killed download leaves: the bytes so far and what the source said about the file."""
    s3 = boto3.client("s3")
    head = s3.head_object(Bucket=PRIVATE, Key=f"fasta/{GENOME}")
    staging = cache.genomes / f".partial-{parse_location(url).entry_name}"
    staging.mkdir(parents=True)
    (staging / "download").write_bytes(data)
    (staging / "download.json").write_text(json.dumps({"size": head["ContentLength"], "etag": head["ETag"]}))
    return staging


def test_interrupted_download_resumes_with_a_ranged_get(s3env, cache):
    url = f"s3://{PRIVATE}/fasta/{GENOME}"
    stage_partial(cache, url, GENOME_BYTES[:100_000])

    got = cache.ensure(url)

    assert got.bytes_downloaded == len(GENOME_BYTES) - 100_000  # only the rest crossed the network
    assert sha256(Path(got.fasta).read_bytes()) == sha256(GENOME_BYTES)
    assert list(cache.genomes.glob(".partial-*")) == []


def test_etag_md5_catches_bad_bytes_and_nothing_is_published(s3env, cache):
    url = f"s3://{PRIVATE}/fasta/{GENOME}"
    damaged = bytearray(GENOME_BYTES[:100_000])
    damaged[50_000] ^= 0xFF
    staging = stage_partial(cache, url, bytes(damaged))

    with pytest.raises(IntegrityError, match="MD5 does not match the S3 ETag"):
        cache.ensure(url)

    assert published(cache.root) == []
    assert not staging.exists()  # never resumed from bad bytes
    got = cache.ensure(url)
    assert got.bytes_downloaded == len(GENOME_BYTES)
    assert sha256(Path(got.fasta).read_bytes()) == sha256(GENOME_BYTES)
