"""`callbridge serve` runs the contact center; `callbridge demo` runs one you can watch."""

from __future__ import annotations

import importlib.util
import os
import random
import secrets
from pathlib import Path
from typing import Annotated

import anyio
import typer
import uvicorn
from rich.console import Console

from callbridge import __version__
from callbridge.adapters.crm.builtin import BuiltinCrm
from callbridge.app import App, build
from callbridge.cli import audit as audit_cli
from callbridge.cli import certs as certs_cli
from callbridge.cli import crm as crm_cli
from callbridge.cli import dialer as dialer_cli
from callbridge.cli import flow as flow_cli
from callbridge.cli import keys as keys_cli
from callbridge.cli import privacy as privacy_cli
from callbridge.cli import simulate as simulate_cli
from callbridge.cli import staff as staff_cli
from callbridge.cli import users as users_cli
from callbridge.cli.seed import (
    CHAT_QUEUE,
    PHONE_AGENT,
    PHONE_ENTRY,
    PHONE_QUEUE,
    PHONE_USER,
    desk_password,
    ready_phone_agent,
    seed_demo,
    seed_phone,
)
from callbridge.domain.errors import CallbridgeError
from callbridge.logging import configure_logging
from callbridge.settings import SettingsError, load_settings
from callbridge.sim.live import LiveSimulation, Traffic

app = typer.Typer(
    help="Callbridge: an open-source contact center with the CRM built in.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True, soft_wrap=True)
app.add_typer(audit_cli.app, name="audit")
app.add_typer(certs_cli.app, name="certs")
app.add_typer(crm_cli.app, name="crm")
app.add_typer(dialer_cli.app, name="dialer")
app.add_typer(flow_cli.app, name="flow")
app.add_typer(keys_cli.app, name="keys")
app.add_typer(privacy_cli.app, name="privacy")
app.add_typer(users_cli.app, name="users")
app.command("simulate")(simulate_cli.simulate_command)
app.command("staff")(staff_cli.staff)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="TOML settings file.", exists=True, dir_okay=False)
]
HostOpt = Annotated[str | None, typer.Option(help="Address to listen on.")]
PortOpt = Annotated[int | None, typer.Option(help="Port to listen on.")]


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


async def _serve(built: App, *sims: LiveSimulation, duration: float | None = None) -> None:
    """Serve until Ctrl-C (uvicorn handles the signal) or until `duration` has passed."""
    config = uvicorn.Config(
        built.api,
        host=built.settings.host,
        port=built.settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        ws="websockets-sansio",  # the event stream; the legacy implementation is deprecated
        ws_per_message_deflate=False,  # one small frame to many pages: compressing costs more
        # HTTPS when both are set; settings has checked that they are readable
        ssl_certfile=built.settings.tls_cert_file,
        ssl_keyfile=built.settings.tls_key_file,
    )
    server = uvicorn.Server(config)

    async def stop_after(seconds: float) -> None:
        await anyio.sleep(seconds)
        server.should_exit = True

    async with anyio.create_task_group() as tg:
        for sim in sims:
            tg.start_soon(sim.run)
        if duration is not None:
            tg.start_soon(stop_after, duration)
        await server.serve()
        tg.cancel_scope.cancel()


def _print_bootstrap(built: App) -> None:
    """What the first admin needs, printed once: on the run that made it."""
    if built.admin_password:
        console.print(f"admin user: admin, password {built.admin_password} (shown once)")
    if built.token_generated:
        console.print(f"bootstrap admin API token (shown once): {built.admin_token}")


def _loop_options() -> dict[str, bool]:
    """uvloop when it is installed (`pip install callbridge[fast]`): more calls per core."""
    return {"use_uvloop": importlib.util.find_spec("uvloop") is not None}


@app.command()
def serve(
    config: ConfigOpt = None,
    host: HostOpt = None,
    port: PortOpt = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="SQLAlchemy URL; default: a SQLite file.")
    ] = None,
) -> None:
    """Run the contact center: REST API, routing and timers."""
    try:
        settings = load_settings(config, host=host, port=port, database_url=database_url)
    except SettingsError as exc:
        raise _fail(str(exc)) from None
    configure_logging(settings.log_level, settings.log_json)
    try:
        built = build(settings)
    except CallbridgeError as exc:
        raise _fail(exc.message) from None
    try:
        _print_bootstrap(built)
        anyio.run(_serve, built, backend_options=_loop_options())
    finally:
        built.close()


