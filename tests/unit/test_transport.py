"""genomecache.transport against the fault-injecting loopback server (tests/support/httpserver.py):
each fault on the wire either heals (an exact Range resume, the same bytes as the source) or fails
with one line naming the URL; retries back off exponentially by the policy read from the
environment when used; 429's Retry-After is honoured; what cannot heal is asked once."""

from __future__ import annotations

import base64
import re
import threading
from pathlib import Path

import pytest

from genomecache.cache import GenomeCache
from genomecache.errors import SourceError
from genomecache.transport import MAX_REDIRECTS, RetryPolicy
from tests.conftest import FAST_ENV, GENOME, no_partial_downloads, published, run, serving, settle
from tests.support.digests import sha256
from tests.support.httpserver import MISCOUNT
from tests.support.scripts import run_script


def gaps(entries: list[dict]) -> list[float]:
    """Seconds between the starts of consecutive logged requests."""
    times = sorted(e["time"] for e in entries)
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def nothing_published(cache: GenomeCache) -> bool:
    """No entry under a final name (a partial under ``.partial-*`` is kept to resume)."""
    return published(cache.root) == [] and cache.entries() == []


# --- wrong lengths --------------------------------------------------------------------------------


def test_a_content_length_larger_than_the_body_is_not_trusted(cache, server, genome_dir):
    """The whole body under a Content-Length promising more: the bytes the HEAD's size asks
    for are all there, so nothing is asked again, and what is cached is the source's file."""
    size = (genome_dir / GENOME).stat().st_size
    server.faults[f"/{GENOME}"].append("overstated")

    got = cache.ensure(server.url(GENOME))

    [get] = settle(server).gets(GENOME)
    assert (get["fault"], get["range"], get["bytes"]) == ("overstated", None, size)
    assert sha256(Path(got.fasta)) == sha256(genome_dir / GENOME)


def test_a_content_length_smaller_than_the_body_is_resumed_where_it_said_it_ended(cache, server, genome_dir):
    """The body under a Content-Length MISCOUNT bytes short: the client reads what was promised,
    sees fewer than the file's size and asks for exactly the rest (the surplus on the wire is
    never taken for the next answer)."""
    size = (genome_dir / GENOME).stat().st_size
    server.faults[f"/{GENOME}"].append("understated")

    got = cache.ensure(server.url(GENOME))

    first, second = settle(server).gets(GENOME)
    assert first["fault"] == "understated" and first["range"] is None
    assert (second["range"], second["status"]) == (f"bytes={size - MISCOUNT}-{size - 1}", 206)
    assert got.bytes_downloaded == size
    assert sha256(Path(got.fasta)) == sha256(genome_dir / GENOME)


# --- status answers -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_5xx_answer_is_retried_and_the_download_completes(cache, server, genome_dir, status):
    server.faults[f"/{GENOME}"].append(str(status))

    got = cache.ensure(server.url(GENOME))

    assert [(e["status"], e["range"]) for e in settle(server).gets(GENOME)] == [(status, None), (200, None)]
    assert sha256(Path(got.fasta)) == sha256(genome_dir / GENOME)


def test_429_waits_as_long_as_retry_after_says(cache_root, server, genome_dir):
    """Retry-After: 1 against a 10 ms backoff: the next request comes a second later, not at once."""
    cache = GenomeCache(cache_root, policy=RetryPolicy(attempts=3, backoff=0.01, timeout=5), progress=False)
    server.retry_after = 1
    server.faults[f"/{GENOME}"].append("429")

    got = cache.ensure(server.url(GENOME))

    log = settle(server).gets(GENOME)
    assert [e["status"] for e in log] == [429, 200]
    [gap] = gaps(log)
    assert gap >= 0.95, f"asked again after {gap:.2f} s, before Retry-After's 1 s"
    assert sha256(Path(got.fasta)) == sha256(genome_dir / GENOME)


def test_a_retry_after_of_an_hour_waits_no_longer_than_the_longest_backoff(cache_root, server, genome_dir):
    """A server asking for an hour's pause does not hang the task for an hour (urllib3 alone
    would wait up to 6 h): the wait is cut to the policy's longest backoff."""
    policy = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.5, timeout=5)
    cache = GenomeCache(cache_root, policy=policy, progress=False)
    server.retry_after = 3600
    server.faults[f"/{GENOME}"].append("429")
    done: list[str] = []
    worker = threading.Thread(target=lambda: done.append(cache.ensure(server.url(GENOME)).fasta), daemon=True)

    worker.start()
    worker.join(timeout=10)

    assert done, "still waiting after 10 s"
    log = settle(server).gets(GENOME)
    assert [e["status"] for e in log] == [429, 200]
    assert 0.45 <= gaps(log)[0] < 3
    assert sha256(Path(done[0])) == sha256(genome_dir / GENOME)


