"""The command line of one PAVI request for ``seq_retrieval.py`` (PAVI's option names)."""

from __future__ import annotations

import json
from pathlib import Path


def single_args(request: dict, fasta_url: str, cache: Path, output_type: str = "protein") -> list[str]:
    """``seq_retrieval.py`` options retrieving ``request`` from ``fasta_url`` through ``cache``."""
    args = [
        "--output_type",
        output_type,
        "--unique_entry_id",
        request["unique_entry_id"],
        "--base_seq_name",
        request["base_seq_name"],
        "--seq_id",
        request["seq_id"],
        "--seq_strand",
        request["seq_strand"],
        "--fasta_file_url",
        fasta_url,
        "--exon_seq_regions",
        json.dumps(request["exon_seq_regions"]),
        "--cds_seq_regions",
        json.dumps(request.get("cds_seq_regions", [])),
        "--cache_dir",
        str(cache),
    ]
    if request.get("codon_table") is not None:
        args += ["--codon_table", str(request["codon_table"])]
    return args
