"""The layering STYLE.md sets: surfaces (GraphQL, REST, the hosted pages, the worker) reach the data
only through `app.services`, which alone opens transactions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
# Below the use-case layer: a surface importing one of these has a use case of its own.
BELOW_SERVICES = ("app.db", "app.models", "app.store")
SURFACES = [
    *sorted((APP / "schema").glob("*.py")),
    *sorted((APP / "rest").glob("*.py")),
    APP / "web" / "hosted.py",
    APP / "web" / "hosted_form.py",
    APP / "worker.py",
]


def runtime_imports(path: Path) -> list[str]:
    """The modules a file imports when it runs (imports under `if TYPE_CHECKING:` left out)."""
    tree = ast.parse(path.read_text())
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


@pytest.mark.parametrize("path", SURFACES, ids=lambda path: str(path.relative_to(APP)))
def test_a_surface_reaches_the_data_only_through_services(path: Path) -> None:
    below = [
        module
        for module in runtime_imports(path)
        if any(module == name or module.startswith(f"{name}.") for name in BELOW_SERVICES)
    ]
    assert below == [], f"{path.relative_to(APP)} imports {below}; call app.services instead"


def test_the_check_sees_an_import_below_services(tmp_path: Path) -> None:
    # given
    module = tmp_path / "surface.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "from app.store.sessions import get_link\n"
        "if TYPE_CHECKING:\n"
        "    from app.models import VerificationSession\n"
        "def f():\n"
        "    import app.db\n"
    )
    # when
    found = runtime_imports(module)
    # then
    assert "app.store.sessions" in found and "app.db" in found
    assert "app.models" not in found
