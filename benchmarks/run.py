#!/usr/bin/env python3
"""Measure the genome cache against PAVI's per-task downloads: one command.

    .venv/bin/python benchmarks/run.py            # full run (~260 MB genome), writes
                                                  # benchmarks/RESULTS.md and results.png
    .venv/bin/python benchmarks/run.py --quick    # ~2 min smoke run (~31 MB genome), writes
                                                  # benchmarks/out/quick/RESULTS.md and .png

Modes, each on PAVI-like jobs of 5, 20 and 100 requests over 1 and 3 genomes:
(a) PAVI's way, every task downloads genome + indexes itself; (b) Nextflow's own
staging of a remote `path` input; (c) this cache, cold; (d) this cache, warm;
(e) range mode, cold. See benchmarks/README.md for the method.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import measure  # noqa: E402
import report  # noqa: E402
import synth  # noqa: E402
from measure import ROOT, Run, Server  # noqa: E402

from genomecache.cache import GenomeCache  # noqa: E402
from genomecache.requests import parse_request  # noqa: E402
from genomecache.retrieval import Genome, retrieve  # noqa: E402

OUT = BENCH / "out"
GENOMES = ("g1.fa.gz", "g2.fa.gz", "g3.fa.gz")
ALL_MODES = "abcde"


@dataclass(frozen=True)
class Profile:
    name: str
    scale: float  # of synth.CHROMOSOMES
    jobs: tuple[tuple[int, int], ...]  # (requests, genomes)
    measured_a: tuple[tuple[int, int], ...]  # jobs on which (a) really runs; the rest extrapolated


FULL = Profile("full", 1.0, ((5, 1), (20, 1), (100, 1), (5, 3), (20, 3), (100, 3)), ((5, 1), (5, 3)))
QUICK = Profile("quick", 0.125, ((5, 1), (20, 3)), ((5, 1),))


def log(message: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", flush=True)


def ensure_genome(profile: Profile) -> Path:
    genome = OUT / f"genome-{profile.name}" / "genome.fa.gz"
    if all(Path(f"{genome}{s}").exists() for s in ("", ".fai", ".gzi")):
        log(f"genome: reusing {genome.relative_to(ROOT)} ({report.human(genome.stat().st_size)})")
    else:
        log(f"genome: generating {genome.relative_to(ROOT)} (once; reused by later runs)")
        took = synth.make_genome(genome, profile.scale)
        log(f"genome: {report.human(genome.stat().st_size)} BGZF in {took:.0f} s")
    return genome


def serve_dir(genome: Path, where: Path) -> Path:
    """g1/g2/g3.fa.gz (+ .fai, .gzi): hard links of one genome under three names (three URLs)."""
    where.mkdir(parents=True, exist_ok=True)
    for name in GENOMES:
        for suffix in ("", ".fai", ".gzi"):
            link = where / f"{name}{suffix}"
            link.unlink(missing_ok=True)
            os.link(f"{genome}{suffix}", link)
    return where


def genome_facts(genome: Path) -> dict:
    rows = [line.split("\t") for line in Path(f"{genome}.fai").read_text().splitlines()]
    return {
        "bases": sum(int(r[1]) for r in rows),
        "sequences": len(rows),
        "bgzf_bytes": genome.stat().st_size,
        "fai_bytes": Path(f"{genome}.fai").stat().st_size,
        "gzi_bytes": Path(f"{genome}.gzi").stat().st_size,
    }


def environment() -> dict:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    try:
        version = (ROOT / "scripts/NEXTFLOW_VERSION").read_text().strip()
    except OSError:
        version = "?"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory,
        "os": f"{platform.system()} {platform.release()}",
        "nextflow": version,
        "python": platform.python_version(),
    }


def range_cli_available() -> bool:
    helps = subprocess.run(
        [sys.executable, str(ROOT / "bin/seq_retrieval.py"), "--help"], capture_output=True, text=True
    ).stdout
    return "--access" in helps


# --- the modes ---------------------------------------------------------------------------


def run_pavi(run: Run, server: Server, payload: Path, where: Path) -> Run:
    """(a): benchmarks/pavi.nf, every task fetches into a private cache and deletes it."""
    args = ["--input", str(payload), "--outdir", str(where / "results")]
    measure.measure(run, server, [where], lambda: measure.nextflow(BENCH / "pavi.nf", where, args))
    run.tasks = measure.trace_seconds(where, "PAVI_RETRIEVAL")
    return run


def run_staging(run: Run, server: Server, payload: Path, where: Path) -> Run:
    """(b): benchmarks/staging.nf, genome + indexes as remote `path` inputs staged by Nextflow."""
    args = ["--input", str(payload), "--outdir", str(where / "results")]
    measure.measure(run, server, [where], lambda: measure.nextflow(BENCH / "staging.nf", where, args))
    run.tasks = measure.trace_seconds(where, "STAGED_RETRIEVAL")
    return run


def run_cache(run: Run, server: Server, payload: Path, where: Path, cache: Path, extra: list[str]) -> Run:
    """(c), (d), (e): main.nf with --cacheDir ``cache``."""
    args = ["--input", str(payload), "--cacheDir", str(cache), "--outdir", str(where / "results"), *extra]
    measure.measure(run, server, [where, cache], lambda: measure.nextflow(ROOT / "main.nf", where, args))
    run.tasks = measure.trace_seconds(where, "SEQUENCE_RETRIEVAL")
    return run


def run_range_cli(run: Run, server: Server, payload: Path, where: Path) -> Run:
    """(e'): ``bin/seq_retrieval.py --access range`` per request, no Nextflow, one shared fresh cache.

    Only run while the pipeline does not pass ``--access`` on: it shows what range
    mode itself fetches, two requests at a time as the pipeline's tasks would.
    """
    where.mkdir(parents=True, exist_ok=True)
    cache = where / "cache"

    def one(request: dict) -> float:
        cmd = [sys.executable, str(ROOT / "bin/seq_retrieval.py"), "--output_type", "protein"]
        cmd += ["--unique_entry_id", request["unique_entry_id"], "--base_seq_name", request["base_seq_name"]]
        cmd += ["--seq_id", request["seq_id"], "--seq_strand", request["seq_strand"]]
        cmd += ["--fasta_file_url", request["fasta_file_url"], "--access", "range", "--cache_dir", str(cache)]
        cmd += ["--exon_seq_regions", json.dumps(request["exon_seq_regions"])]
        cmd += ["--cds_seq_regions", json.dumps(request["cds_seq_regions"])]
        started = time.monotonic()
        done = subprocess.run(cmd, cwd=where, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"seq_retrieval.py --access range failed: {done.stderr.strip()[-300:]}")
        return time.monotonic() - started

    def action() -> None:
        with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
            run.tasks = list(pool.map(one, json.loads(payload.read_text())))

    return measure.measure(run, server, [where], action)


def extrapolate_pavi(job: tuple[int, int], measured: list[Run], jobs: dict[str, tuple[int, int]]) -> Run:
    """(a) on a job too long to run: linear in the number of requests.

    bytes and HTTP requests: N × the per-request mean of the measured (a) runs;
    wall time: the measured run's wall time (same number of genomes if there is one)
    + (N − its N) × median task time / 2 slots; peak disk: the measured peak (two tasks
    hold a private copy at once, whatever N is).
    """
    n, g = job
    total_n = sum(jobs[r.job][0] for r in measured)
    per_bytes = sum(r.bytes or 0 for r in measured) / total_n
    per_http = sum(r.http_requests for r in measured) / total_n
    tasks = [t for r in measured for t in r.tasks]
    anchor = next((r for r in measured if jobs[r.job][1] == g), measured[0])
    slots = os.cpu_count() or 2
    seconds = (anchor.seconds or 0) + (n - jobs[anchor.job][0]) * statistics.median(tasks) / slots
    return Run(
        job=f"{n}x{g}",
        mode="a",
        bytes=round(per_bytes * n),
        seconds=seconds,
        peak_disk=max(r.peak_disk or 0 for r in measured),
        http_requests=round(per_http * n),
        extrapolated=True,
        note=f"extrapolated from {', '.join(r.job for r in measured)}",
    )


def warm_in_process(cache_dir: Path, payload: list[dict]) -> dict:
    """Open each cached genome once and time retrieve() for every request."""
    cache = GenomeCache(cache_dir, progress=False)
    requests = [parse_request(r) for r in payload]
    genomes: dict[str, Genome] = {}
    open_ms = 0.0
    for url in dict.fromkeys(r.fasta_file_url for r in requests):
        resolved = cache.ensure(url)
        if resolved.source != "cache":
            raise RuntimeError(f"{url} was not in the cache ({resolved.source})")
        started = time.perf_counter()
        genomes[url] = Genome.open(resolved.fasta)
        open_ms += (time.perf_counter() - started) * 1000
    times = []
    try:
        for request in requests:
            started = time.perf_counter()
            sequence = retrieve(genomes[request.fasta_file_url], request, "protein")
            times.append((time.perf_counter() - started) * 1000)
            assert sequence
    finally:
        for genome in genomes.values():
            genome.close()
    times_sorted = sorted(times)
    return {
        "requests": len(times),
        "genomes": len(genomes),
        "open_ms": open_ms,
        "total_s": sum(times) / 1000,
        "mean_ms": statistics.mean(times),
        "median_ms": statistics.median(times),
        "p95_ms": times_sorted[int(0.95 * (len(times) - 1))],
        "max_ms": times_sorted[-1],
    }


# --- main --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="~2 min smoke run: small genome, two jobs")
    parser.add_argument(
        "--throttle", type=float, default=100, help="MB/s per response (default: %(default)s)"
    )
    parser.add_argument("--modes", default=ALL_MODES, help="subset of 'abcde' to run (default: all)")
    parser.add_argument("--keep", action="store_true", help="keep caches and work dirs under benchmarks/out")
    parser.add_argument("--outdir", type=Path, help="where RESULTS.md and results.png go")
    args = parser.parse_args(argv)
    profile = QUICK if args.quick else FULL
    modes = "".join(m for m in ALL_MODES if m in args.modes)
    throttle = args.throttle * 1e6
    outdir = args.outdir or (OUT / "quick" if args.quick else BENCH)
    started = time.monotonic()
    scratch = OUT / profile.name
    shutil.rmtree(scratch / "runs", ignore_errors=True)
    (scratch / "runs").mkdir(parents=True)

    genome = ensure_genome(profile)
    facts = genome_facts(genome)
    server = Server(serve_dir(genome, scratch / "served"), scratch / "server.jsonl", throttle)
    jobs = {f"{n}x{g}": (n, g) for n, g in profile.jobs}
    runs: list[Run] = []
    notes: list[str] = []
    range_state = {"active": None, "note": ""}
    try:
        rate = server.calibrate(GENOMES[0])
        log(
            f"server: {server.url('')}, {args.throttle:.0f} MB/s per response, measured {rate / 1e6:.0f} MB/s"
        )
        urls = [server.url(name) for name in GENOMES]
        payloads = {}
        for key, (n, g) in jobs.items():
            data = synth.make_payload(genome, urls[:g], n, seed=n * 10 + g, scale=profile.scale)
            payloads[key] = synth.write_payload(scratch / "payloads" / f"{key}.json", data)
        warm_payload = synth.make_payload(genome, urls[:1], 100, seed=1001, scale=profile.scale)
        for key, (n, g) in jobs.items():
            runs += run_job(
                key, n, g, modes, profile, server, payloads[key], scratch / "runs" / key, range_state
            )
        measured_a = [r for r in runs if r.mode == "a" and not r.extrapolated]
        if "a" in modes and measured_a:
            for job in jobs.values():
                if job not in profile.measured_a:
                    runs.append(extrapolate_pavi(job, measured_a, jobs))
        cache = scratch / "runs" / next(iter(jobs)) / "cache"
        if not cache.exists():  # (c) was not run: fill a cache for the in-process measurement
            GenomeCache(cache, progress=False).ensure(urls[0])
        warm = warm_in_process(cache, warm_payload)
        log(f"warm in-process retrieval: {warm['mean_ms']:.2f} ms/request over {warm['requests']} requests")
    finally:
        server.stop()

    if "e" in modes:
        if range_state["active"] is None or range_state["active"]:
            range_status = "active (`--access range` fetched only part of each genome on a cold cache)."
        else:
            range_status = f"**not available**: {range_state['note']}"
            if any(r.mode == "e_cli" for r in runs):
                range_status += (
                    " Instead, (e′) ran `bin/seq_retrieval.py --access range` directly (no Nextflow, so "
                    "its wall time is not comparable) on the 1-genome jobs."
                )
    else:
        range_status = "not run (`--modes` left out e)."
    cli = range_cli_available()
    notes += [
        "(a) runs under Nextflow too (`benchmarks/pavi.nf`: one task per request, each calling "
        "`bin/seq_retrieval.py` with a fresh empty private `--cache_dir` in its task directory and deleting "
        "it when done, as ephemeral task storage would), so every mode pays the same Nextflow start-up and "
        "per-task overhead. Its peak disk is therefore two private copies (two tasks at once), not N.",
        "Each private download is verified as the shared cache verifies (sha256 of the file, index checks); "
        "PAVI's own retrieval does not hash, so (a)'s per-task time is a little higher than PAVI's would be "
        "(well under a second per 260 MB genome); its bytes are exactly PAVI's.",
        "(b) downloads each remote file once per run into `work/stage-*` (Nextflow's foreign-file staging); "
        "a second run downloads it again: nothing is shared between runs or hosts. " + probes(runs),
        "Peak disk includes the cache's own content: for (d) that is the genome already cached by (c).",
        pavi_tasks(runs),
        "Timings share 2 cores with the loopback server, the Nextflow JVM and the tasks, and with anything "
        "else running on the machine: wall times vary between runs (±10–20 % on a quiet machine; an earlier "
        "run under other load took 2.5× as long for one (a) job). Bytes are exact and deterministic.",
        f"`bin/seq_retrieval.py --help` {'lists' if cli else 'does not list'} `--access` (end of the run).",
    ]
    results = {
        "profile": profile.name,
        "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "command": ".venv/bin/python benchmarks/run.py" + (" --quick" if args.quick else ""),
        "total_seconds": time.monotonic() - started,
        "throttle": throttle,
        "calibrated_rate": rate,
        "genome": facts,
        "environment": environment(),
        "jobs": [{"key": k, "n": n, "g": g} for k, (n, g) in jobs.items()],
        "modes": modes,
        "runs": [asdict(r) for r in runs],
        "warm": warm,
        "range_status": range_status,
        "notes": notes,
    }
    (scratch / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "RESULTS.md").write_text(report.markdown(results))
    report.plot(results, outdir / "results.png")
    if not args.keep:
        for path in (scratch / "runs").glob("*/*"):  # keep logs, traces and results; drop genomes
            shutil.rmtree(path if path.name.startswith("cache") else path / "work", ignore_errors=True)
    log(f"done in {results['total_seconds'] / 60:.1f} min: {outdir / 'RESULTS.md'}, {outdir / 'results.png'}")
    for t in report.targets(results):
        verdict = {True: "MET   ", False: "MISSED", None: "N/A   "}[t["met"]]
        log(f"{verdict} {t['target']}: {t['got']} (want {t['want']}) — {t['how']}")
    return 0


def run_job(
    key: str,
    n: int,
    g: int,
    modes: str,
    profile: Profile,
    server: Server,
    payload: Path,
    where: Path,
    range_state: dict,
) -> list[Run]:
    runs = []
    cache = where / "cache"
    for mode in modes:
        run = Run(job=key, mode=mode)
        if mode == "a":
            if (n, g) not in profile.measured_a:
                continue
            run_pavi(run, server, payload, where / "a")
        elif mode == "b":
            run_staging(run, server, payload, where / "b")
            shutil.rmtree(where / "b" / "work", ignore_errors=True)  # staged genome copies
        elif mode == "c":
            run_cache(run, server, payload, where / "c", cache, [])
        elif mode == "d":
            if not cache.exists():
                run_cache(Run(job=key, mode="c"), server, payload, where / "c", cache, [])
            run_cache(run, server, payload, where / "d", cache, [])
        elif mode == "e":
            run_range(run, server, payload, where, g, range_state)
            if range_state["active"] is False and g == 1 and range_cli_available():
                runs.append(run)
                report_run(run)
                run = Run(job=key, mode="e_cli", note="seq_retrieval.py --access range, no Nextflow")
                try:
                    run_range_cli(run, server, payload, where / "e_cli")
                except RuntimeError as exc:
                    run.available, run.note = False, str(exc).splitlines()[0]
        runs.append(run)
        report_run(run)
    return runs


def run_range(run: Run, server: Server, payload: Path, where: Path, g: int, range_state: dict) -> None:
    """(e), unless an earlier job showed that the pipeline does not do range access yet."""
    if range_state["active"] is False:
        run.available, run.note = False, range_state["note"]
        return
    served = (server.log.parent / "served" / GENOMES[0]).stat().st_size
    try:
        run_cache(run, server, payload, where / "e", where / "cache-range", ["--access", "range"])
    except RuntimeError as exc:
        range_state["active"] = False
        range_state["note"] = f"`--access range` run failed: {str(exc).splitlines()[0]}"
        run.available, run.note = False, range_state["note"]
        return
    if (run.bytes or 0) >= 0.5 * g * served:
        range_state["active"] = False
        range_state["note"] = (
            f"`nextflow run main.nf --access range` on a cold cache downloaded {report.human(run.bytes)} "
            f"for {g} genome{'s' if g > 1 else ''} of {report.human(served)}: whole genomes, so the "
            "pipeline does not pass `--access` on yet."
        )
        run.available, run.note = False, range_state["note"]
    else:
        range_state["active"] = True


def pavi_tasks(runs: list[Run]) -> str:
    tasks = sorted(t for r in runs if r.mode == "a" and not r.extrapolated for t in r.tasks)
    if not tasks:
        return "(a) was not run."
    return (
        f"(a)'s {len(tasks)} measured tasks (download, verify, retrieve, delete) took {tasks[0]:.1f}–"
        f"{tasks[-1]:.1f} s each, median {statistics.median(tasks):.1f} s; the extrapolation uses the median."
    )


def probes(runs: list[Run]) -> str:
    """What (b)'s abandoned whole-file GETs cost, in words."""
    staged = [r for r in runs if r.mode == "b" and r.available]
    gets = sum(r.abandoned_gets for r in staged)
    if not gets:
        return "It sent no other requests for the genome."
    per = sum(r.abandoned_bytes for r in staged) / gets
    tasks = sum(len(r.tasks) for r in staged)
    return (
        f"Besides that download, Nextflow opened the remote genome with a whole-file GET and hung up after "
        f"the headers {gets} times over {tasks} tasks (about once per task, apparently to read the file's "
        f"size and date: it sent no HEAD); by then the server had pushed {report.human(per)} on average into "
        "loopback socket buffers, which the log counts as sent. That is why (b)'s bytes exceed (c)'s; over a "
        "real network the loss per probe depends on the TCP window, so treat it as an upper bound."
    )


def report_run(run: Run) -> None:
    if run.available:
        log(
            f"{run.job} ({run.mode}): {report.human(run.bytes)} in {run.http_requests} HTTP requests, "
            f"{report.seconds(run.seconds)}, peak disk {report.human(run.peak_disk)}"
        )
    else:
        log(f"{run.job} ({run.mode}): not available: {run.note}")


if __name__ == "__main__":
    sys.exit(main())
