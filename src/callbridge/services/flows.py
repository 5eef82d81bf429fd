"""IVR flow files on disk -> a `FlowBook`: read each file, check that its prompt files exist
next to it, and follow transfers to the flows they name (`<name>.yaml` in the same directory).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from callbridge.domain.ivr import Flow, FlowBook, FlowError, check_files, parse_flow
from callbridge.domain.ivr.hours import Schedule

SUFFIXES = (".yaml", ".yml")


def load_flow(path: Path) -> Flow:
    """The checked flow in `path`, prompt files included; `FlowError` names the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FlowError(f"cannot be read: {exc}", file=str(path)) from None
    flow = parse_flow(text, str(path), str(path.resolve().parent))
    check_files(flow, lambda p: Path(p).is_file())
    return flow


def flow_files(paths: Iterable[Path]) -> list[Path]:
    """The flow files among `paths`: files as given, directories by their YAML files."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix in SUFFIXES))
        else:
            found.append(path)
    return found


def load_book(
    paths: Iterable[Path], hours: Mapping[str, Schedule] | None = None
) -> tuple[FlowBook, list[Flow]]:
    """A book of the flows in `paths` (files or directories) and every flow they transfer to,
    and the flows `paths` named themselves, in order. `hours`: the center's business hours the
    flows may name (None: away from the server, not checked)."""
    named = [load_flow(path) for path in flow_files(paths)]
    flows = {flow.name: flow for flow in named}
    todo = list(named)
    while todo:
        flow = todo.pop()
        for ref in flow.flow_refs:
            if ref.flow in flows:
                continue
            # the book reports a flow still missing, at the transfer that names it
            path = _sibling(Path(flow.origin), ref.flow)
            if path is not None:
                flows[ref.flow] = load_flow(path)
                todo.append(flows[ref.flow])
    return FlowBook.of(flows.values(), hours), named


def _sibling(origin: Path, name: str) -> Path | None:
    for suffix in SUFFIXES:
        candidate = origin.with_name(name + suffix)
        if candidate.is_file():
            return candidate
    return None


def load_flow_dir(directory: Path, hours: Mapping[str, Schedule] | None = None) -> FlowBook:
    """Every flow in `directory` (its *.yaml and *.yml files), checked, as one book."""
    if not directory.is_dir():
        raise FlowError("is not a directory of flow files", file=str(directory))
    book, _ = load_book([directory], hours)
    return book


def check_text(
    text: str,
    book: FlowBook | None,
    directory: Path | None,
    hours: Mapping[str, Schedule] | None = None,
) -> Flow:
    """A flow being written, checked as `flow check` would and against the flows the server
    runs: its transfers must reach one of them (or itself), its numbers must be free (unless
    it replaces the flow of the same name), its prompt files must exist under `directory`, and
    the business hours it names must be among `hours` (None: not checked)."""
    origin = "the flow"
    base = str(directory.resolve()) if directory is not None else None
    flow = parse_flow(text, origin, base)
    check_files(flow, lambda p: Path(p).is_file())
    others = [f for name, f in (book or {}).items() if name != flow.name]
    FlowBook.of([*others, flow], hours)
    return flow
