"""Download-once, verified, shared cache of reference genomes with indexed region retrieval.

Modules, in the order data flows through them:

- ``requests``: parse and validate PAVI request payloads.
- ``locations``: turn genome URLs into safe cache names (no traversal, no secrets).
- ``sources``: fetch bytes over http(s)://, s3:// and file:// with resume and retry.
- ``fastaformat``: detect, convert to BGZF, build and check ``.fai``/``.gzi``.
- ``cache``: lock, verify and atomically publish genomes; list, verify, prune.
- ``ranged``: range mode, fetching only the BGZF blocks that reads need.
- ``retrieval`` and ``translation``: read regions through the index, assemble, translate.
- ``report`` and ``seqinfo``: the per-run cache report; seqinfo merged with the alignment.
"""

# the one version: nextflow.config manifest.version matches (tests/integration/test_params.py)
__version__ = "0.2.0"
