"""Every feature has the same shape: the files named in ARCHITECTURE.md, views that call services, no import circles."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

COGS = Path(__file__).resolve().parents[2] / "labelbot" / "features"
FEATURES = sorted(p for p in COGS.iterdir() if p.is_dir() and (p / "__init__.py").exists())


def _module_name(path: Path) -> str:
    parts = path.relative_to(COGS.parents[1]).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


MODULES = {_module_name(path) for path in COGS.rglob("*.py")}


def _imported(node: ast.Import | ast.ImportFrom, module: str) -> list[str]:
    """The cogs modules an import statement needs: `from labelbot.features.x import _y` needs the submodule labelbot.features.x._y.

    A package's __init__ holds only setup(), so needing a submodule of a package being loaded is no circle.
    """
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.rsplit(".", node.level)[0]
        base = f"{package}.{base}" if base else package
    submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES]
    return submodules or [base]


def _imports(path: Path) -> tuple[set[str], list[str]]:
    """The cogs modules this file imports when it is loaded, and the imports of cogs modules hidden inside functions."""
    module = _module_name(path)
    tree = ast.parse(path.read_text(), str(path))
    at_load: set[str] = set()
    hidden: list[str] = []

    def walk(nodes: list[ast.stmt], in_function: bool) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node):
                walk(node.orelse, in_function)
                continue
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [name for name in _imported(node, module) if name.startswith("labelbot.features.")]
                if in_function and names:
                    hidden.append(f"{path.relative_to(COGS.parents[1])}:{node.lineno} imports {names[0]}")
                elif not in_function:
                    at_load.update(names)
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                    walk(list(ast.iter_child_nodes(child)), True)  # type: ignore[arg-type]
                elif isinstance(child, ast.stmt):
                    walk([child], in_function)
                elif isinstance(child, ast.ExceptHandler):
                    walk(child.body, in_function)

    walk(tree.body, False)
    return at_load, hidden


def _graph() -> dict[str, set[str]]:
    files = {_module_name(path): path for path in COGS.rglob("*.py")}
    return {name: {dep for dep in _imports(path)[0] if dep in files and dep != name} for name, path in files.items()}


def test_every_feature_has_a_cog() -> None:
    missing = [feature.name for feature in FEATURES if not (feature / "_cog.py").exists()]
    assert not missing, f"features without _cog.py: {missing}"


def test_a_feature_with_components_keeps_them_in_views() -> None:
    """Buttons, selects and modals live in _views.py, so a reader finds every component of a feature in one place."""
    stray = []
    for path in COGS.rglob("*.py"):
        if path.name in {"_views.py", "_render.py"}:
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(base) for base in node.bases}
                if any(base.startswith(("discord.ui.", "PersistentItem", "OwnedView")) for base in bases):
                    stray.append(f"{path.relative_to(COGS.parents[1])}: {node.name}")
    assert not stray, f"components outside _views.py: {stray}"


@pytest.mark.parametrize("views", sorted(COGS.rglob("_views.py")), ids=lambda p: p.parent.name)
def test_views_never_reach_into_a_cog(views: Path) -> None:
    """A view calls the service; a cog it looked up could be unloaded, reloaded or renamed under it."""
    text = views.read_text()
    assert "get_cog" not in text
    assert "._cog" not in text


def test_no_import_is_hidden_in_a_function_to_dodge_a_circle() -> None:
    hidden = [line for path in COGS.rglob("*.py") for line in _imports(path)[1]]
    assert not hidden, f"function-level imports of cogs modules: {hidden}"


def test_no_import_circles_among_cogs_modules() -> None:
    graph = _graph()
    circles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        stack.append(name)
        for dep in sorted(graph[name]):
            if state.get(dep) == 1:
                circles.append([*stack[stack.index(dep) :], dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert not circles, "import circles: " + "; ".join(" -> ".join(circle) for circle in circles)


def test_every_job_handler_is_registered_in_the_features_jobs_module() -> None:
    """One place per feature says which scheduled jobs it runs, so none is registered twice or forgotten on unload."""
    stray = [
        f"{path.relative_to(COGS.parents[1])}:{number}"
        for path in COGS.rglob("*.py")
        if path.name != "_jobs.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if ".jobs.register(" in line or ".jobs.unregister(" in line
    ]
    assert not stray, f"jobs registered outside _jobs.py: {stray}"


def _opens_a_session(path: Path) -> list[str]:
    """Where a module reaches for a sessionmaker: `x.sessionmaker(...)`, `x.sessionmaker.begin()`, or passes one on."""
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        named = (isinstance(node, ast.Attribute) and node.attr == "sessionmaker") or (
            isinstance(node, ast.Name) and node.id == "sessionmaker"
        )
        if named:
            found.append(f"{path.relative_to(COGS.parents[1])}:{node.lineno}")
    return found


@pytest.mark.parametrize(
    "module",
    sorted(p for p in COGS.rglob("*.py") if p.name in {"_service.py", "_repository.py"}),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_services_and_repositories_never_open_a_session(module: Path) -> None:
    """The caller (command, view, job handler) owns the unit of work; a service opening its own can't be joined to it.

    A session a service opens behind the caller's back is a second transaction the caller can't see: on SQLite's one
    connection it waits for (or blocks) the caller's own, and a Discord call between the two is easy to slip in.
    """
    assert not _opens_a_session(module), f"{module.name} opens a session: {_opens_a_session(module)}"
