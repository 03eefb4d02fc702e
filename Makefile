# Two commands: `make demo` runs the pipeline on the embedded genome; `make test` runs every test.
# `make demo` installs only the runtime (requirements/runtime.txt); `make test` adds the test/dev
# tools (requirements/dev.txt) and the Debian packages the tests use. Both lock files carry hashes.
SHELL   := /bin/bash
VENV    := .venv
PY      := $(VENV)/bin/python
NXF     := $(CURDIR)/scripts/nextflow
PIP     := $(PY) -m pip install -q --disable-pip-version-check
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/bin:$(CURDIR)/scripts:$(PATH)

.PHONY: demo test quick unit workflow lint lint-nf schema benchmark install install-runtime venv venv-runtime \
        nextflow system-deps lock clean

install: system-deps venv nextflow
install-runtime: venv-runtime nextflow

# Test-only Debian packages: samtools/bgzip are the tests' independent oracle, clustalo the
# alignment step (PROTEIN_MSA), slurm + munge the single-node cluster of tests/integration/test_slurm.py.
SYSTEM_DEPS := samtools tabix clustalo slurmctld slurmd slurm-client munge
system-deps:
	@command -v samtools >/dev/null && command -v bgzip >/dev/null && command -v clustalo >/dev/null \
	  && command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
	  && command -v munged >/dev/null \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_DEPS); }

$(PY):
	python3.11 -m venv $(VENV)

# Runtime only: what the pipeline's tasks import (and the Dockerfile installs).
venv-runtime: $(VENV)/.runtime-installed
$(VENV)/.runtime-installed: requirements/runtime.txt pyproject.toml | $(PY)
	$(PIP) --require-hashes --no-deps -r requirements/runtime.txt
	$(PIP) --no-deps -e .
	$(PY) -m compileall -q src  # tasks import from src/; without .pyc (PYTHONDONTWRITEBYTECODE) each compiles it
	touch $@

# Runtime + test/dev tools, at the same pins.
venv: $(VENV)/.installed
$(VENV)/.installed: requirements/dev.txt requirements/runtime.txt pyproject.toml | $(PY)
	$(PIP) --require-hashes --no-deps -r requirements/dev.txt
	$(PIP) --no-deps -e .
	$(PY) -m compileall -q src
	touch $(VENV)/.runtime-installed $@

# Re-lock after editing requirements/*.in (uv from the dev set; bootstrapped if missing).
lock: | $(PY)
	test -x $(VENV)/bin/uv || $(PIP) uv==0.13.8
	cd requirements && ../$(VENV)/bin/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	  --python-platform x86_64-manylinux_2_28 runtime.in -o runtime.txt
	cd requirements && ../$(VENV)/bin/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	  --python-platform x86_64-manylinux_2_28 dev.in -o dev.txt
	cd requirements && ../$(VENV)/bin/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	  --python-platform x86_64-manylinux_2_28 container.in -o container.txt

nextflow:
	scripts/install-nextflow.sh

demo: install-runtime
	$(NXF) run main.nf -profile test --outdir results -ansi-log false
	@echo; cat results/cache-report.txt; echo "Sequences: $(CURDIR)/results/sequences"

lint: venv
	$(VENV)/bin/ruff check src bin tests benchmarks infra
	$(VENV)/bin/ruff format --check src bin tests benchmarks infra

# nf-core's module and subworkflow lint on this (non-nf-core) repository: 0 failures required.
lint-nf: venv
	scripts/lint-nf-core

schema: venv
	$(VENV)/bin/nf-core --log-file /dev/null pipelines schema lint nextflow_schema.json

unit: install
	$(PY) -m pytest tests/unit -q

workflow: install
	$(PY) -m pytest tests/workflow -q --git-aware --kwdof

test: install lint lint-nf schema
	$(PY) -m pytest tests -q --git-aware --kwdof

quick: install lint
	$(PY) -m pytest tests -q --git-aware --kwdof -m "not slow"

benchmark: install
	$(PY) benchmarks/run.py

clean:
	rm -rf work results .nextflow .nextflow.log* .pytest_cache
