"""`-profile test,slurm` on a real single-node Slurm: cold, warm, and two runs at once on one cold cache.

The test installs nothing: it expects Debian's `slurmctld slurmd slurm-client munge` (`make system-deps`
installs them for `make test`) and root. It starts its own munged (own key and socket), slurmctld and
slurmd from a slurm.conf in a temporary directory (no cgroup: proctrack/linuxproc, task/none; own
ports), runs the pipeline against a loopback HTTP server that logs every request, and stops the
daemons afterwards. It skips, with the reason, only where Slurm cannot start.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

import genomecache
from tests.support.httpserver import GenomeServer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
NEXTFLOW = ROOT / "scripts" / "nextflow"
ASSETS = ROOT / "assets"
DAEMONS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel")
GENOMES = ("worm-a/ce.fa.gz", "worm-b/ce.fa.gz")  # two URLs, two cache entries, one file each
START_SECONDS = 120
RUN_SECONDS = 900

SLURM_CONF = """\
ClusterName=genomecache-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={dir}/munge.sock
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={dir}/jobcomp.log
StateSaveLocation={dir}/state
SlurmdSpoolDir={dir}/spool
SlurmctldPidFile={dir}/slurmctld.pid
SlurmdPidFile={dir}/slurmd.pid
SlurmctldLogFile={dir}/slurmctld.log
SlurmdLogFile={dir}/slurmd.log
ReturnToService=2
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=8000 State=UNKNOWN
PartitionName=genomecache Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
"""


@dataclass
class Cluster:
    dir: Path
    env: dict[str, str]

    def jobs(self) -> dict[str, str]:
        """Slurm job id -> final state, from the job completion log."""
        log = self.dir / "jobcomp.log"
        text = log.read_text() if log.exists() else ""
        return dict(re.findall(r"JobId=(\d+) .*?JobState=(\S+)", text))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, lines: int = 5) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


@pytest.fixture(scope="module")
def slurm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if os.geteuid() != 0:
        pytest.skip("a single-node Slurm needs root here (slurmd starts jobs as their user)")
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    missing = [name for name in DAEMONS if not shutil.which(name, path=path)]
    if missing:
        pytest.skip(
            f"Slurm is not installed ({', '.join(missing)} missing): "
            "`make system-deps` installs slurmctld slurmd slurm-client munge"
        )
    d = Path(tmp_path_factory.mktemp("slurm"))
    for sub in ("state", "spool"):
        (d / sub).mkdir()
    env = {**os.environ, "PATH": path, "SLURM_CONF": str(d / "slurm.conf")}
    conf = SLURM_CONF.format(dir=d, ctld_port=free_port(), d_port=free_port(), cpus=os.cpu_count() or 2)
    (d / "slurm.conf").write_text(conf)
    subprocess.run(["mungekey", "--create", f"--keyfile={d}/munge.key", "--force"], env=env, check=True)
    os.chmod(d / "munge.key", 0o600)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run(
            [
                "munged",
                f"--key-file={d}/munge.key",
                f"--socket={d}/munge.sock",
                f"--pid-file={d}/munged.pid",
                f"--log-file={d}/munged.log",
                f"--seed-file={d}/munge.seed",
                "--force",
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        for cmd in (["slurmctld", "-D", "-f", str(d / "slurm.conf")], ["slurmd", "-D", "-N", "localhost"]):
            with open(d / f"{cmd[0]}.out", "wb") as out:
                procs.append(subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + START_SECONDS
        while True:
            state = subprocess.run(
                ["sinfo", "-h", "-N", "-o", "%T"], env=env, capture_output=True, text=True, check=False
            ).stdout.strip()
            if state == "idle":
                break
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                pytest.skip(
                    f"Slurm did not start (node state {state!r}): "
                    f"{_tail(d / 'slurmctld.log')}\n{_tail(d / 'slurmd.log')}"
                )
            time.sleep(1)
        yield Cluster(d, env)
    finally:
        subprocess.run(["scancel", "--partition=genomecache"], env=env, capture_output=True, check=False)
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        pid_file = d / "munged.pid"
        if pid_file.exists():
            with_pid = int(pid_file.read_text().strip())
            try:
                os.kill(with_pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GenomeServer]:
    root = Path(tmp_path_factory.mktemp("www"))
    for name in GENOMES:
        folder = (root / name).parent
        folder.mkdir(parents=True)
        for suffix in ("", ".fai", ".gzi"):
            shutil.copyfile(ASSETS / "genome" / f"ce.fa.gz{suffix}", folder / f"ce.fa.gz{suffix}")
    with GenomeServer(root) as srv:
        yield srv


def payload(server: GenomeServer, folder: Path) -> Path:
    """The embedded requests, once per genome URL (ids made unique per genome)."""
    base = json.loads((ASSETS / "requests.json").read_text())
    requests = []
    for name in GENOMES:
        tag = name.split("/")[0]
        for request in base:
            requests.append(
                {
                    **request,
                    "unique_entry_id": f"{request['unique_entry_id']}-{tag}",
                    "fasta_file_url": server.url(name),
                }
            )
    path = folder / "requests.json"
    path.write_text(json.dumps(requests))
    return path


@dataclass
class Run:
    name: str
    returncode: int
    output: str
    trace: list[dict[str, str]]
    report: dict


def run_pipeline(cluster: Cluster, base: Path, name: str, requests: Path, cache: Path) -> Run:
    launch = base / name
    launch.mkdir()
    trace = launch / "trace.txt"
    extra = launch / "trace.config"
    extra.write_text("trace.fields = 'task_id,hash,native_id,name,status,exit,workdir'\n")
    cmd = [
        str(NEXTFLOW),
        "run",
        str(ROOT / "main.nf"),
        "-profile",
        "test,slurm",
        "--input",
        str(requests),
        "--cacheDir",
        str(cache),
        "--outdir",
        str(launch / "results"),
        "-w",
        str(launch / "work"),
        "-c",
        str(extra),
        "-with-trace",
        str(trace),
        "-ansi-log",
        "false",
    ]
    done = subprocess.run(
        cmd, cwd=launch, env=cluster.env, capture_output=True, text=True, timeout=RUN_SECONDS, check=False
    )
    rows: list[dict[str, str]] = []
    if trace.exists():
        lines = trace.read_text().splitlines()
        header = lines[0].split("\t")
        rows = [dict(zip(header, line.split("\t"), strict=False)) for line in lines[1:]]
    report_path = launch / "results" / "cache-report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    return Run(name, done.returncode, done.stdout + done.stderr, rows, report)


def assert_ran_as_slurm_jobs(run: Run, cluster: Cluster) -> None:
    assert run.returncode == 0, run.output[-3000:]
    jobs = cluster.jobs()
    executed = [row for row in run.trace if row.get("status") == "COMPLETED"]
    assert executed, f"{run.name}: no task ran"
    for row in executed:
        assert row["native_id"].isdigit(), (
            f"{run.name}: {row['name']} was not a Slurm job ({row['native_id']})"
        )
        assert jobs.get(row["native_id"]) == "COMPLETED", f"{run.name}: job {row['native_id']} not COMPLETED"
        assert "#SBATCH" in (Path(row["workdir"]) / ".command.run").read_text()


def by_url(run: Run) -> dict[str, dict]:
    return {genome["url"]: genome for genome in run.report["genomes"]}


def get_counts(server: GenomeServer) -> dict[str, int]:
    return {name: len(server.gets(name)) for name in GENOMES}


def test_slurm_cold_warm_and_concurrent_runs_download_each_genome_once(
    slurm: Cluster, server: GenomeServer, tmp_path: Path
) -> None:
    requests = payload(server, tmp_path)
    urls = {server.url(name) for name in GENOMES}

    # Cold: every task a Slurm job; each genome fetched once and reported as downloaded.
    cache = tmp_path / "cache"
    cache.mkdir()
    cold = run_pipeline(slurm, tmp_path, "cold", requests, cache)
    assert_ran_as_slurm_jobs(cold, slurm)
    names = sorted({row["name"].split(" ")[0].split(":")[-1] for row in cold.trace})
    assert {"CHECK_REQUESTS", "DOWNLOAD_GENOMES", "SEQUENCE_RETRIEVAL", "CACHE_REPORT"} <= set(names)
    assert get_counts(server) == dict.fromkeys(GENOMES, 1)
    assert set(by_url(cold)) == urls
    assert {g["source"] for g in cold.report["genomes"]} == {"network"}
    for tag in ("worm-a", "worm-b"):
        protein = tmp_path / "cold" / "results" / "sequences" / f"CE_TX1-{tag}-protein.fa"
        assert protein.read_text().startswith(">")
    versions = (tmp_path / "cold" / "results" / "pipeline_info" / "software_versions.yml").read_text()
    for process in ("CHECK_REQUESTS", "DOWNLOAD_GENOMES", "SEQUENCE_RETRIEVAL", "CACHE_REPORT"):
        assert f"{process}:\n  genomecache: '{genomecache.__version__}'" in versions

    # Warm: the downloads are skipped (storeDir receipts), nothing is fetched, the report says hit.
    warm = run_pipeline(slurm, tmp_path, "warm", requests, cache)
    assert_ran_as_slurm_jobs(warm, slurm)
    assert warm.output.count("[skipping] Stored process") >= len(GENOMES), warm.output[-3000:]
    assert get_counts(server) == dict.fromkeys(GENOMES, 1)
    assert {g["result"] for g in warm.report["genomes"]} == {"hit"}

    # Two runs at once on one cold cache: each genome fetched once between them, and the
    # reports agree on which run downloaded it.
    shared = tmp_path / "shared-cache"
    shared.mkdir()
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(
            lambda name: run_pipeline(slurm, tmp_path, name, requests, shared),
            ["concurrent-1", "concurrent-2"],
        )
    for run in (first, second):
        assert_ran_as_slurm_jobs(run, slurm)
    assert get_counts(server) == dict.fromkeys(GENOMES, 2), "a genome was downloaded twice"
    print_figures(cold, warm, first, second, server)
    # The storeDir receipt is last-writer-wins; the entry records the session that downloaded.
    results = {url: sorted(by_url(run)[url]["result"] for run in (first, second)) for url in urls}
    for url, found in results.items():
        assert found == ["hit", "miss"], f"{url}: both or neither run reports the download: {found}"


def print_figures(cold: Run, warm: Run, first: Run, second: Run, server: GenomeServer) -> None:
    """The figures the closing note quotes (shown with `pytest -s`)."""
    for run in (cold, warm, first, second):
        jobs = [row["native_id"] for row in run.trace if row.get("status") == "COMPLETED"]
        print(f"{run.name}: {len(jobs)} Slurm jobs {','.join(jobs)}")
    print(f"GETs per genome: {get_counts(server)}")
    for run in (first, second):
        for genome in run.report["genomes"]:
            moved = genome["bytes_downloaded"]
            print(f"{run.name}: {genome['result']} {genome['source']} {moved} B {genome['url']}")
