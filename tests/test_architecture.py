"""The import rules that keep the parts apart (docs/architecture.md):

- the runtime, which runs inside an environment and in the browser, imports only the
  standard library and itself;
- the engine imports no Django, no Channels, and nothing of the web side, the worker, the
  other apps or any models module; its pure rules import only the standard library;
- no module-level import circle exists between the project's modules.

Imports are read from the source (ast), so a rule is checked without running anything.
"""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "sandbox", "triggers", "lessons")
RUNTIME = ROOT / "sandbox" / "runtime"
RUNTIME_OWN = {"lambda_core", "bootstrap", "browser_bootstrap", "coldstart"}
ENGINE = ROOT / "sandbox" / "engine"
ENGINE_FORBIDDEN = ("django", "channels", "asgiref", "sandbox.worker", "sandbox.web", "sandbox.models",
                    "triggers", "lessons", "config")  # fmt: skip


def module_name(path):
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def imports_of(path, top_level_only=False):
    """The modules a file imports (absolute names; relative imports resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return found


def python_files(folder):
    return sorted(p for p in folder.rglob("*.py") if "migrations" not in p.parts)


def test_the_runtime_imports_only_the_standard_library_and_itself():
    problems = []
    for path in python_files(RUNTIME):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in RUNTIME_OWN:
                    problems.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not problems, "\n".join(problems)


def test_the_engine_imports_no_django_channels_models_or_other_parts():
    problems = []
    for path in python_files(ENGINE):
        for name in imports_of(path):
            if name.startswith(ENGINE_FORBIDDEN) or name.split(".")[-1] == "models":
                problems.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not problems, "\n".join(problems)


def test_the_pure_rules_import_only_the_standard_library():
    problems = []
    for path in python_files(ENGINE / "rules"):
        for name in imports_of(path):
            if name.split(".")[0] not in sys.stdlib_module_names:
                problems.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not problems, "\n".join(problems)


def test_no_module_level_import_circle_exists():
    modules = {}
    for package in PACKAGES:
        for path in python_files(ROOT / package):
            if path.is_relative_to(RUNTIME):
                continue  # runs as top-level modules of its own inside the environment
            modules[module_name(path)] = path
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported in imports_of(path, top_level_only=True):
            # `from a.b import c` names a.b and maybe the module a.b.c: keep what exists.
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name and not name.startswith(imported + "."):
                targets.add(imported)
        graph[name] = targets
    cycle = _find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def _find_cycle(graph):
    state = {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*trail[trail.index(nxt):], nxt] if nxt in trail else [node, nxt]
            if nxt not in state:
                found = visit(nxt, [*trail, nxt])
                if found:
                    return found
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None
