"""Digests the tests compare files and bodies by."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def sha256(data: bytes | str | os.PathLike[str]) -> str:
    """Hex SHA-256 of ``data``: bytes as they are, or the contents of the file a path names."""
    if not isinstance(data, bytes):
        data = Path(data).read_bytes()
    return hashlib.sha256(data).hexdigest()
