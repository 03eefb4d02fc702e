"""Byte sizes as people write them for ``prune --max-size``.

Every unit is binary, as ``du -h``, ``df -h`` and ``sort -h`` show sizes: ``K`` = KiB =
1024 bytes, ``M`` = MiB, ``G`` = GiB, ``T`` = TiB. The unit may be followed by ``i``
and/or ``B`` (``20G``, ``20GB``, ``20GiB`` and ``20gib`` are all 20 GiB); a plain number
is bytes (``B`` allowed). Fractions are allowed (``1.5T``); anything else is refused.
"""

from __future__ import annotations

import re

from .errors import GenomeCacheError

UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE = re.compile(r"\s*(?P<number>\d+(?:\.\d+)?)\s*(?:(?P<unit>[KMGT])(?P<i>I)?B?|B)?\s*", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes in ``text`` (binary units, see the module docstring); :class:`GenomeCacheError` otherwise."""
    match = _SIZE.fullmatch(text) if isinstance(text, str) else None
    if not match:
        raise GenomeCacheError(
            f"not a size: {text!r} (a number with an optional unit K, M, G or T, "
            "each a power of 1024, e.g. 500M, 20G, 1.5TiB)"
        )
    unit = (match.group("unit") or "").upper()
    number = match.group("number")
    whole, _, fraction = number.partition(".")
    # exact integer arithmetic: 0.1T must not become 109951162777.60001 bytes
    scale = UNITS[unit]
    value = int(whole) * scale
    if fraction:
        value += int(fraction) * scale // 10 ** len(fraction)
    return value


def human(nbytes: float) -> str:
    """``1.5 GiB``: the binary units :func:`parse_size` reads."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if nbytes < 1024 or unit == "TiB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes} B"
