"""The package's layers: every import points downward, no cycle, no private reach.

Reads every module's source with :mod:`ast` (function-level imports
included) and checks the rules of ``docs/architecture.md``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sklearn_ser"

#: Bottom to top. A unit may import units of its own layer or of lower ones.
LAYERS = [
    {"_version", "exceptions", "utils"},
    {"io"},
    {"features", "datasets"},
    {"callbacks"},
    {"nn"},
    {"recipes"},
    {"pipeline", "evaluation", "persistence", "timeline", "distributed", "explain", "runtime",
     "export"},
    {"cli", "__main__"},
]
LAYER_OF = {unit: index for index, layer in enumerate(LAYERS) for unit in layer}
#: Modules whose function-level imports of the package are part of their job:
#: the package's façade and the front end's load the estimators on first use, so
#: that ``import sklearn_ser`` imports neither PyTorch nor scikit-learn.
LAZY_FACADES = {"sklearn_ser", "sklearn_ser.features"}
#: The longest a module may grow (lines).
MAX_LINES = 450


def _module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_package(path):
    return path.name == "__init__.py"


def _imports(path):
    """``(imported module, imported names, lineno, at module level)`` of one file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = _module_name(path)
    package = name if _is_package(path) else name.rpartition(".")[0]
    top_level = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append((alias.name, [], node.lineno, id(node) in top_level))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            names = [alias.name for alias in node.names]
            found.append((target, names, node.lineno, id(node) in top_level))
    return found


def _unit(module):
    """``sklearn_ser.nn._classifier`` -> ``nn``; the package itself -> ``None``."""
    parts = module.split(".")
    return parts[1] if parts[0] == "sklearn_ser" and len(parts) > 1 else None


def _edges():
    """Every import of the package's own code: ``(importer, unit, target, names, line, top)``."""
    edges = []
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = _module_name(path)
        for target, names, line, top in _imports(path):
            if target == "sklearn_ser" and names:
                # "from .. import nn" imports a unit by name; any other name comes
                # from the façade, which no module of the package may import
                for each in names:
                    unit = each if (PACKAGE / each).is_dir() or (PACKAGE / f"{each}.py").is_file() \
                        else "sklearn_ser"
                    edges.append((importer, _unit(importer), f"sklearn_ser.{unit}"
                                  if unit != "sklearn_ser" else unit, [each], line, top))
            elif target.startswith("sklearn_ser"):
                edges.append((importer, _unit(importer), target, names, line, top))
    return edges


EDGES = _edges()


def test_every_module_belongs_to_a_layer():
    units = {_unit(_module_name(path)) for path in PACKAGE.rglob("*.py")} - {None}
    assert units <= set(LAYER_OF), f"units without a layer: {sorted(units - set(LAYER_OF))}"


def test_no_module_imports_the_packages_facade():
    # sklearn_ser/__init__.py re-exports from every layer: importing it from
    # inside would import upward.
    facade = [f"{importer}:{line} imports {names} from sklearn_ser"
              for importer, unit, target, names, line, _ in EDGES
              if unit is not None and target == "sklearn_ser"]
    assert not facade, "\n".join(facade)


def test_imports_point_downward_only():
    upward = []
    for importer, unit, target, _, line, _ in EDGES:
        target_unit = _unit(target)
        if unit is None or target_unit is None or target_unit == unit:
            continue
        if LAYER_OF[target_unit] > LAYER_OF[unit]:
            upward.append(f"{importer}:{line} imports {target} (a higher layer)")
    assert not upward, "\n".join(upward)


def test_the_units_import_graph_has_no_cycle():
    graph = {}
    for _, unit, target, _, _, _ in EDGES:
        target_unit = _unit(target)
        if unit and target_unit and unit != target_unit:
            graph.setdefault(unit, set()).add(target_unit)
    visiting, done, cycles = set(), set(), []

    def visit(node, path):
        visiting.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor in visiting:
                cycles.append(" -> ".join([*path, successor]))
            elif successor not in done:
                visit(successor, [*path, successor])
        visiting.discard(node)
        done.add(node)

    for node in sorted(graph):
        if node not in done:
            visit(node, [node])
    assert not cycles, cycles


def test_no_import_reaches_into_another_units_private_names():
    private = []
    for importer, unit, target, names, line, _ in EDGES:
        target_unit = _unit(target)
        if target_unit is None or target_unit == unit:
            continue
        inner = target.split(".")[2:]  # below the unit: sklearn_ser.<unit>.<inner...>
        reached = [part for part in inner if part.startswith("_")]
        reached += [n for n in names if n.startswith("_") and not n.endswith("__")]
        if reached:
            private.append(f"{importer}:{line} imports {target} {names}")
    assert not private, "\n".join(private)


def test_the_package_is_imported_at_module_level_only():
    # Function-level imports of the package's own code hide cycles; only the
    # package's lazy façade uses them.
    inside = [f"{importer}:{line} imports {target}" for importer, _, target, _, line, top in EDGES
              if not top and importer not in LAZY_FACADES]
    assert not inside, "\n".join(inside)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")),
                         ids=lambda path: str(path.relative_to(PACKAGE)))
def test_modules_stay_short(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.name} has {lines} lines (at most {MAX_LINES})"


def _units_under_test(test_file):
    """The units a test file is about: ``test_labels.py`` -> ``nn`` (``nn/_labels.py``),
    ``test_evaluation.py`` -> ``evaluation``, ``test_nn_modules.py`` -> ``nn``,
    ``cli/test_train.py`` -> ``cli``."""
    tests = Path(__file__).resolve().parent
    relative = test_file.relative_to(tests)
    if len(relative.parts) > 1:
        return {relative.parts[0]}
    stem = test_file.stem.removeprefix("test_")
    units = {unit for unit in LAYER_OF if stem == unit or stem.startswith(f"{unit}_")}
    for unit in LAYER_OF:
        folder = PACKAGE / unit
        if folder.is_dir() and ((folder / f"_{stem}.py").is_file() or (folder / f"{stem}.py")
                                .is_file()):
            units.add(unit)
    return units


def test_no_test_reaches_into_the_private_names_of_another_package():
    tests = Path(__file__).resolve().parent
    private = []
    for path in sorted(tests.rglob("test_*.py")):
        allowed = _units_under_test(path)
        for target, names, line, _ in _test_imports(path):
            unit = _unit(target)
            if unit is None or unit in allowed or unit == "_version":
                continue
            inner = target.split(".")[2:]
            if [part for part in inner if part.startswith("_")] or [
                    n for n in names if n.startswith("_") and not n.endswith("__")]:
                private.append(f"{path.relative_to(tests)}:{line} imports {target} {names}")
    assert not private, "\n".join(private)


def _test_imports(path):
    """Absolute imports of the package in a test file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level \
                and node.module.startswith("sklearn_ser"):
            yield node.module, [alias.name for alias in node.names], node.lineno, None
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("sklearn_ser"):
                    yield alias.name, [], node.lineno, None
