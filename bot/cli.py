"""`labnetz` command line: run, check-config, migrate, chat, demo."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from bot.config import ConfigError, load_config


def _load(path: str):  # noqa: ANN202 - returns bot.config.Config
    try:
        return load_config(path)
    except ConfigError as err:
        print(f"{path}: invalid configuration:", file=sys.stderr)
        for problem in err.problems:
            print(f"  - {problem}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_check_config(args: argparse.Namespace) -> int:
    config = _load(args.file)
    print(f"{args.file}: OK ({config.matrix.user_id} on {config.matrix.homeserver})")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from storage import Database

    config = _load(args.config)

    async def migrate() -> str | None:
        db = Database(config.database.url)
        try:
            await db.migrate()
            return await db.current_revision()
        finally:
            await db.close()

    print(f"database at revision {asyncio.run(migrate())}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from bot.app import Labnetz

    config = _load(args.config)
    logging.basicConfig(
        level=config.logging.level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("nio", "apscheduler", "aiosqlite", "peewee"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))

    async def main() -> int:
        bot = Labnetz(config)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, bot.stop)
        await bot.run()
        return 1 if bot.failed else 0

    return asyncio.run(main())


def _delegate(module_name: str, prog: str):  # noqa: ANN202
    """Sub-tools parse their own flags, so their imports cost nothing for `labnetz run`."""

    def run(args: argparse.Namespace) -> int:
        import importlib

        module = importlib.import_module(module_name)
        parser = argparse.ArgumentParser(prog=prog)
        module.add_arguments(parser)
        return int(module.main_from_args(parser.parse_args(args.rest)) or 0)

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labnetz", description="Labnetz, the Open Gov Labs Matrix bot")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the bot")
    run.add_argument("--config", "-c", default="config.toml", help="TOML config file")
    run.set_defaults(func=cmd_run)
    check = sub.add_parser("check-config", help="validate a config file")
    check.add_argument("file")
    check.set_defaults(func=cmd_check_config)
    migrate = sub.add_parser("migrate", help="bring the database schema up to date")
    migrate.add_argument("--config", "-c", default="config.toml")
    migrate.set_defaults(func=cmd_migrate)
    for name, module, text in (
        ("chat", "bot.chat", "a small terminal Matrix client to talk to the bot"),
        ("demo", "bot.demo", "local Synapse, demo labs and users, and the bot"),
    ):
        tool = sub.add_parser(name, help=text, add_help=False)
        tool.add_argument("rest", nargs=argparse.REMAINDER)
        tool.set_defaults(func=_delegate(module, f"labnetz {name}"))
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("chat", "demo"):
        # Their flags belong to them; argparse's REMAINDER would swallow "--dir" badly.
        return _delegate(f"bot.{argv[0]}", f"labnetz {argv[0]}")(argparse.Namespace(rest=argv[1:]))
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