# --- backoff and the retry policy ------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["503", "short"])
def test_retries_back_off_exponentially(cache_root, server, genome_dir, fault, monkeypatch):
    """4 failures then success, 5 attempts by default: the gaps between attempts grow (urllib3's
    status retries wait 0, b, 2b, 4b; body retries b, 2b, 4b, 8b, plus up to b/2 jitter)."""
    monkeypatch.delenv("GENOMECACHE_RETRIES")
    monkeypatch.setenv("GENOMECACHE_BACKOFF", "0.1")
    cache = GenomeCache(cache_root, progress=False)  # the policy comes from the environment
    server.faults[f"/{GENOME}"] += [fault] * 4

    got = cache.ensure(server.url(GENOME))

    log = settle(server).gets(GENOME)
    assert len(log) == 5 and [e["fault"] for e in log] == [fault] * 4 + [None]
    waits = gaps(log)
    for before, after in zip(waits[1:], waits[2:], strict=False):
        assert after >= 1.25 * before, f"gaps between attempts do not grow: {waits}"
    assert waits[-1] >= 0.35, f"the 4th retry waited {waits[-1]:.2f} s, not 4 to 8 x 0.1 s"
    assert sha256(Path(got.fasta)) == sha256(genome_dir / GENOME)


def test_retry_defaults_are_five_attempts_and_one_line_when_spent(cache_root, server, monkeypatch):
    for name in FAST_ENV:
        monkeypatch.delenv(name)
    default = RetryPolicy()
    assert (default.attempts, default.backoff, default.timeout) == (5, 1.0, 60.0)
    monkeypatch.setenv("GENOMECACHE_BACKOFF", "0.01")
    cache = GenomeCache(cache_root, progress=False)
    server.faults[f"/{GENOME}"] += ["503"] * 6

    with pytest.raises(SourceError) as raised:
        cache.ensure(server.url(GENOME))

    assert str(raised.value) == f"{server.url(GENOME)}: HTTP 503 (gave up after 5 attempts)"
    assert len(settle(server).gets(GENOME)) == 5
    assert nothing_published(cache)


def test_the_retry_settings_are_read_when_used_not_at_import(cache_root, genome_dir, monkeypatch):
    """genomecache was imported long before: changing the variables now changes what happens."""
    with serving(genome_dir, slow_seconds=1) as httpd:
        httpd.faults[f"/{GENOME}"] += ["503"] * 10
        for attempts in (2, 4):
            monkeypatch.setenv("GENOMECACHE_RETRIES", str(attempts))
            before = len(httpd.gets(GENOME))
            with pytest.raises(SourceError, match=rf"gave up after {attempts} attempts"):
                GenomeCache(cache_root, progress=False).ensure(httpd.url(GENOME))
            assert len(settle(httpd).gets(GENOME)) - before == attempts
        httpd.faults[f"/{GENOME}"].clear()

        monkeypatch.setenv("GENOMECACHE_RETRIES", "1")
        monkeypatch.setenv("GENOMECACHE_TIMEOUT", "0.3")  # shorter than the server's 1 s stall
        httpd.faults[f"/{GENOME}"].append("slow")
        with pytest.raises(SourceError, match="timed out"):
            GenomeCache(cache_root, progress=False).ensure(httpd.url(GENOME))

        monkeypatch.setenv("GENOMECACHE_TIMEOUT", "5")  # longer: the same stall is waited out
        httpd.faults[f"/{GENOME}"].append("slow")
        got = GenomeCache(cache_root, progress=False).ensure(httpd.url(GENOME))
        assert sha256(Path(got.fasta)) == sha256(genome_dir / GENOME)
        assert [e["fault"] for e in settle(httpd).gets(GENOME)][-2:] == ["slow", "slow"]


# --- redirects ------------------------------------------------------------------------------------


