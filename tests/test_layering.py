"""The import direction of DESIGN.md, read from the source: every ``import`` of every module.

Faces (``web``, ``api``, ``cli``, the demo site and the app factory) sit above ``service``,
which sits above ``store``; the core below never imports upwards, and the two web-facing
faces never import each other. The test parses the files (nothing is imported), so a lazy
import inside a function counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "thecal"
CORE = ("units", "errors", "limits", "sources", "schedule", "catalog", "timeline", "device",
        "physiology", "sim", "clinical", "scheduling", "fhir")
ABOVE_CORE = ("store", "service", "api", "web", "cli", "app", "cookies", "demo")

# layer → the thecal layers it must never import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    **{core: ABOVE_CORE for core in CORE},
    "store": ("service", "api", "web", "cli", "app", "cookies", "demo"),
    "service": ("api", "web", "cli", "app", "cookies", "demo"),
    "web": ("api", "clinical", "store", "device", "physiology", "sim", "cli", "demo"),
    "api": ("web", "clinical", "store", "cli", "demo"),
    "cookies": ("api", "web"),
}


def layer_of(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def thecal_imports(path: Path) -> set[str]:
    """The first component under ``thecal`` of every module ``path`` imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "thecal":
                names = [f"thecal.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "thecal" and len(parts) > 1:
                found.add(parts[1])
    return found


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_the_reader_sees_imports() -> None:
    # the checker itself: the API's routes import the service, the app factory both faces
    assert "service" in thecal_imports(PACKAGE / "api" / "routes.py")
    assert {"api", "web"} <= thecal_imports(PACKAGE / "app.py")


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_layers(path: Path) -> None:
    layer = layer_of(path)
    wrong = thecal_imports(path) & set(FORBIDDEN.get(layer, ()))
    assert not wrong, f"{path.relative_to(PACKAGE)} ({layer}) imports {sorted(wrong)}"
