"""Architecture check: the domain stays pure.

Walks src/callbridge/domain/**/*.py and reports, as file:line, every import of an I/O, framework
or outer-layer module and every call that reads the wall clock or the global RNG. The domain takes
time and randomness as parameters (`Clock`, `random.Random`) so the simulator can run it.

Usage: python tools/archcheck.py [--root REPO_ROOT]    (exit 1 when anything is found)
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DOMAIN = Path("src", "callbridge", "domain")

FORBIDDEN_TOP_LEVEL = frozenset(
    {
        "asyncio",
        "sqlalchemy",
        "alembic",
        "fastapi",
        "starlette",
        "uvicorn",
        "httpx",
        "requests",
        "redis",
        "socket",
        "ssl",
        "selectors",
        "threading",
        "subprocess",
        "psycopg",
        "structlog",
        "prometheus_client",
    }
)
FORBIDDEN_PACKAGES = (
    "callbridge.adapters",
    "callbridge.services",
    "callbridge.cli",
    "callbridge.sim",
    "callbridge.app",
)

# Fully qualified names of calls that read the wall clock.
CLOCK_CALLS = frozenset(
    {
        "time.time",
        "time.time_ns",
        "time.monotonic",
        "time.monotonic_ns",
        "time.perf_counter",
        "time.perf_counter_ns",
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "datetime.datetime.today",
        "datetime.date.today",
    }
)
# Everything else in `random` is the hidden global generator; constructing a seeded one is fine.
RANDOM_ALLOWED = frozenset({"Random"})
DYNAMIC_IMPORTS = frozenset({"importlib.import_module", "__import__"})


@dataclass(frozen=True, order=True)
class Violation:
    path: Path
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def check(root: Path) -> list[Violation]:
    """Every violation in the domain package under `root` (the repository root), sorted."""
    domain = root / DOMAIN
    found: list[Violation] = []
    for path in sorted(domain.rglob("*.py")):
        found.extend(check_file(path, root))
    return sorted(found)


def check_file(path: Path, root: Path) -> list[Violation]:
    shown = path.relative_to(root)
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as exc:
        return [Violation(shown, exc.lineno or 1, f"cannot parse: {exc.msg}")]
    module = _module_name(path.relative_to(root / "src"))
    is_package = path.name == "__init__.py"
    return [Violation(shown, line, what) for line, what in _scan(tree, module, is_package)]


def _module_name(relative: Path) -> str:
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _scan(tree: ast.Module, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    # Local name -> fully qualified name, from every import in the file, wherever it appears.
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _check_import(node.lineno, alias.name)
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    top = alias.name.partition(".")[0]
                    aliases[top] = top
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node, module, is_package)
            if base is None:
                yield node.lineno, "relative import beyond the top-level package"
                continue
            yield from _check_import(node.lineno, base)
            for alias in node.names:
                if alias.name == "*":
                    continue
                full = f"{base}.{alias.name}"
                if _forbidden(base) is None:
                    yield from _check_import(node.lineno, full)
                aliases[alias.asname or alias.name] = full

    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _qualified(node.func, aliases)
        if name is None:
            continue
        if name in CLOCK_CALLS:
            yield node.lineno, f"calls {name}() (take a Clock or `now` parameter instead)"
        elif name.startswith("random.") and name.count(".") == 1:
            if name.removeprefix("random.") not in RANDOM_ALLOWED:
                yield node.lineno, f"calls {name}() (take a random.Random parameter instead)"
        elif name in DYNAMIC_IMPORTS:
            yield node.lineno, f"calls {name}() (dynamic imports defeat this check)"


def _check_import(line: int, name: str) -> Iterator[tuple[int, str]]:
    reason = _forbidden(name)
    if reason is not None:
        yield line, f"imports {name} ({reason})"


def _forbidden(name: str) -> str | None:
    if name.partition(".")[0] in FORBIDDEN_TOP_LEVEL:
        return "I/O or framework code is not allowed in the domain"
    for package in FORBIDDEN_PACKAGES:
        if name == package or name.startswith(package + "."):
            return "the domain must not depend on outer layers"
    return None


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str | None:
    """The absolute module an ImportFrom reads from, or None if it climbs above the top."""
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    keep = len(package) - (node.level - 1)
    if keep <= 0:
        return None
    parts = package[:keep]
    if node.module:
        parts.append(node.module)
    return ".".join(parts)


def _qualified(func: ast.expr, aliases: dict[str, str]) -> str | None:
    """`t.monotonic` -> `time.monotonic` when `t` is an imported name; None otherwise."""
    attrs: list[str] = []
    while isinstance(func, ast.Attribute):
        attrs.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return None
    if func.id in aliases:
        head = aliases[func.id]
    elif func.id == "__import__" and not attrs:
        head = "__import__"
    else:
        return None
    return ".".join([head, *reversed(attrs)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="repository root (default: the one holding this script)",
    )
    args = parser.parse_args(argv)
    root: Path = args.root
    if not (root / DOMAIN).is_dir():
        print(f"archcheck: no {DOMAIN} under {root}", file=sys.stderr)
        return 2
    violations = check(root)
    for violation in violations:
        print(violation)
    if violations:
        print(f"archcheck: {len(violations)} violation(s) in {DOMAIN}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
