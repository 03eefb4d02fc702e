"""Genome aliases: a genome named by its name or assembly in ``conf/genomes.json``.

``worm`` and ``WBcel235`` (any case) both mean the worm genome's URL, on the command line
(``genome_cache.py fetch worm``) and as a request's ``fasta_file_url``. Aliases are resolved
before anything else looks at the URL, so an alias and its URL share one cache entry. A
value with a ``/`` or a scheme is never an alias.

The manifest is ``$GENOMECACHE_GENOMES`` if set, else this checkout's ``conf/genomes.json``
(the container sets the variable to its copy).
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path

from .errors import GenomeCacheError

_CHECKOUT_MANIFEST = Path(__file__).resolve().parents[2] / "conf" / "genomes.json"


def default_manifest() -> Path:
    return Path(os.environ.get("GENOMECACHE_GENOMES") or _CHECKOUT_MANIFEST)


@cache
def _table(manifest: Path) -> dict[str, str]:
    """Lower-cased name and assembly -> URL."""
    table: dict[str, str] = {}
    try:
        for genome in json.loads(manifest.read_text())["genomes"]:
            for key in ("name", "assembly"):
                if genome.get(key):
                    table[str(genome[key]).strip().lower()] = str(genome["url"])
    except FileNotFoundError:
        return {}
    # a malformed manifest (not a list of objects with "url") is the same one line
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        problem = f"genome manifest {manifest}: not readable as genomes.json ({exc!r})"
        raise GenomeCacheError(problem) from None
    return table


def resolve(value: str, manifest: Path | None = None) -> str:
    """The URL an alias names, or ``value`` unchanged when it is not an alias."""
    if not value or "/" in value or ":" in value:
        return value
    return _table(manifest or default_manifest()).get(value.strip().lower(), value)


def aliases(manifest: Path | None = None) -> dict[str, str]:
    """Every alias and the URL it names (for help texts and listings)."""
    return dict(_table(manifest or default_manifest()))
