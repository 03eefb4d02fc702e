#!/usr/bin/env python3
"""Pipeline scenarios against a real loopback HTTP server that logs every request.

Run from a pytest-workflow test folder (a copy of the repository):
``scenario.py twice`` runs the embedded requests over HTTP twice on one cache, then a third
time with DOWNLOAD_GENOMES' storeDir disabled (``-c tests/workflow/no_storedir.config``, as
``-profile aws`` runs it);
``scenario.py concurrent`` runs two pipelines at once on one cold cache;
``scenario.py range`` runs once with ``--access range``;
``scenario.py msa`` runs ``-entry PROTEIN_MSA`` on the embedded requests with a variant on a
plus- and a minus-strand transcript, answered by a loopback variant API.
Each writes the server's request log to ``requests-<run>.json`` for the checks.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))
from tests.support.httpserver import GenomeServer  # noqa: E402
from tests.support.variant_api import FakeVariantApi  # noqa: E402

HERE = Path.cwd()


def payload(url: str) -> Path:
    requests = json.loads((HERE / "assets/requests.json").read_text())
    for request in requests:
        request["fasta_file_url"] = url
    path = HERE / "http-requests.json"
    path.write_text(json.dumps(requests))
    return path


def nextflow(name: str, input_path: Path, cwd: Path, *extra: str) -> int:
    cwd.mkdir(exist_ok=True)
    cmd = [
        "nextflow",
        "run",
        str(HERE / "main.nf"),
        "--input",
        str(input_path),
        "--cacheDir",
        str(HERE / "cache"),
        "--outdir",
        str(HERE / f"results-{name}"),
        "-ansi-log",
        "false",
        *extra,
    ]
    with open(HERE / f"{name}.log", "w") as log:
        return subprocess.run(cmd, check=False, cwd=cwd, stdout=log, stderr=subprocess.STDOUT).returncode


# (request, variant id, CHROMOSOME_I position, alternative base): SNVs inside the coding
# regions of a plus- (CE_TX1) and a minus-strand (CE_TX2) transcript; alleles are plus-strand
MSA_VARIANTS = [("CE_TX1", "TEST:snv_plus", 321000, "T"), ("CE_TX2", "TEST:snv_minus", 876500, "A")]


def msa() -> int:
    """PROTEIN_MSA with variants; the payload and the variants are kept for the checks."""
    requests = json.loads((HERE / "assets/requests.json").read_text())
    by_id = {r["unique_entry_id"]: r for r in requests}
    variants = []
    with FakeVariantApi() as api:
        for request_id, variant_id, pos, alt in MSA_VARIANTS:
            region = f"CHROMOSOME_I:{pos}-{pos}"
            out = subprocess.run(
                ["samtools", "faidx", "assets/genome/ce.fa.gz", region],
                check=True,
                capture_output=True,
                text=True,
            )
            ref = out.stdout.splitlines()[1].upper()
            assert ref != alt, f"{variant_id}: pick another alternative base"
            api.add(variant_id, "CHROMOSOME_I", pos, pos, ref, alt)
            by_id[request_id]["variant_ids"] = [variant_id]
            variants.append({"request": request_id, "id": variant_id, "pos": pos, "ref": ref, "alt": alt})
        for request in requests:
            request["fasta_file_url"] = str(HERE / "assets" / request["fasta_file_url"])
        path = HERE / "msa-requests.json"
        path.write_text(json.dumps(requests, indent=1))
        (HERE / "msa-variants.json").write_text(json.dumps(variants, indent=1))
        cmd = ["nextflow", "run", "main.nf", "-entry", "PROTEIN_MSA", "--input", str(path)]
        cmd += [
            "--variantApi",
            api.base_url,
            "--cacheDir",
            "cache",
            "--outdir",
            "results",
            "-ansi-log",
            "false",
        ]
        code = subprocess.run(cmd, check=False, cwd=HERE).returncode
        (HERE / "variant-api-calls.json").write_text(json.dumps(api.log))
    return code


def main(mode: str) -> int:
    if mode == "msa":
        return msa()
    served = HERE / "served"
    served.mkdir()
    for suffix in ("", ".fai", ".gzi"):
        shutil.copy(HERE / f"assets/genome/ce.fa.gz{suffix}", served)
    # throttled so that concurrent runs overlap for seconds, not milliseconds
    with GenomeServer(served, throttle=40_000 if mode == "concurrent" else 0) as server:
        url = server.url("ce.fa.gz")
        path = payload(url)
        if mode == "twice":
            codes = []
            # relative: nextflow splits -c at commas, and the test folder's name has one
            no_store = ["-c", "../tests/workflow/no_storedir.config"]
            for name, extra in (("run1", []), ("run2", []), ("run3", no_store)):
                start = len(server.log)
                codes.append(nextflow(name, path, HERE / name, *extra))
                (HERE / f"requests-{name}.json").write_text(json.dumps(server.log[start:]))
        elif mode == "range":
            codes = [nextflow("range", path, HERE / "range", "--access", "range")]
            (HERE / "requests-range.json").write_text(json.dumps(server.log))
        else:
            with ThreadPoolExecutor(2) as pool:
                codes = list(pool.map(lambda name: nextflow(name, path, HERE / name), ["runA", "runB"]))
            (HERE / "requests-concurrent.json").write_text(json.dumps(server.log))
    return max(codes)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
