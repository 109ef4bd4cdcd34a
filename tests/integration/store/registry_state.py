"""A fingerprint of a whole registry: the SQLite file's bytes, or a full pg_dump."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


def fingerprint(url: str) -> str:
    """sha256 of the SQLite file, or of `pg_dump` (schema and data) for PostgreSQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return hashlib.sha256(Path(str(parsed.database)).read_bytes()).hexdigest()
    plain = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    dump = subprocess.run(["pg_dump", "--no-owner", plain], check=True, capture_output=True)
    # pg_dump wraps its output in \restrict/\unrestrict lines with a random key per run
    lines = [
        ln for ln in dump.stdout.splitlines() if not ln.startswith((b"\\restrict", b"\\unrestrict"))
    ]
    return hashlib.sha256(b"\n".join(lines)).hexdigest()