def test_a_redirect_loop_stops_after_five_hops_with_one_line(cache, server):
    server.redirects["/a.fa.gz"] = (302, "/b.fa.gz")
    server.redirects["/b.fa.gz"] = (302, "/a.fa.gz")

    with pytest.raises(SourceError) as raised:
        cache.ensure(server.url("a.fa.gz"))

    assert str(raised.value) == f"{server.url('a.fa.gz')}: more than {MAX_REDIRECTS} redirects; giving up"
    assert MAX_REDIRECTS == 5
    hops = [e["path"] for e in settle(server).log]
    assert hops == ["/a.fa.gz", "/b.fa.gz"] * 3, "the first request and 5 redirects followed, no more"
    assert nothing_published(cache)


def test_credentials_in_the_url_are_sent_as_basic_auth(cache, server, genome_dir):
    base = server.httpd.RequestHandlerClass
    expected = "Basic " + base64.b64encode(b"reader:s3cr%t").decode()
    seen: list[str | None] = []

    class NeedsAuth(base):  # type: ignore[misc, valid-type]
        def _serve(self, head: bool) -> None:
            seen.append(self.headers.get("Authorization"))
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="genomes"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            super()._serve(head)

    server.httpd.RequestHandlerClass = NeedsAuth
    url = server.url(GENOME).replace("127.0.0.1", "reader:s3cr%25t@127.0.0.1")

    got = cache.ensure(url)

    assert sha256(Path(got.fasta)) == sha256(genome_dir / GENOME)
    assert seen and set(seen) == {expected}
    assert got.url == server.url(GENOME)


def test_a_redirected_genome_is_sent_once(cache, server, genome_dir):
    """HEAD stays HEAD across a redirect, and the body is fetched once, from where it led."""
    size = (genome_dir / GENOME).stat().st_size
    server.redirects["/moved/ce.fa.gz"] = (301, f"/{GENOME}")

    got = cache.ensure(server.url("moved/ce.fa.gz"))

    assert Path(got.fasta).read_bytes() == (genome_dir / GENOME).read_bytes()
    log = settle(server).log
    moved = [(e["method"], e["status"]) for e in log if e["path"] == "/moved/ce.fa.gz"]
    assert moved == [("HEAD", 301)], "one probe of the old URL; the download goes straight to the new one"
    assert [(e["method"], e["status"], e["bytes"]) for e in log if e["path"] == f"/{GENOME}"] == [
        ("HEAD", 200, 0),
        ("GET", 200, size),
    ]


@pytest.mark.parametrize("target", ["ftp://127.0.0.1/ce.fa.gz", "file:///etc/passwd", "gopher://x/y"])
def test_a_redirect_to_another_scheme_is_refused(cache, server, target):
    server.redirects["/away.fa.gz"] = (302, target)

    with pytest.raises(SourceError, match=r"away\.fa\.gz: redirected to .*only http and https"):
        cache.ensure(server.url("away.fa.gz"))

    assert [(e["method"], e["path"]) for e in settle(server).log] == [("HEAD", "/away.fa.gz")]
    assert published(cache.root) == [] and no_partial_downloads(cache)


def test_credentials_do_not_follow_a_redirect_to_another_host(cache, server, genome_dir):
    server.redirects["/private/ce.fa.gz"] = (302, f"http://localhost:{server.port}/{GENOME}")
    url = server.url("private/ce.fa.gz").replace("127.0.0.1", "reader:pw@127.0.0.1")

    got = cache.ensure(url)

    assert Path(got.fasta).read_bytes() == (genome_dir / GENOME).read_bytes()
    log = settle(server).log
    assert [e["auth"] for e in log if e["path"] == "/private/ce.fa.gz"] == [True]
    assert [e["auth"] for e in log if e["path"] == f"/{GENOME}"] == [False, False]


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[str, str]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    run(
        "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
        "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert,
    )  # fmt: skip
    return str(cert), str(key)


