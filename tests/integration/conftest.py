"""Fixtures for integration tests: one real Synapse per session, fresh users per test."""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from nio import AsyncClient

from bot.devserver import LocalSynapse

from .matrix_helpers import close_all, joined_room_with_bot, login_client

SYNAPSE_MISSING = (
    "SYNAPSE MISSING: integration tests need matrix-synapse "
    "(pip install -e '.[test]') — NOT RUN"
)
HAVE_SYNAPSE = importlib.util.find_spec("synapse") is not None


def pytest_report_header() -> str:
    return "synapse: available" if HAVE_SYNAPSE else SYNAPSE_MISSING


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSynapse]:
    if not HAVE_SYNAPSE:
        pytest.skip(SYNAPSE_MISSING)
    hs = LocalSynapse(directory=tmp_path_factory.mktemp("synapse"))
    hs.start()
    try:
        yield hs
    finally:
        hs.stop()


@pytest.fixture
def make_user(synapse: LocalSynapse) -> Callable[..., tuple[str, str]]:
    """Factory: make_user(prefix="u") -> (user_id, password) for a brand-new user."""

    def factory(prefix: str = "u") -> tuple[str, str]:
        localpart = f"{prefix}-{uuid.uuid4().hex[:10]}"
        password = uuid.uuid4().hex
        return synapse.register(localpart, password), password

    return factory


@pytest.fixture
async def nio_client(
    synapse: LocalSynapse, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[AsyncClient]]]:
    """Factory: await nio_client(user_id, password, encryption=False) -> logged-in AsyncClient.

    Each client gets its own store directory and is closed after the test.
    """
    clients: list[AsyncClient] = []

    async def factory(user_id: str, password: str, encryption: bool = False) -> AsyncClient:
        store = tmp_path / "stores" / f"{user_id.strip('@').replace(':', '_')}-{len(clients)}"
        client = await login_client(synapse.url, user_id, password, store, encryption)
        clients.append(client)
        return client

    yield factory
    await close_all(clients)


# --- the bot under test ---------------------------------------------------------------

from bot.devbot import BotProcess  # noqa: E402
from tests.databases import PG_MISSING, fresh_postgres, postgres_url  # noqa: E402

_BOTS: list[BotProcess] = []  # every bot a test made, until its make_bot fixture ends


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and postgres_url() is None:
        pytest.skip(PG_MISSING)
    return request.param


@pytest.fixture
async def database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database for one bot: a SQLite file, or a new PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/labnetz.db"
        return
    async with fresh_postgres() as url:
        yield url
        # Stop this database's bots before it is dropped: a bot that loses its database while
        # shutting down waits out its retries (20 s) instead of exiting at once.
        for bot in _BOTS:
            if bot.database_url == url:
                bot.stop()


@pytest.fixture
def make_bot(
    synapse: LocalSynapse, tmp_path: Path, make_user: Callable[..., tuple[str, str]]
) -> Iterator[Callable[..., BotProcess]]:
    """Factory for a bot process with its own Matrix account and store; stopped after the test."""
    bots: list[BotProcess] = []

    def factory(database_url: str, hs: LocalSynapse | None = None, **kwargs: object) -> BotProcess:
        server = hs or synapse
        localpart = f"bot-{uuid.uuid4().hex[:10]}"
        password = uuid.uuid4().hex
        bot = BotProcess(
            hs=server,
            directory=tmp_path / f"bot{len(bots)}",
            user_id=server.register(localpart, password),
            password=password,
            database_url=database_url,
            **kwargs,  # type: ignore[arg-type]
        )
        bots.append(bot)
        _BOTS.append(bot)
        return bot

    yield factory
    for bot in bots:
        bot.stop()
        _BOTS.remove(bot)


@pytest.fixture
def bot_and_user(
    make_bot: Callable[..., BotProcess],
    database_url: str,
    make_user: Callable[..., tuple[str, str]],
    nio_client: Callable[..., Awaitable[AsyncClient]],
) -> Callable[..., Awaitable[tuple[BotProcess, AsyncClient, str]]]:
    """Factory: await bot_and_user(name, encryption=False) -> (bot, user, room): a started bot on
    the test's database, a new user `name-…` (with an E2EE client if `encryption`), and a fresh
    room of theirs (encrypted likewise) that the bot has joined and greeted in."""

    async def factory(name: str, encryption: bool = False) -> tuple[BotProcess, AsyncClient, str]:
        bot = make_bot(database_url)
        bot.start()
        user = await nio_client(*make_user(name), encryption=encryption)
        room = await joined_room_with_bot(bot, user, encrypted=encryption)
        return bot, user, room

    return factory
