"""No secret from a genome URL anywhere: real Nextflow runs, grepped afterwards.

A URL with a password (``user:s3cr3tPW@``) and a presigned-style query
(``X-Amz-Signature``, ``X-Amz-Credential``) is fetched from the loopback server in a
successful run, a range-mode run and two failing runs (the genome missing; a request
with an unknown seq_id), each with ``-with-report -with-trace -with-timeline``. Then
every file under the launch folder (``.nextflow.log``, ``.nextflow/``, ``work/`` with its
``.command.*`` files, report, trace, timeline), the cache and the results, every file
name, and the console are searched for the secrets.

The only files allowed to hold a URL with its secrets are the ones that carry it to the
tasks: the payload as the pipeline collected it (``payload.json``) and CHECK_REQUESTS'
``urls/<entry>.url``; they must be readable by their owner only.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.support.httpserver import GenomeServer

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "s3cr3tPW"
SIGNATURE = "deadbeefsig0123456789abcdef"
CREDENTIAL = "AKIDSECRETCRED42"
TOKEN = "FwoGZXIvYXdzSECRETTOKEN"
SECRETS = [
    PASSWORD,
    SIGNATURE,
    CREDENTIAL,
    TOKEN,
    base64.b64encode(f"user:{PASSWORD}".encode()).decode(),  # the Basic auth header value
]
CARRIERS = ("payload.json", ".url")  # owner-only files that hand the URL to tasks

pytestmark = pytest.mark.slow


def secret_url(port: int, name: str = "ce.fa.gz") -> str:
    query = (
        f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={CREDENTIAL}%2F20261130%2Fus-east-1"
        f"&X-Amz-Security-Token={TOKEN}&X-Amz-Signature={SIGNATURE}"
    )
    return f"http://user:{PASSWORD}@127.0.0.1:{port}/{name}?{query}"


def nextflow(launch: Path, payload: Path, cache: Path, outdir: Path, *extra: str) -> tuple[int, str]:
    launch.mkdir(parents=True)
    cmd = [
        str(REPO / "scripts/nextflow"),
        "run",
        str(REPO / "main.nf"),
        "--input",
        str(payload),
        "--cacheDir",
        str(cache),
        "--outdir",
        str(outdir),
        "-ansi-log",
        "false",
        "-with-report",
        "report.html",
        "-with-trace",
        "trace.txt",
        "-with-timeline",
        "timeline.html",
        *extra,
    ]
    env = {
        **os.environ,
        "PATH": f"{REPO / '.venv/bin'}:{REPO / 'bin'}:{os.environ['PATH']}",
        "GENOMECACHE_RETRIES": "2",
        "GENOMECACHE_BACKOFF": "0.05",
    }
    result = subprocess.run(cmd, cwd=launch, env=env, capture_output=True, text=True, check=False)
    (launch.parent / f"{launch.name}.console").write_text(result.stdout + result.stderr)
    return result.returncode, result.stdout + result.stderr


def scan(roots: list[Path]) -> tuple[int, list[str], list[str]]:
    """Files searched, files with a secret that are not owner-only carriers, carriers seen."""
    searched, leaks, carriers = 0, [], []
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                if any(secret in name for secret in SECRETS):
                    leaks.append(f"file name {Path(dirpath, name)}")
            for name in filenames:
                path = Path(dirpath, name)
                if path.is_symlink():  # a staged input: the file it points to is searched where it is
                    continue
                searched += 1
                data = path.read_bytes()
                found = [s for s in SECRETS if s.encode() in data]
                if not found:
                    continue
                mode = stat.S_IMODE(path.stat().st_mode)
                if name.endswith(CARRIERS) and mode & 0o077 == 0:
                    carriers.append(str(path))
                else:
                    leaks.append(f"{path} (mode {mode:o}): {', '.join(found)}")
    return searched, leaks, carriers


def test_no_secret_in_any_file_or_output(tmp_path: Path) -> None:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Nextflow needs Java")
    served = tmp_path / "served"
    served.mkdir()
    for suffix in ("", ".fai", ".gzi"):
        shutil.copy(REPO / f"assets/genome/ce.fa.gz{suffix}", served)
    requests = json.loads((REPO / "assets/requests.json").read_text())
    inputs = tmp_path / "inputs"  # the user's own payload: outside every folder searched
    inputs.mkdir()
    runs = tmp_path / "runs"
    with GenomeServer(served) as server:
        good = inputs / "good.json"
        good.write_text(json.dumps([{**r, "fasta_file_url": secret_url(server.port)} for r in requests]))
        missing = inputs / "missing.json"
        missing.write_text(
            json.dumps([{**r, "fasta_file_url": secret_url(server.port, "gone.fa.gz")} for r in requests])
        )
        bad_seq = inputs / "bad_seq.json"
        bad_seq.write_text(
            json.dumps(
                [{**r, "fasta_file_url": secret_url(server.port)} for r in requests[:3]]
                + [{**requests[3], "fasta_file_url": secret_url(server.port), "seq_id": "chrZ"}]
            )
        )
        codes = {
            "success": nextflow(runs / "success", good, tmp_path / "cache", tmp_path / "results-success"),
            "range": nextflow(
                runs / "range",
                good,
                tmp_path / "cache-range",
                tmp_path / "results-range",
                "--access",
                "range",
            ),
            "missing": nextflow(runs / "missing", missing, tmp_path / "cache", tmp_path / "results-missing"),
            "bad_seq": nextflow(runs / "bad_seq", bad_seq, tmp_path / "cache-bad", tmp_path / "results-bad"),
        }
        log = list(server.log)
    assert codes["success"][0] == 0, codes["success"][1]
    assert codes["range"][0] == 0, codes["range"][1]
    assert codes["missing"][0] != 0 and "ERROR" in codes["missing"][1]
    assert codes["bad_seq"][0] != 0 and "chrZ" in codes["bad_seq"][1]
    # the secrets really travelled: the server got Basic auth and the signed query
    genome_gets = [e for e in log if e["path"] == "/ce.fa.gz" and e["method"] == "GET"]
    assert genome_gets and all(e["auth"] and e["query"] for e in genome_gets)
    assert (tmp_path / "results-success/sequences/CE_TX1-protein.fa").exists()
    assert (tmp_path / "results-range/sequences/CE_TX1-protein.fa").exists()

    control = tmp_path / "control"  # the scan itself finds a planted secret and a careless carrier
    control.mkdir()
    (control / ".command.sh").write_text(f"fetch '{secret_url(1)}'\n")
    (control / "x.url").write_text(secret_url(1))
    (control / "x.url").chmod(0o644)
    assert len(scan([control])[1]) == 2

    roots = [runs, *(p for p in tmp_path.iterdir() if p.name.startswith(("cache", "results")))]
    searched, leaks, carriers = scan(roots)
    console_hits = [(name, s) for name, (_, out) in codes.items() for s in SECRETS if s in out]
    print(f"searched {searched} files and 4 consoles; {len(carriers)} owner-only carriers: {carriers}")
    assert searched > 100  # the work folders, logs and reports were really there
    assert console_hits == []
    assert leaks == []
    assert any(c.endswith(".url") for c in carriers)
