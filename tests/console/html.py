"""A small reader for the pages under test: elements by attribute, and their visible text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The text inside, with runs of white space made one space."""
        parts: list[str] = []
        for child in self.children:
            parts.append(child if isinstance(child, str) else f" {child.text} ")
        return re.sub(r"\s+", " ", "".join(parts)).strip()

    def all(self, attr: str, value: str | None = None, tag: str | None = None) -> list[Element]:
        """Descendants carrying ``attr`` (equal to ``value`` if given), in document order."""
        found: list[Element] = []
        for child in self.children:
            if isinstance(child, str):
                continue
            if (
                attr in child.attrs
                and value in (None, child.attrs[attr])
                and tag in (None, child.tag)
            ):
                found.append(child)
            found.extend(child.all(attr, value, tag))
        return found

    def one(self, attr: str, value: str | None = None, tag: str | None = None) -> Element:
        found = self.all(attr, value, tag)
        assert len(found) == 1, f"expected one element with {attr}={value!r}, found {len(found)}"
        return found[0]

    def tags(self, tag: str) -> list[Element]:
        found: list[Element] = []
        for child in self.children:
            if isinstance(child, Element):
                found.extend([child] if child.tag == tag else [])
                found.extend(child.tags(tag))
        return found


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.open: list[Element] = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.open[-1].children.append(element)
        if tag not in VOID:
            self.open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open[-1].children.append(Element(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.open) - 1, 0, -1):
            if self.open[depth].tag == tag:
                del self.open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.open[-1].children.append(data)


def parse(html: str) -> Element:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root
