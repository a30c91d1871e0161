"""The code's shape, as ARCHITECTURE.md states it: no import circle anywhere in src/ (not even
inside a package, not even for type hints), and no module over 400 lines."""

from __future__ import annotations

import itertools
import re
import textwrap
import tomllib
from collections.abc import Iterable
from pathlib import Path

import grimp
import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
MAX_LINES = 400


def import_graph(package: str) -> grimp.ImportGraph:
    """Every import of `package`'s modules, those under `if TYPE_CHECKING:` included, and
    function-level ones too; fresh each run (no cache)."""
    return grimp.build_graph(package, exclude_type_checking_imports=False, cache_dir=None)


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Each group of modules that import one another round a circle (the strongly connected
    components with more than one module, and any module that imports itself), sorted."""
    imports = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    for root in sorted(imports):
        if root in index:
            continue
        work = [(root, iter(imports[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, pending = work[-1]
            step = next(pending, None)
            if step is not None:
                if step not in index:
                    index[step] = low[step] = len(index)
                    stack.append(step)
                    on_stack.add(step)
                    work.append((step, iter(imports[step])))
                elif step in on_stack:
                    low[module] = min(low[module], index[step])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == module:
                        break
                if len(group) > 1 or module in imports[module]:
                    groups.append(sorted(group))
    return sorted(groups)


def describe(graph: grimp.ImportGraph, groups: Iterable[list[str]]) -> str:
    """Each circle's modules, then one way round it, import by import, with the line."""
    parts = []
    for group in groups:
        first = group[0]
        inside = sorted(set(graph.find_modules_directly_imported_by(first)) & set(group))
        if inside[0] == first:  # it imports itself
            steps = [first, first]
        else:
            steps = [first, *(graph.find_shortest_chain(importer=inside[0], imported=first) or ())]
        lines = [f"circle of {len(group)} module(s): {', '.join(group)}"]
        for importer, imported in itertools.pairwise(steps):
            detail = graph.get_import_details(importer=importer, imported=imported)[0]
            lines.append(
                f"  {importer}:{detail['line_number']} -> {imported}  "
                f"({detail['line_contents'].strip()})"
            )
        parts.append("\n".join(lines))
    return "\n".join(parts)


def test_src_has_no_import_circle() -> None:
    graph = import_graph("thirdbook")
    groups = import_cycles(graph)
    assert not groups, "import circles in src/:\n" + describe(graph, groups)


def _package(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_a_circle_made_only_of_type_hints_is_found_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _package(
        tmp_path,
        {
            "circleprobe/__init__.py": "",
            "circleprobe/tables.py": "from circleprobe.hub import Hub\n",
            "circleprobe/hub.py": """\
                from __future__ import annotations
                from typing import TYPE_CHECKING
                if TYPE_CHECKING:
                    from circleprobe.tables import Table
                class Hub: ...
                """,
            "circleprobe/leaf.py": "from circleprobe.hub import Hub\n",
            "circleprobe/lazy.py": "def f() -> None:\n    from circleprobe import lazy\n",
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = import_graph("circleprobe")
    groups = import_cycles(graph)
    assert groups == [["circleprobe.hub", "circleprobe.tables"], ["circleprobe.lazy"]]
    text = describe(graph, groups)
    assert "circleprobe.hub:4 -> circleprobe.tables  (from circleprobe.tables import Table)" in text
    assert "circleprobe.tables:1 -> circleprobe.hub  (from circleprobe.hub import Hub)" in text


def _too_long(root: Path) -> dict[str, int]:
    counts = {}
    for path in sorted(root.rglob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            counts[path.relative_to(root).as_posix()] = lines
    return counts


def test_no_module_in_src_is_over_400_lines() -> None:
    assert (SRC / "thirdbook" / "__init__.py").is_file(), f"no thirdbook package under {SRC}"
    over = _too_long(SRC)
    assert not over, "modules over 400 lines: " + ", ".join(
        f"src/{name} ({n} lines)" for name, n in over.items()
    )


def test_the_line_limit_names_a_long_module(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "short.py").write_text("x = 1\n" * MAX_LINES)
    (tmp_path / "pkg" / "long.py").write_text("x = 1\n" * (MAX_LINES + 1))
    assert _too_long(tmp_path) == {"pkg/long.py": MAX_LINES + 1}


def test_architecture_md_names_every_package_contract_and_test_that_exist() -> None:
    """ARCHITECTURE.md stays a true map: each package of src/thirdbook in the code map, each
    import-linter contract in pyproject.toml named (and no other), each cited test file real."""
    root = SRC.parent
    text = (root / "ARCHITECTURE.md").read_text(encoding="utf-8")
    packages = sorted(
        p.name for p in (SRC / "thirdbook").iterdir() if (p / "__init__.py").is_file()
    )
    assert [p for p in packages if f"**`{p}/`**" not in text] == []
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = {c["name"] for c in pyproject["tool"]["importlinter"]["contracts"]}
    cited = set(re.findall(r'import-linter "([^"]+)"', text))
    assert cited == contracts
    tests = set(re.findall(r"`(tests/[\w/]+\.py)`", text))
    assert tests and [t for t in sorted(tests) if not (root / t).is_file()] == []
