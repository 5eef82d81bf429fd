"""The domain stays pure: the real tree passes, and each kind of violation is caught."""

from __future__ import annotations

from pathlib import Path

import pytest
from archcheck import Violation, check, main

REPO_ROOT = Path(__file__).resolve().parents[2]


def make_tree(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / "src" / "callbridge" / "domain" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def messages(violations: list[Violation]) -> list[str]:
    return [str(v) for v in violations]


def test_real_domain_is_clean() -> None:
    assert messages(check(REPO_ROOT)) == []


def test_bad_module_is_named_with_file_and_line(tmp_path: Path) -> None:
    make_tree(tmp_path, {"__init__.py": "", "bad.py": '"""Bad."""\n\nimport sqlalchemy.orm\n'})

    [violation] = check(tmp_path)

    assert violation.path == Path("src/callbridge/domain/bad.py")
    assert violation.line == 3
    assert str(violation).startswith("src/callbridge/domain/bad.py:3: imports sqlalchemy.orm")


def test_main_exits_1_and_prints_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_tree(tmp_path, {"bad.py": "from asyncio import sleep\n"})

    assert main(["--root", str(tmp_path)]) == 1

    assert "src/callbridge/domain/bad.py:1: imports asyncio" in capsys.readouterr().out


def test_main_exits_0_when_clean(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {
            "ok.py": "import random\n\ndef pick(rng: random.Random) -> float:\n"
            "    return rng.random()\n"
        },
    )
    assert main(["--root", str(tmp_path)]) == 0


@pytest.mark.parametrize(
    "source",
    [
        "import asyncio",
        "import threading as t",
        "from fastapi import APIRouter",
        "import prometheus_client",
        "from callbridge.adapters.store import db",
        "from callbridge import services",
        "import callbridge.app",
        "from callbridge.sim.driver import run",
    ],
)
def test_forbidden_absolute_imports(tmp_path: Path, source: str) -> None:
    make_tree(tmp_path, {"m.py": source + "\n"})
    [violation] = check(tmp_path)
    assert "imports" in violation.what


@pytest.mark.parametrize(
    ("relative", "source", "expected"),
    [
        ("routing/engine.py", "from ...services import queueing", "callbridge.services"),
        ("routing/engine.py", "from ... import cli", "callbridge.cli"),
        ("routing/__init__.py", "from ...adapters import web", "callbridge.adapters"),
        ("m.py", "from ..sim import driver", "callbridge.sim "),
    ],
)
def test_relative_imports_are_resolved(
    tmp_path: Path, relative: str, source: str, expected: str
) -> None:
    make_tree(tmp_path, {relative: source + "\n"})
    [violation] = check(tmp_path)
    assert violation.what.startswith(f"imports {expected}")


def test_relative_imports_inside_the_domain_are_fine(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {
            "routing/engine.py": "from ..ids import AgentId\nfrom . import strategies\n",
            "routing/__init__.py": "from .engine import route\n",
        },
    )
    assert check(tmp_path) == []


def test_relative_import_above_the_top(tmp_path: Path) -> None:
    make_tree(tmp_path, {"m.py": "from .... import x\n"})
    [violation] = check(tmp_path)
    assert "beyond the top-level package" in violation.what


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("import time\nx = time.time()", "time.time"),
        ("import time as t\nx = t.monotonic()", "time.monotonic"),
        ("from time import monotonic\nx = monotonic()", "time.monotonic"),
        ("from datetime import datetime\nx = datetime.now()", "datetime.datetime.now"),
        ("import datetime\nx = datetime.datetime.utcnow()", "datetime.datetime.utcnow"),
        ("from datetime import date\nx = date.today()", "datetime.date.today"),
        ("import random\nx = random.random()", "random.random"),
        ("import random\nx = random.choice([1])", "random.choice"),
        ("from random import randint\nx = randint(1, 2)", "random.randint"),
        ("import random as r\nr.shuffle([])", "random.shuffle"),
        ("import importlib\nm = importlib.import_module('socket')", "importlib.import_module"),
    ],
)
def test_clock_and_global_rng_calls(tmp_path: Path, source: str, name: str) -> None:
    make_tree(tmp_path, {"m.py": source + "\n"})
    [violation] = check(tmp_path)
    assert violation.line == 2
    assert violation.what.startswith(f"calls {name}()")


def test_rng_and_clock_as_parameters_are_fine(tmp_path: Path) -> None:
    source = """\
import random
from datetime import datetime, timezone


def jitter(rng: random.Random, now: float) -> float:
    return now + rng.expovariate(1.0) + rng.uniform(0, 1)


def seeded() -> random.Random:
    return random.Random(42)


def stamp(now: float) -> datetime:
    return datetime.fromtimestamp(now, tz=timezone.utc)
"""
    make_tree(tmp_path, {"m.py": source})
    assert check(tmp_path) == []


def test_unparsable_module_is_reported(tmp_path: Path) -> None:
    make_tree(tmp_path, {"m.py": "def broken(:\n"})
    [violation] = check(tmp_path)
    assert violation.line == 1
    assert "cannot parse" in violation.what
