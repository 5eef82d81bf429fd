"""`callbridge serve`: settings from a TOML file and the environment, then a live API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from tests_support import free_port


def test_serve_reads_its_settings_and_answers(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "callbridge.toml"
    config.write_text(f'database_url = "sqlite:///{tmp_path / "cb.db"}"\nport = 1\n')
    env = os.environ | {"CALLBRIDGE_ADMIN_TOKEN": "from-env", "CALLBRIDGE_LOG_JSON": "true"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "callbridge",
            "serve",
            "--config",
            str(config),
            "--port",
            str(port),
        ],  # the flag beats the file's port
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).json() == {"status": "ok"}:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        queues = httpx.get(f"{base}/queues", headers={"Authorization": "Bearer from-env"})
        assert queues.status_code == 200
        assert queues.json() == []
        assert (tmp_path / "cb.db").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert "Application shutdown complete" in err
    assert proc.returncode in (0, 130), err  # 130: uvicorn re-raises the SIGINT it handled


def test_serve_refuses_a_bad_setting_by_name(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("port = 'eighty'\n")
    done = subprocess.run(
        [sys.executable, "-m", "callbridge", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "port" in done.stderr