@app.command()
def demo(
    db: Annotated[Path, typer.Option(help="SQLite file to create or reuse.")] = Path(
        "callbridge-demo.db"
    ),
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    seed_only: Annotated[
        bool, typer.Option("--seed-only", help="Create and seed the database, then exit.")
    ] = False,
    no_traffic: Annotated[
        bool, typer.Option("--no-traffic", help="No simulated customers (agents still log in).")
    ] = False,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: run until Ctrl-C).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the simulated traffic.")] = 7,
    arrivals_per_minute: Annotated[
        float, typer.Option(min=0.1, max=6000, help="Simulated customers arriving per minute.")
    ] = 10.0,
    sip_port: Annotated[
        int, typer.Option(min=0, max=65535, help="SIP port for real calls (0: no SIP).")
    ] = 5060,
    flows: Annotated[
        Path,
        typer.Option(help="IVR flows for real calls (skipped when the directory is missing)."),
    ] = Path("examples/flows"),
) -> None:
    """A live demo center: 3 queues, 12 simulated agents, a steady flow of customers."""
    # with the example flows, sip:demo walks the demo-phone flow (its own entry point)
    flows_dir = flows.resolve() if flows.is_dir() else None
    try:
        settings = load_settings(
            None,
            host=host,
            port=port,
            database_url=f"sqlite:///{db.resolve()}",
            # a fresh admin API token for every demo run, so it can always be printed
            admin_token=os.environ.get("CALLBRIDGE_ADMIN_TOKEN") or secrets.token_urlsafe(24),
            sip_enabled=sip_port != 0,
            sip_host=host,
            sip_port=sip_port or 5060,
            voice_entry_points={} if flows_dir else {PHONE_ENTRY: PHONE_QUEUE},
            ivr_flows_dir=flows_dir,
            webchat_queues=(CHAT_QUEUE,),
        )
    except SettingsError as exc:
        raise _fail(str(exc)) from None
    configure_logging("warning", json=False)
    try:
        built = build(settings)
    except CallbridgeError as exc:  # a flow that does not check names its file and line
        raise _fail(str(exc)) from None
    try:
        created = seed_demo(built.runtime, built.crm if isinstance(built.crm, BuiltinCrm) else None)
        console.print(f"demo database {'created' if created else 'reused'}: {db.resolve()}")
        if built.admin_password:
            console.print(f"admin user: admin, password {built.admin_password} (shown once)")
        sip_password = seed_phone(built.runtime, built.accounts, settings.sip_realm)
        if seed_only:
            return
        you = desk_password(built.accounts)
        scheme = "https" if settings.tls_cert_file else "http"
        base = f"{scheme}://{host}:{port}"
        token = built.admin_token
        console.print(
            f"Callbridge {__version__} demo is running.\n"
            f"  API docs     {base}/docs\n"
            f"  queues       {base}/queues\n"
            f"  agents       {base}/agents\n"
            f"  event log    {base}/events\n"
            f"  metrics      {base}/metrics\n"
            f"  admin token  {token}\n"
            f"Try:  curl -H 'Authorization: Bearer {token}' {base}/queues\n"
            f"Chat as a customer at {base}/webchat and answer as agent '{PHONE_AGENT}' at "
            f"{base}/login (user {PHONE_USER}, password {you}).\n"
        )
        if settings.sip_enabled:
            ready_phone_agent(built.runtime)
            console.print(
                f"Real calls: register a softphone as {PHONE_USER}@{host}:{sip_port} "
                f"(password {sip_password}) and call sip:{PHONE_ENTRY}@{host}:{sip_port} from "
                f"another one{' (the demo-phone IVR answers first)' if flows_dir else ''}.\n"
                f"  Agent '{PHONE_AGENT}' is Ready; after a missed call, make it "
                f"Ready again:\n  curl -X PUT -H 'Authorization: Bearer {token}' -H "
                f"'content-type: application/json' -d '{{\"state\": \"ready\"}}' "
                f"{base}/agents/{PHONE_AGENT}/state"
            )
        console.print("Press Ctrl-C to stop.")
        rng = random.Random(seed)  # noqa: S311 - simulated traffic, not secrets
        sim = LiveSimulation(
            built.runtime,
            built.bus,
            rng,
            Traffic(arrivals_per_minute=arrivals_per_minute),
            customers=not no_traffic,
            humans=frozenset({PHONE_AGENT}),
        )
        anyio.run(lambda: _serve(built, sim, duration=duration), backend_options=_loop_options())
        console.print(
            f"stopped: {sim.created} simulated interaction(s) created, "
            f"{built.runtime.events_applied} event(s) logged"
        )
    finally:
        built.close()


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)
