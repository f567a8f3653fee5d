"""The package's import graph: no import cycles (module level or inside functions) and no
import pointing up the layers (kernel < components < tiles < replay < platforms).

Read from the source with `ast`, so an import inside a function (run only when the
function is) counts as much as one at the top of a module. Imports under
``if TYPE_CHECKING:`` are annotations only and do not count.
"""

import ast
import os

import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

#: (a package, packages it must never import): each layer only looks down
UPWARD = [
    ("tlmsim.kernel", ("tlmsim.components", "tlmsim.tiles", "tlmsim.replay",
                       "tlmsim.platforms")),
    ("tlmsim.components", ("tlmsim.tiles", "tlmsim.replay", "tlmsim.platforms")),
    ("tlmsim.tiles", ("tlmsim.replay", "tlmsim.platforms")),
    ("tlmsim", ("tlmsim.platforms",)),
]


def module_files(root):
    """{dotted module name: path} of tlmsim and the platforms (installed as
    tlmsim.platforms)."""
    out = {}
    for top, prefix in (("tlmsim", ["tlmsim"]), ("platforms", ["tlmsim", "platforms"])):
        for folder, _, names in os.walk(os.path.join(root, top)):
            rel = os.path.relpath(folder, os.path.join(root, top))
            parts = prefix + ([] if rel == "." else rel.split(os.sep))
            for name in names:
                if name.endswith(".py"):
                    stem = name[:-3]
                    out[".".join(parts if stem == "__init__" else parts + [stem])] = \
                        os.path.join(folder, name)
    return out


def _type_checking_only(node):
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test)


def imported_names(source, module, is_package=False, modules=()):
    """Dotted names `module` (its text: `source`) imports anywhere, except under
    ``if TYPE_CHECKING:``. ``from a import b`` gives ``a.b`` when that is one of `modules`
    (a submodule), else ``a`` (a package's ``__init__`` importing its submodules is no
    cycle by itself)."""
    package = module if is_package else module.rpartition(".")[0]
    out, stack = set(), [ast.parse(source)]
    while stack:
        node = stack.pop()
        if _type_checking_only(node):
            continue
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            out |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                    for a in node.names}
        stack.extend(ast.iter_child_nodes(node))
    return out


def import_graph(root):
    """{module: set of tlmsim modules it imports} over the whole package."""
    files = module_files(root)
    graph = {}
    for name, path in files.items():
        with open(path, encoding="utf-8") as fh:
            names = imported_names(fh.read(), name, path.endswith("__init__.py"), files)
        graph[name] = {n for n in names if n in files and n != name}
    return graph


def cycles(graph):
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _within(module, package):
    return module == package or module.startswith(package + ".")


def upward_imports(graph):
    """(importer, imported) pairs that point up the layers (see `UPWARD`)."""
    bad = []
    for module, deps in sorted(graph.items()):
        for low_layer, above in UPWARD:
            if not _within(module, low_layer) or any(_within(module, a) for a in above):
                continue
            bad += [(module, d) for d in sorted(deps) if any(_within(d, a) for a in above)]
    return bad


@pytest.fixture(scope="module")
def graph():
    return import_graph(ROOT)


def test_the_graph_covers_the_package(graph):
    assert "tlmsim.activity.reader" in graph and "tlmsim.platforms.loihi" in graph
    assert "tlmsim.activity.network" in graph["tlmsim.activity.reader"]


def test_no_import_cycles(graph):
    assert cycles(graph) == []


def test_no_upward_imports(graph):
    assert upward_imports(graph) == []


def test_the_checks_see_what_they_look_for():
    """The detectors on made-up graphs: a lazy import closes a cycle, a TYPE_CHECKING one
    does not, an upward import is named."""
    lazy = imported_names("import os\ndef f():\n    from . import reader\n",
                          "tlmsim.activity.stats", modules={"tlmsim.activity.reader"})
    assert "tlmsim.activity.reader" in lazy
    typing_only = imported_names("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                 "    from tlmsim.tiles.datapath import X\n",
                                 "tlmsim.tiles.arithmetic")
    assert "tlmsim.tiles.datapath" not in typing_only
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    assert upward_imports({"tlmsim.kernel.sim": {"tlmsim.components.bus"},
                           "tlmsim.tiles.x": {"tlmsim.kernel"},
                           "tlmsim.registry": {"tlmsim.platforms.loihi"},
                           "tlmsim.platforms.loihi": {"tlmsim.replay.snn"}}) == [
        ("tlmsim.kernel.sim", "tlmsim.components.bus"),
        ("tlmsim.registry", "tlmsim.platforms.loihi")]
