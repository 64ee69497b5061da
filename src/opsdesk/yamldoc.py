"""YAML documents that remember where each value came from, for errors with file:line:column."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from opsdesk.domain.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Position:
    path: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Document:
    path: str
    data: Any
    root: yaml.Node | None

    def position(self, keys: Sequence[str | int], *, of_key: bool = False) -> Position:
        """Where the value at ``keys`` starts (or its key, with ``of_key``), else the deepest enclosing value."""
        node = self.root
        best = node
        for i, key in enumerate(keys):
            node = _child(node, key, of_key=of_key and i == len(keys) - 1)
            if node is None:
                break
            best = node
        if best is None:
            return Position(self.path, 1, 1)
        return Position(self.path, best.start_mark.line + 1, best.start_mark.column + 1)


def _child(node: yaml.Node | None, key: str | int, *, of_key: bool = False) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == str(key):
                return k if of_key else v  # type: ignore[no-any-return]
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        return node.value[key]  # type: ignore[no-any-return]
    return None


def load(path: Path) -> Document:
    """Read a YAML file; a syntax error names the file, line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read: {exc.strerror}") from exc
    return parse(text, str(path))


def parse(text: str, path: str) -> Document:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        raise InvalidInput(f"{where}: not valid YAML: {exc.problem}") from exc
    return Document(path, data, root)
