# Two commands: `make demo` runs the pipeline on the embedded genome; `make test` runs every test.
SHELL   := /bin/bash
VENV    := .venv
PY      := $(VENV)/bin/python
NXF     := $(CURDIR)/scripts/nextflow
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/bin:$(CURDIR)/scripts:$(PATH)

.PHONY: demo test unit workflow lint schema benchmark install venv nextflow system-deps clean

install: system-deps venv nextflow

# samtools/bgzip are the tests' independent oracle, clustalo the alignment step.
system-deps:
	@command -v samtools >/dev/null && command -v bgzip >/dev/null && command -v clustalo >/dev/null \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq samtools tabix clustalo; }

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || python3.11 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

nextflow:
	scripts/install-nextflow.sh

demo: install
	$(NXF) run main.nf -profile test --outdir results -ansi-log false
	@echo; cat results/cache-report.txt; echo "Sequences: $(CURDIR)/results/sequences"

lint: venv
	$(VENV)/bin/ruff check src bin tests benchmarks infra
	$(VENV)/bin/ruff format --check src bin tests benchmarks infra

schema: venv
	$(VENV)/bin/nf-core --log-file /dev/null pipelines schema lint nextflow_schema.json

unit: install
	$(PY) -m pytest tests/unit -q

workflow: install
	$(PY) -m pytest tests/workflow -q --git-aware --kwdof

test: install lint schema
	$(PY) -m pytest tests -q --git-aware --kwdof

benchmark: install
	$(PY) benchmarks/run.py

clean:
	rm -rf work results .nextflow .nextflow.log* .pytest_cache
