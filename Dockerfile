# syntax=docker/dockerfile:1
# Runtime image for the genome cache and the PAVI tasks that use it (AWS Batch, k8s, local Docker).
# Everything is pinned: the base image by exact tag (Python 3.11 on Debian 12 "bookworm"; add its
# @sha256 digest when you build where the registry is reachable), the Debian packages by version,
# and the Python packages by requirements/container.txt with hashes: exactly the runtime set that
# `make demo` installs (requirements/runtime.txt, same pins) plus the AWS CLI that Nextflow's awsbatch
# executor runs inside each task's container; nothing from the test/dev set.
# tests/integration/test_container.py runs the bin/ scripts against a venv built from exactly this
# set (no container engine runs here).
FROM python:3.11.14-slim-bookworm

# samtools/tabix (bgzip) for FASTA indexing and regions, clustalo for the MSA,
# procps because Nextflow's task metrics call `ps`. Versions: Debian 12's.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        samtools=1.16.1-1 tabix=1.16+ds-3 clustalo=1.2.4-7 procps=2:4.0.2-3 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/genomecache
COPY requirements/container.txt requirements/container.txt
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements/container.txt

# The package runs from its source tree (no build step, so no unpinned build backend).
COPY src/ src/
# compiled now: tasks run as pavi, who cannot write src/__pycache__, and compiling the package
# at every start costs ~55 ms of each retrieval task
RUN python -m compileall -q src
COPY conf/ conf/
COPY --chmod=0755 bin/ bin/

ENV PATH="/opt/genomecache/bin:${PATH}" \
    PYTHONPATH="/opt/genomecache/src" \
    GENOMECACHE_GENOMES="/opt/genomecache/conf/genomes.json" \
    PYTHONUNBUFFERED=1

# uid/gid 1000 match the EFS access point's POSIX user (infra/genome_cache_stack.py).
RUN groupadd --gid 1000 pavi && useradd --uid 1000 --gid 1000 --create-home pavi
USER pavi
WORKDIR /home/pavi

CMD ["genome_cache.py", "--help"]
