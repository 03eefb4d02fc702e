# syntax=docker/dockerfile:1
# Runtime image for the genome cache and the PAVI tasks that use it (AWS Batch and local Docker).
FROM python:3.11-slim-bookworm

# samtools/tabix (bgzip) for FASTA indexing and regions, clustalo for the MSA,
# procps because Nextflow's task metrics call `ps`.
RUN apt-get update \
    && apt-get install -y --no-install-recommends samtools tabix clustalo procps \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/genomecache
COPY pyproject.toml ./
COPY src/ src/
COPY conf/ conf/
COPY --chmod=0755 bin/ bin/
# awscli: Nextflow's AWS Batch executor stages task files with `aws s3` from inside the container.
RUN pip install --no-cache-dir . awscli

ENV PATH="/opt/genomecache/bin:${PATH}" \
    PYTHONUNBUFFERED=1

# uid/gid 1000 match the EFS access point's POSIX user (infra/genome_cache_stack.py).
RUN groupadd --gid 1000 pavi && useradd --uid 1000 --gid 1000 --create-home pavi
USER pavi
WORKDIR /home/pavi

CMD ["genome_cache.py", "--help"]
