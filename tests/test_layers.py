"""Layers import only downward, and no module circle exists (static imports, function-level ones included).

0 core: errors, fileutil, config, viz, core/ (loop, phases, hooks, checkpoint, spec, optim, family)
1 parts: data, nets, losses, stabilizers
2 families: families/, presets
3 tools: run, metrics, monitor, sample, drs, ratio, latent, cond_eval, bench, export, augment
4 commands: cli and the *_cli modules, __main__
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1] / "gankit"
LAYERS = {
    0: ["gankit", "gankit.errors", "gankit.fileutil", "gankit.config", "gankit.viz", "gankit.core"],
    1: ["gankit.data", "gankit.nets", "gankit.losses", "gankit.stabilizers"],
    2: ["gankit.families", "gankit.presets"],
    3: ["gankit.run", "gankit.metrics", "gankit.monitor", "gankit.sample", "gankit.drs", "gankit.ratio",
        "gankit.latent", "gankit.cond_eval", "gankit.bench", "gankit.export", "gankit.translate",
        "gankit.enhance", "gankit.speech", "gankit.augment"],
    4: ["gankit.cli", "gankit.__main__", "gankit.latent_cli", "gankit.metrics.cli", "gankit.metrics.classifier_cli"],
}


def layer_of(module: str) -> int:
    """The layer of the longest matching prefix."""
    best, found = -1, None
    for layer, prefixes in LAYERS.items():
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best:
                best, found = len(p), layer
    if found is None:
        raise AssertionError(f"{module} is in no layer; add it to LAYERS in {__file__}")
    return found


def modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports(name: str, path: Path) -> set[str]:
    """gankit modules imported anywhere in the file (relative imports resolved)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m == "gankit" or m.startswith("gankit.")}


MODULES = modules()
GRAPH = {name: {m for m in imports(name, path) if m in MODULES and m != name} for name, path in MODULES.items()}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_downward(name):
    own = layer_of(name)
    up = sorted(m for m in GRAPH[name] if layer_of(m) > own)
    assert not up, f"{name} (layer {own}) imports upward: {', '.join(f'{m} (layer {layer_of(m)})' for m in up)}"


def _with_parents(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Importing a.b.c runs a/__init__ and a/b/__init__ first: count those as imports too (not 'gankit' itself,
    nor the importing module's own packages, which are already running when it is imported)."""
    out = {}
    for name, deps in graph.items():
        full = set(deps)
        for d in deps:
            parts = d.split(".")
            full |= {p for i in range(2, len(parts)) if not name.startswith((p := ".".join(parts[:i])) + ".")}
        out[name] = {d for d in full if d in graph and d != name and d != "gankit"}
    return out


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state and (c := visit(m)):
                return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (c := visit(n)):
            return c
    return None


def test_no_import_circle():
    cycle = find_cycle(_with_parents(GRAPH))
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_the_checker_finds_circles_and_upward_imports():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    # a submodule that imports its own package (`from gankit.data import images` in gankit.data.paired) while the
    # package's __init__ imports the submodule is a circle; a sibling imported by its full name is not
    pkg = {"p": {"p.x", "p.y"}, "p.x": {"p", "p.y"}, "p.y": set()}
    assert find_cycle(_with_parents(pkg)) == ["p", "p.x", "p"]
    pkg["p.x"] = {"p.y"}
    assert find_cycle(_with_parents(pkg)) is None
    assert layer_of("gankit.core.loop") == 0 and layer_of("gankit.metrics.cli") == 4 and layer_of("gankit.metrics.fid") == 3


def test_trainer_knows_no_model_roles():
    """The loop, phases and hooks of the core never name a generator, discriminator or latent code."""
    import re

    for path in (ROOT / "core").glob("*.py"):
        code = "\n".join(line.split("#")[0] for line in path.read_text().splitlines())
        hits = re.findall(r"""["'](?:G|D|E|D2|G_ema)["']|\bz_dim\b|sample_z|models\[""", code)
        assert not hits, f"{path.name}: {hits}"
