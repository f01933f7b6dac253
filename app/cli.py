"""Command line: `python -m app serve | migrate | keys | flows | webhooks | seed | export-schema |
export-documents`.

Every command that touches the database first brings it to the newest migration.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from app import logs
from app.db import Reader, create_engine, write_session
from app.domain.access import Scope
from app.domain.errors import DomainError
from app.migrations import upgrade
from app.services import Database, webhooks
from app.services.webhooks import EndpointUpdate
from app.settings import Settings, SettingsError
from app.store import accounts, flows

_ACCOUNT = re.compile(r"^acct_[0-9A-Za-z]{1,60}$")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_environ()
    except SettingsError as error:
        if os.environ.get("LOG_FORMAT", "").lower() == "json":
            print(logs.json_line(f"error: {error}", level="ERROR"), file=sys.stderr)
        else:
            print(f"error: {error}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level, settings.log_format)
    handler = args.handler
    result: int = handler(settings, args)
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="command")

    serve = commands.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help="processes serving the port, 1 to 64 (default 1); see docs/operations.md",
    )
    serve.set_defaults(handler=_serve)

    migrate = commands.add_parser("migrate", help="bring the database to the newest revision")
    migrate.set_defaults(handler=_migrate)

    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(
        required=True, metavar="action"
    )
    create_key = keys.add_parser("create", help="create a key and print it once (last line)")
    create_key.add_argument("--mode", choices=["test", "live"], required=True)
    create_key.add_argument("--account", type=_account_id, help="acct_…; created if new")
    create_key.add_argument("--restricted", action="store_true", help="a read-only key (rk_…)")
    create_key.set_defaults(handler=_create_key)

    flow_commands = commands.add_parser("flows", help="manage verification flows").add_subparsers(
        required=True, metavar="action"
    )
    create_flow = flow_commands.add_parser(
        "create", help="create a flow and print its id (last line)"
    )
    create_flow.add_argument("--mode", choices=["test", "live"], required=True)
    create_flow.add_argument("--type", choices=["document", "id_number"], required=True)
    create_flow.add_argument(
        "--options",
        type=_json_object,
        default={},
        help='camelCase JSON, e.g. {"document": {"requireMatchingSelfie": true}}',
    )
    create_flow.add_argument(
        "--account", type=_account_id, help="acct_…; the default account if omitted"
    )
    create_flow.set_defaults(handler=_create_flow)

    webhook_commands = commands.add_parser(
        "webhooks", help="manage webhook endpoints"
    ).add_subparsers(required=True, metavar="action")
    roll = webhook_commands.add_parser(
        "roll-secret",
        help="give an endpoint a new signing secret and print it once (last line); the old "
        "one keeps signing beside it for --expire-in seconds",
    )
    roll.add_argument("endpoint", help="the endpoint's id, we_…")
    roll.add_argument("--mode", choices=["test", "live"], required=True)
    roll.add_argument("--account", type=_account_id, help="acct_…; the default account if omitted")
    roll.add_argument(
        "--expire-in",
        type=int,
        default=None,
        help="seconds the old secret stays valid, 0 to 86400 (default 86400)",
    )
    roll.set_defaults(handler=_roll_secret)

    seed = commands.add_parser(
        "seed", help="write COUNT realistic sessions (with reports and events) in bulk"
    )
    seed.add_argument("--count", type=_count, required=True, help="how many sessions")
    seed.add_argument("--account", type=_account_id, help="acct_…; the default account if omitted")
    seed.add_argument("--mode", choices=["test", "live"], default="test", help="default: test")
    seed.set_defaults(handler=_seed)

    export = commands.add_parser("export-schema", help="print or write the GraphQL schema (SDL)")
    export.add_argument("--output", type=Path, help="file to write; stdout when omitted")
    export.set_defaults(handler=_export_schema)

    documents = commands.add_parser(
        "export-documents",
        help="print or write the trusted documents (the saved operations and "
        "PERSISTED_DOCUMENTS_FILE) as an Apollo persisted-query manifest",
    )
    documents.add_argument("--output", type=Path, help="file to write; stdout when omitted")
    documents.set_defaults(handler=_export_documents)
    return parser


def _account_id(value: str) -> str:
    if not _ACCOUNT.match(value):
        raise argparse.ArgumentTypeError(
            f"account ids look like acct_ followed by letters and digits, got {value!r}"
        )
    return value


def _count(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"--count must be a whole number from 1, got {value!r}")
    return int(value)


def _workers(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(
            f"--workers must be a whole number from 1 to {MAX_WORKERS}, got {value!r}"
        )
    return int(value)


MAX_WORKERS = 64


def _json_object(value: str) -> dict[str, Any]:
    try:
        parsed = json.loads(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"--options is not valid JSON: {error}") from None
    if not isinstance(parsed, dict):
        raise argparse.ArgumentTypeError("--options must be a JSON object")
    return parsed


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from app import metrics

    # Before the app exists: every metric this process (and any it starts) creates is written
    # to this directory, and /metrics adds them all up (app.metrics).
    directory = metrics.prepare_directory()

    def clean_up() -> None:
        metrics.process_exited(os.getpid())
        directory.cleanup()

    def on_sigterm(sig: int, frame: Any) -> None:
        # A SIGTERM while uvicorn is not handling it (during migrations, say): clean up, then
        # end by it. (The server handles its own and `serve` returns 0; workers forked by
        # `--workers` reset this handler, so none of them removes the shared directory.)
        clean_up()
        signal.signal(sig, signal.SIG_DFL)
        signal.raise_signal(sig)

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        return _serve_with_metrics(replace(settings, metrics_directory=directory.path), args)
    finally:
        signal.signal(signal.SIGTERM, previous)
        clean_up()


def _serve_with_metrics(settings: Settings, args: argparse.Namespace) -> int:
    from app.main import create_app

    address = f"http://{args.host}:{args.port}"
    if "PUBLIC_BASE_URL" not in os.environ:
        settings = replace(settings, public_base_url=address)
    try:
        app = create_app(settings)
    except SettingsError as error:  # a PERSISTED_DOCUMENTS_FILE that is no manifest
        if settings.log_format == "json":
            logging.getLogger("app.cli").error("error: %s", error)
        else:
            print(f"error: {error}", file=sys.stderr)
        return 2
    upgrade(settings.database_url)
    key = asyncio.run(_first_key(settings))
    if settings.log_format == "json":
        # Log collectors read stdout too: the banner becomes one log line, without the key.
        print(
            logs.json_line(f"playground at {address}/graphql; make a key with `keys create`"),
            flush=True,
        )
    else:
        print(_banner(address, key), flush=True)
    if args.workers > 1:
        del app  # it was built to check the settings; each worker builds its own after the fork
    # What is alive now (modules, the schema, SQLAlchemy's metadata: some 140,000 objects) lives
    # as long as the process. Frozen, it is left out of the collector's full passes, which would
    # otherwise walk all of it every few hundred requests (and forked workers share its pages).
    gc.collect()
    gc.freeze()
    if args.workers > 1:
        return _supervise(settings, args)
    server = _server_class()(_uvicorn_config(app, settings, args), app)
    server.run()
    return 0 if server.started else 3


def _uvicorn_config(app: Any, settings: Settings, args: argparse.Namespace) -> Any:
    import uvicorn

    return uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,
        server_header=False,
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        # uvicorn would otherwise rewrite the client address from X-Forwarded-For whenever the
        # peer is 127.0.0.1 (or FORWARDED_ALLOW_IPS): TRUSTED_PROXIES alone decides whom to
        # believe (app.web.client_address).
        proxy_headers=False,
    )


def _supervise(settings: Settings, args: argparse.Namespace) -> int:
    """`--workers N`: the socket is bound here, once; each forked worker builds its own app
    (engine, pools, event loop) and serves it (app.supervisor)."""
    from app import metrics
    from app.main import create_app
    from app.supervisor import Supervisor

    try:
        listener = _uvicorn_config(None, settings, args).bind_socket()
    except SystemExit:  # uvicorn logged why (a port in use, say)
        return 3  # as a single server that never started
    # The settings-check app wrote a live gauge for this process, which serves nothing: only
    # the workers' show in /metrics.
    metrics.process_exited(os.getpid())

    def serve() -> int:
        app = create_app(settings)
        gc.collect()
        gc.freeze()
        server = _server_class()(_uvicorn_config(app, settings, args), app)
        server.run(sockets=[listener])
        return 0 if server.started else 3

    # Requests get the grace, then the background worker gets it again; then a margin.
    stop_timeout = 2 * settings.shutdown_grace_seconds + 10
    return Supervisor(
        workers=args.workers,
        listener=listener,
        serve=serve,
        stop_timeout=stop_timeout,
        exited=metrics.process_exited,
    ).run()


def _server_class() -> type[Any]:
    import uvicorn
    from starlette.applications import Starlette
    from uvicorn.server import HANDLED_SIGNALS

    class Server(uvicorn.Server):
        """uvicorn's server, which also tells the app, the moment a stop signal arrives, that
        it is shutting down (/readyz then answers 503 while in-flight requests finish), closes
        WebSocket subscriptions with 1001 before stopping, and exits 0 after a graceful stop."""

        def __init__(self, config: uvicorn.Config, app: Starlette) -> None:
            super().__init__(config)
            self.app = app

        def handle_exit(self, sig: int, frame: Any) -> None:
            self.app.state.shutting_down = True
            super().handle_exit(sig, frame)

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            """uvicorn's, less what it does once the server has stopped: after restoring the
            previous handlers it raises the captured signal again. For SIGTERM the previous
            handler is the default one, so a graceful stop ended with status 143 (killed by
            SIGTERM), which service managers report as a failure; SIGINT became a
            KeyboardInterrupt. Here the handlers are restored and `serve` returns 0."""
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in HANDLED_SIGNALS}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            # uvicorn closes open WebSockets with 1012 (service restart); ours go first, with
            # 1001 (going away), which graphql-ws clients answer by reconnecting.
            await self.app.state.subscriptions.close_all()
            await super().shutdown(sockets)

    return Server


def _banner(address: str, key: str | None) -> str:
    """What `serve` prints at start: where the playground is and where the test key goes."""
    from app.web.playground import Playground

    if key is None:
        lines = [
            "",
            f"  Playground (GraphiQL): {address}/graphql",
            "    Paste a test key into its Test key box; make one with",
            "    `.venv/bin/python -m app keys create --mode test`.",
        ]
    else:
        # The one place a key is ever printed: the first start of a fresh database.
        lines = [
            "",
            "  A test-mode secret key was created for the default account (shown once):",
            "",
            f"    {key}",
            "",
            f"  Playground (GraphiQL): {address}/graphql",
            "    Paste the key into its Test key box (kept in the page only), then run the first",
            "    tab, CreateVerificationSession.",
        ]
    if not Playground().offline:
        lines += [
            "    GraphiQL's files are not installed here (no npm, or `npm ci` failed), so the",
            "    page loads them from unpkg.com and needs internet. Install Node.js 20 and run",
            "    `make serve` again to serve them offline.",
        ]
    return "\n".join([*lines, ""])


async def _first_key(settings: Settings) -> str | None:
    engine = create_engine(settings.database_url)
    try:
        async with write_session(engine) as db:
            if await accounts.any_key_exists(db):
                return None
            return await accounts.create_key(db, account_id=None, livemode=False, restricted=False)
    finally:
        await engine.dispose()


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    upgrade(settings.database_url)
    print("database is at the newest revision")
    return 0


def _create_key(settings: Settings, args: argparse.Namespace) -> int:
    upgrade(settings.database_url)

    async def create() -> str:
        engine = create_engine(settings.database_url)
        try:
            async with write_session(engine) as db:
                return await accounts.create_key(
                    db,
                    account_id=args.account,
                    livemode=args.mode == "live",
                    restricted=args.restricted,
                )
        finally:
            await engine.dispose()

    key = asyncio.run(create())
    kind = "restricted" if args.restricted else "secret"
    print(
        f"Created a {args.mode}-mode {kind} key. It is shown once; store it now:", file=sys.stderr
    )
    print(key)
    return 0


def _create_flow(settings: Settings, args: argparse.Namespace) -> int:
    upgrade(settings.database_url)

    async def create() -> str:
        engine = create_engine(settings.database_url)
        try:
            async with write_session(engine) as db:
                account_id = args.account or (await accounts.default_account(db)).id
                await accounts.ensure_account(db, account_id=account_id)
                scope = Scope(account_id=account_id, livemode=args.mode == "live")
                flow = await flows.create_flow(
                    db, scope=scope, type=args.type, options=_snake_options(args.options)
                )
                return flow.id
        finally:
            await engine.dispose()

    try:
        flow_id = asyncio.run(create())
    except DomainError as error:
        where = ".".join(error.field or [])
        print(f"error: {where}: {error.message}", file=sys.stderr)
        return 2
    print(flow_id)
    return 0


def _roll_secret(settings: Settings, args: argparse.Namespace) -> int:
    upgrade(settings.database_url)

    async def roll() -> str:
        engine = create_engine(settings.database_url)
        try:
            async with write_session(engine) as db:
                account_id = args.account or (await accounts.default_account(db)).id
            scope = Scope(account_id=account_id, livemode=args.mode == "live")
            endpoint = await webhooks.update(
                Database(engine=engine, reader=Reader(engine)),
                scope=scope,
                endpoint_id=args.endpoint,
                update=EndpointUpdate(roll_secret=True, expire_previous_secret_in=args.expire_in),
            )
            return endpoint.secret
        finally:
            await engine.dispose()

    try:
        secret = asyncio.run(roll())
    except DomainError as error:
        where = ".".join(error.field or [])
        print(f"error: {where}: {error.message}", file=sys.stderr)
        return 2
    print("The endpoint's new signing secret. It is shown once; store it now:", file=sys.stderr)
    print(secret)
    return 0


def _seed(settings: Settings, args: argparse.Namespace) -> int:
    from app.seed import seed

    upgrade(settings.database_url)

    async def run() -> str:
        engine = create_engine(settings.database_url)
        try:
            result = await seed(
                engine, count=args.count, account_id=args.account, livemode=args.mode == "live"
            )
            return result.summary()
        finally:
            await engine.dispose()

    print(asyncio.run(run()))
    return 0


def _snake_options(value: Any) -> Any:
    """camelCase input JSON in the domain's shape: snake_case keys, lowercase document types."""
    if isinstance(value, dict):
        return {
            re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower(): _snake_options(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [item.lower() if isinstance(item, str) else item for item in value]
    return value


def _export_schema(settings: Settings, args: argparse.Namespace) -> int:
    from app.schema import build_schema

    sdl = build_schema().as_str() + "\n"
    if args.output is None:
        sys.stdout.write(sdl)
    else:
        args.output.write_text(sdl, encoding="utf-8")
    return 0


def _export_documents(settings: Settings, args: argparse.Namespace) -> int:
    from app.web.trusted_documents import TrustedDocuments

    try:
        trusted = TrustedDocuments.load(settings.persisted_documents_files)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    manifest = json.dumps(trusted.manifest(), indent=2, ensure_ascii=False) + "\n"
    if args.output is None:
        sys.stdout.write(manifest)
    else:
        args.output.write_text(manifest, encoding="utf-8")
    return 0
