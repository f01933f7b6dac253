"""The README and docs/ hold together: every relative link reaches a file (and, with an anchor, a
heading in it), and every environment variable the settings read has a row in
docs/configuration.md's table."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def _links(document: Path) -> Iterator[str]:
    text = _FENCE.sub("", document.read_text())
    for match in _LINK.finditer(text):
        target = match.group(1)
        if not target.startswith(("http://", "https://", "mailto:")):
            yield target


def _anchors(document: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation but `-` and `_` dropped, spaces `-`."""
    text = _FENCE.sub("", document.read_text())
    found = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        found.add(slug)
    return found


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_relative_link_reaches_a_file_and_its_heading(document: Path) -> None:
    broken = []
    for target in _links(document):
        path, _, anchor = target.partition("#")
        destination = (document.parent / path).resolve() if path else document
        missing_heading = anchor and destination.suffix == ".md"
        if not destination.exists() or (missing_heading and anchor not in _anchors(destination)):
            broken.append(target)
    assert broken == [], f"{document.relative_to(ROOT)}: dead links {broken}"


def test_the_readme_links_every_document() -> None:
    linked = {Path(target.partition("#")[0]).name for target in _links(ROOT / "README.md")}
    missing = [path.name for path in DOCUMENTS[1:] if path.name not in linked]
    assert missing == []


class _Recording(Mapping[str, str]):
    """An empty environment that remembers every variable asked for."""

    def __init__(self) -> None:
        self.asked: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.asked.add(name)
        raise KeyError(name)

    def get(self, name: str, default: object = None) -> object:  # type: ignore[override]
        self.asked.add(name)
        return default

    def __contains__(self, name: object) -> bool:
        self.asked.add(str(name))
        return False

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def test_every_setting_has_a_row_in_the_configuration_table() -> None:
    environment = _Recording()
    Settings.from_environ(environment)
    table = (ROOT / "docs" / "configuration.md").read_text()
    rows = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", table, re.M))
    assert environment.asked, "the settings read no variable?"
    assert sorted(environment.asked - rows) == []
