"""Start-up stays cheap: migrations are only loaded when the schema is behind, and nothing pending
is read into memory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory

from storage import Database
from storage.db import MIGRATIONS, head_revision

ROOT = Path(__file__).resolve().parents[2]


def _config(connection=None) -> AlembicConfig:  # noqa: ANN001
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def test_head_read_from_the_files_is_alembics_head() -> None:
    assert [head_revision()] == ScriptDirectory.from_config(_config()).get_heads()


async def test_a_database_behind_the_head_is_still_upgraded(tmp_path) -> None:  # noqa: ANN001
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/old.db")
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(_config(c), "0002"))
        assert await db.current_revision() == "0002"
        await db.migrate()
        assert await db.current_revision() == head_revision()
    finally:
        await db.close()


def test_a_migrated_database_starts_without_importing_alembic(tmp_path) -> None:  # noqa: ANN001
    url = f"sqlite+aiosqlite:///{tmp_path}/ready.db"
    probe = (
        "import asyncio, sys\n"
        "from storage import Database\n"
        f"db = Database({url!r})\n"
        "asyncio.run(db.migrate())\n"
        "first = 'alembic' in sys.modules\n"
        "for name in [m for m in sys.modules if m.startswith('alembic')]: del sys.modules[name]\n"
        f"db2 = Database({url!r})\n"
        "asyncio.run(db2.migrate())\n"
        "print(first, 'alembic' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "False"]  # the first run migrated, the second did not need to