def test_https_is_never_downgraded_to_http(cache, server, genome_dir, tls_files, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", tls_files[0])  # trust the test certificate
    with serving(genome_dir, tls=tls_files) as secure:
        secure.redirects["/down.fa.gz"] = (302, server.url(GENOME))
        secure.redirects["/up.fa.gz"] = (302, f"https://127.0.0.1:{secure.port}/{GENOME}")

        with pytest.raises(SourceError, match=r"redirected from https to http"):
            cache.ensure(secure.url("down.fa.gz"))
        assert settle(server).log == [], "the http URL was never asked"

        got = cache.ensure(secure.url("up.fa.gz"))  # https -> https is fine
        assert Path(got.fasta).read_bytes() == (genome_dir / GENOME).read_bytes()


# --- what cannot heal is asked once; logs never carry secrets ---------------------------------


def test_an_unknown_host_is_not_retried(cache, caplog):
    caplog.set_level("DEBUG")
    with pytest.raises(SourceError, match=r"genome\.invalid/.*: unknown host"):
        cache.ensure("http://genome.invalid/ce.fa.gz")
    assert "Retrying" not in caplog.text and "retry" not in caplog.text.lower()
    assert published(cache.root) == [] and no_partial_downloads(cache)


def test_403_is_not_retried(cache, server):
    server.answers[f"/{GENOME}"] = 403
    with pytest.raises(SourceError, match=r"ce\.fa\.gz: HTTP 403"):
        cache.ensure(server.url(GENOME))
    # HEAD refused (as for presigned URLs), then one GET: neither repeated
    assert [(e["method"], e["status"]) for e in settle(server).log] == [("HEAD", 403), ("GET", 403)]


def test_retries_logged_by_urllib3_carry_no_signature(cache, server, genome_dir, caplog):
    caplog.set_level("DEBUG")
    server.faults[f"/{GENOME}"] += ["503", "reset"]
    url = server.url(GENOME) + "?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=SECRET-ab12"
    got = cache.ensure(url.replace("127.0.0.1", "user:PASSWORD-9@127.0.0.1"))
    assert Path(got.fasta).read_bytes() == (genome_dir / GENOME).read_bytes()
    assert any(r.name.startswith("urllib3") for r in caplog.records), "urllib3 logged its requests"
    assert "?<redacted>" in caplog.text, "the query was logged, redacted"
    for secret in ("SECRET-ab12", "AKIAEXAMPLE", "PASSWORD-9"):
        assert secret not in caplog.text


# --- what the user sees: one line naming the URL, no traceback, no secret -------------------------


SECRETS = ("PASSW0RD", "SIGSECRET")


@pytest.mark.parametrize(
    ("case", "expected", "requests"),
    [
        ("404", r"nope\.fa\.gz: not found \(HTTP 404\)", [("HEAD", 404)]),
        ("403", r"private\.fa\.gz: HTTP 403 Forbidden", [("HEAD", 403), ("GET", 403)]),
        ("loop", r"a\.fa\.gz: more than 5 redirects; giving up", [("HEAD", 302)] * 6),
        ("503", r"ce\.fa\.gz: HTTP 503 \(gave up after 3 attempts\)", [("HEAD", 200)] + [("GET", 503)] * 3),
        ("reset", r"ce\.fa\.gz: connection lost mid-body \(\[Errno \d+\] Connection reset by peer\) "
                  r"\(gave up after 3 attempts\)", [("HEAD", 200)] + [("GET", 200)] * 3),
        ("unknown host", r"http://genome\.invalid/ce\.fa\.gz: unknown host", []),
    ],
)  # fmt: skip
def test_a_failed_fetch_is_one_line_naming_the_url(tmp_path, server, case, expected, requests):
    """bin/genome_cache.py fetch, as the pipeline runs it, with a password and a signature in
    the URL: exit 1, one ERROR line naming the URL without them, no traceback, nothing cached;
    404, 403, a redirect loop and an unknown host are asked once (3 attempts: FAST_ENV)."""
    name = {"404": "nope.fa.gz", "403": "private.fa.gz", "loop": "a.fa.gz"}.get(case, GENOME)
    server.answers["/private.fa.gz"] = 403
    server.redirects["/a.fa.gz"] = (302, "/b.fa.gz")
    server.redirects["/b.fa.gz"] = (302, "/a.fa.gz")
    if case in ("503", "reset"):
        server.faults[f"/{GENOME}"] += [case] * 3
    url = server.url(name) if case != "unknown host" else f"http://genome.invalid/{GENOME}"
    secret_url = url.replace("://", "://reader:PASSW0RD@") + "?X-Amz-Signature=SIGSECRET"

    result = run_script("genome_cache.py", "--cache-dir", tmp_path / "cache", "fetch", secret_url, timeout=60)

    assert result.returncode == 1 and result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if not line.startswith(("INFO ", "WARNING "))]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(f"ERROR {url}: ")
    assert re.search(expected, errors[0]), errors[0]
    assert "Traceback" not in result.stderr
    for secret in SECRETS:
        assert secret not in result.stderr
    body = [e for e in settle(server).log if not e["path"].endswith((".fai", ".gzi"))]  # not the indexes
    assert [(e["method"], e["status"]) for e in body] == requests
    assert published(tmp_path / "cache") == []
