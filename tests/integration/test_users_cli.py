"""`callbridge users`: create a user from the machine, list, unlock, reset MFA."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr
from typer.testing import CliRunner

from callbridge.app import build
from callbridge.cli.main import app
from callbridge.settings import Settings

PASSWORD = "a long enough passphrase"


def test_create_list_and_log_in(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cb.db'}"
    runner = CliRunner()
    made = runner.invoke(
        app,
        [
            "users",
            "create",
            "sam",
            "--role",
            "supervisor",
            "--password-stdin",
            "--database-url",
            url,
        ],
        input=PASSWORD + "\n",
    )
    assert made.exit_code == 0, made.output
    assert "created user sam (supervisor)" in made.output
    listed = runner.invoke(app, ["users", "list", "--database-url", url])
    assert "sam" in listed.output and "admin" in listed.output
    weak = runner.invoke(
        app,
        ["users", "create", "tim", "--role", "agent", "--password-stdin", "--database-url", url],
        input="short\n",
    )
    assert weak.exit_code == 2 and "password" in weak.output
    built = build(Settings(database_url=url, admin_token=SecretStr("t")), run_timer_loop=False)
    try:
        with TestClient(built.api) as client:
            response = client.post("/auth/login", json={"username": "sam", "password": PASSWORD})
            assert response.status_code == 200 and response.json()["mfa"] == "enrol"
            for _ in range(5):
                client.post("/auth/login", json={"username": "sam", "password": "wrong one!!"})
            assert (
                client.post(
                    "/auth/login", json={"username": "sam", "password": PASSWORD}
                ).status_code
                == 429
            )
    finally:
        built.close()
    unlocked = runner.invoke(app, ["users", "unlock", "account", "sam", "--database-url", url])
    assert unlocked.exit_code == 0, unlocked.output
    again = runner.invoke(app, ["users", "unlock", "account", "sam", "--database-url", url])
    assert again.exit_code == 2 and "no lockout" in again.output
    reset = runner.invoke(app, ["users", "reset-mfa", "sam", "--database-url", url])
    assert reset.exit_code == 0, reset.output
