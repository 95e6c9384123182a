"""The package's import rules (docs/architecture.md, "Import rules"), checked on the source.

Every ``import ptalker...`` / ``from ptalker... import`` statement, at module level or inside a
function (lazy imports count too), is mapped to the parts it joins; an import that a rule
forbids, and any cycle between parts, fails with the file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ptalker"
FOUNDATION = {"", "errors", "constants", "config", "fileio", "safe_pickle"}
"""Root modules any part may import ('' is the package itself: its ``__version__``)."""
ALLOWED = {
    "foundation": set(),
    "mesh": set(),
    "flame": {"mesh"},
    "audio": set(),
    "losses": set(),
    "metrics": {"mesh"},
    "render": {"mesh", "audio"},
    "export": {"mesh", "audio"},
    "plots": {"mesh", "metrics", "audio", "data.synth.visemes"},
    "models": {"audio", "losses"},
    "controls": {"mesh", "flame", "audio", "metrics"},
    "data": {"mesh", "flame", "audio", "controls"},
    "retarget": {"mesh"},
    "pipelines": {"mesh", "flame", "audio", "losses", "metrics", "render", "export", "plots", "models", "data",
                  "controls", "retarget"},
    "training": {"mesh", "flame", "audio", "losses", "metrics", "render", "export", "plots", "models", "data",
                 "pipelines", "controls", "retarget"},
    "evaluation": {"mesh", "flame", "audio", "losses", "metrics", "render", "export", "plots", "models", "data",
                   "pipelines", "controls", "retarget"},
    "cli": {"mesh", "flame", "audio", "losses", "metrics", "render", "export", "plots", "models", "data",
            "pipelines", "training", "evaluation", "controls", "retarget"},
    "edit": {"pipelines"},
    "__main__": {"cli"},
}
"""part -> the other parts it may import (besides the foundation and itself)."""


def part_of(module: str) -> str:
    """The part a module ('ptalker.x.y') belongs to: its first folder, 'foundation' for the root modules."""
    name = module.split(".", 1)[1] if "." in module else ""
    head = name.split(".", 1)[0]
    return "foundation" if head in FOUNDATION else head


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every ptalker import in ``path``, lazy ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.split(".")[0] == "ptalker":
            found += [(node.lineno, node.module)]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.split(".")[0] == "ptalker"]
    assert not any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(ast.parse(path.read_text()))), \
        f"{path}: relative import; write absolute ptalker.* imports"
    return found


def module_name(path: Path) -> str:
    parts = ("ptalker",) + path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def allowed(source: str, target: str) -> bool:
    """May module ``source`` import module ``target``?"""
    source_part, target_part = part_of(source), part_of(target)
    if target_part in ("foundation", source_part):
        return True
    permitted = ALLOWED[source_part]
    dotted = target.split(".", 1)[1] if "." in target else ""
    return target_part in permitted or any(dotted == p or dotted.startswith(p + ".") for p in permitted if "." in p)


def edges() -> list[tuple[str, int, str, str]]:
    """(file, line, source module, target module) of every ptalker import in the package."""
    return [(str(path.relative_to(PACKAGE.parent)), line, module_name(path), target)
            for path in sorted(PACKAGE.rglob("*.py")) for line, target in imports(path)]


def test_every_part_has_a_rule():
    parts = {part_of(module_name(path)) for path in PACKAGE.rglob("*.py")}
    assert parts <= set(ALLOWED), f"parts without an import rule: {sorted(parts - set(ALLOWED))}"


def test_imports_follow_the_rules():
    broken = [f"{file}:{line}: {source} imports {target} ({part_of(source)} may import only "
              f"{', '.join(sorted(ALLOWED[part_of(source)])) or 'the foundation'})"
              for file, line, source, target in edges() if not allowed(source, target)]
    assert not broken, "imports that break the rules:\n" + "\n".join(broken)


def test_no_import_cycles_between_parts():
    graph: dict[str, set[str]] = {}
    for _, _, source, target in edges():
        if part_of(source) != part_of(target):
            graph.setdefault(part_of(source), set()).add(part_of(target))
    done, stack = set(), []

    def visit(node: str) -> None:
        assert node not in stack, f"import cycle between parts: {' -> '.join(stack[stack.index(node):] + [node])}"
        if node in done:
            return
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            visit(nxt)
        stack.pop()
        done.add(node)

    for node in sorted(graph):
        visit(node)


def test_no_module_cycles_inside_a_part():
    """No module imports itself through others, not even through a lazy import."""
    graph: dict[str, set[str]] = {}
    for _, _, source, target in edges():
        graph.setdefault(source, set()).add(target)
    for start in graph:
        seen, frontier = set(), [start]
        while frontier:
            for nxt in graph.get(frontier.pop(), ()):
                assert nxt != start, f"import cycle through {start}"
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)


def test_the_checker_catches_a_forbidden_import():
    assert not allowed("ptalker.models.ptalker", "ptalker.data.layout")
    assert not allowed("ptalker.metrics.face_measures", "ptalker.flame.masks")
    assert not allowed("ptalker.pipelines.animator", "ptalker.training.loop")
    assert not allowed("ptalker.plots.lve_bars", "ptalker.evaluation.score")
    assert allowed("ptalker.plots.lip_opening", "ptalker.data.synth.visemes")
    assert not allowed("ptalker.plots.lip_opening", "ptalker.data.synth.corpus")
    assert allowed("ptalker.training.loop", "ptalker.pipelines.checkpoint")
