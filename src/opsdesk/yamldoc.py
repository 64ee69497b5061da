"""YAML documents that remember where each value came from, for errors with file:line:column."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
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
class Problem:
    """One thing wrong in a file (``opsdesk.yaml``, a playbook): where it is, the field's path (``at``, as the API's
    422 names a field: ``shops.0.domain``; None when it is no one field, as a YAML syntax error) and what is wrong,
    never the value (it may be a secret)."""

    file: str
    line: int | None
    column: int | None
    at: str | None
    problem: str

    @classmethod
    def found(cls, position: Position | None, file: str, at: Sequence[str | int] | None, problem: str) -> Problem:
        where = ".".join(str(k) for k in at) if at else None
        if position is None:
            return cls(file, None, None, where, problem)
        return cls(position.path, position.line, position.column, where, problem)

    def as_dict(self) -> dict[str, str | int | None]:
        return {"file": self.file, "line": self.line, "column": self.column, "at": self.at, "problem": self.problem}

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.at or '(top level)'}: {self.problem}"


class InvalidField(InvalidInput):
    """A value refused after its file was read, by what the rest of the file says (a team lead no person is, a
    queue's team no team is): the field's keys and what is wrong. Only the file knows the line: ``located`` turns
    it into the file's ``InvalidDocument``, where it is written (ADR 0060, session 15)."""

    def __init__(self, keys: Sequence[str | int], problem: str, *, of_key: bool = False) -> None:
        self.keys = tuple(keys)
        self.problem = problem
        self.of_key = of_key  # the key is what is wrong (a name no section defines), not its value
        super().__init__(f"{'.'.join(str(k) for k in keys)}: {problem}")


class InvalidFields(InvalidInput):
    """Every value refused after the file was read, all at once, as a compiler lists its errors (ADR 0060,
    session 15 (2)); ``located`` gives each its line, sorted by where it is written."""

    def __init__(self, fields: Sequence[InvalidField]) -> None:
        self.fields = tuple(fields)
        super().__init__("; ".join(str(f) for f in self.fields))

    @classmethod
    def refuse(cls, fields: Sequence[InvalidField]) -> None:
        """Raise the problems found, if any: one as the ``InvalidField`` it is, more as ``InvalidFields``."""
        if len(fields) == 1:
            raise fields[0]
        if fields:
            raise cls(fields)


@contextmanager
def gathered(found: list[InvalidField]) -> Iterator[None]:
    """Run a check, adding the ``InvalidField`` (or ``InvalidFields``) it raises to ``found`` instead of stopping:
    the next check, independent of it, still runs."""
    try:
        yield
    except InvalidFields as exc:
        found += exc.fields
    except InvalidField as exc:
        found.append(exc)


class InvalidDocument(InvalidInput):
    """A file that is not valid, in one message for a person and as ``problems``, each where and what, for a
    script (the CLI's ``--format json``, ADR 0060 amended)."""

    def __init__(self, message: str, problems: Iterable[Problem]) -> None:
        super().__init__(message)
        self.problems = tuple(problems)

    @classmethod
    def listing(cls, heading: str, problems: Sequence[Problem]) -> InvalidDocument:
        """The error whose message is ``heading:`` and one indented line per problem (``file:line:column: at:
        problem``), as ``opsdesk.yaml``'s have always read."""
        return cls(f"{heading}:\n  " + "\n  ".join(str(p) for p in problems), problems)


class YamlError(InvalidDocument):
    """A YAML file that is not valid YAML (or not UTF-8 text), with where: ``file:line:column: problem``."""

    def __init__(self, position: Position, problem: str) -> None:
        super().__init__(f"{position}: {problem}", [Problem.found(position, position.path, None, problem)])
        self.position = position
        self.problem = problem


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

    def problem(self, keys: Sequence[str | int], problem: str, *, of_key: bool = False) -> Problem:
        """What is wrong with the field at ``keys``, where it is written (its key, with ``of_key``)."""
        return Problem.found(self.position(keys, of_key=of_key), self.path, keys, problem)


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
        problem = f"cannot read: {exc.strerror}"
        raise InvalidDocument(f"{path}: {problem}", [Problem.found(None, str(path), None, problem)]) from exc
    except UnicodeDecodeError as exc:
        before = exc.object[: exc.start].decode("utf-8", "replace")
        raise YamlError(_position(str(path), before, len(before)), "not UTF-8 text") from exc
    return parse(text, str(path))


@contextmanager
def located(path: Path, heading: str = "invalid configuration") -> Iterator[None]:
    """Give an ``InvalidField`` (or each of ``InvalidFields``) raised inside its line and column in ``path``: the
    file's ``InvalidDocument`` (``heading`` and the problems, in the order they are written), as a problem of its
    syntax reads. A file that is not there has no line."""
    try:
        yield
    except (InvalidField, InvalidFields) as exc:
        fields = exc.fields if isinstance(exc, InvalidFields) else (exc,)
        if not path.is_file():
            problems = [Problem.found(None, str(path), f.keys, f.problem) for f in fields]
        else:
            document = load(path)
            problems = sorted((document.problem(f.keys, f.problem, of_key=f.of_key) for f in fields),
                              key=lambda p: (p.line or 0, p.column or 0))
        raise InvalidDocument.listing(heading, problems) from exc


def parse(text: str, path: str) -> Document:
    root: yaml.Node | None = None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        raise YamlError(_marked(path, exc.problem_mark), f"not valid YAML: {exc.problem}") from exc
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (a control character)
        problem = f"not valid YAML: {exc.reason} (#x{exc.character:04x})"
        raise YamlError(_position(path, text, exc.position), problem) from exc
    except RecursionError as exc:
        raise YamlError(Position(path, 1, 1), "not valid YAML: nested too deeply") from exc
    except (ValueError, OverflowError) as exc:  # a scalar of a type it is not, such as the date 2026-02-30
        node = _unconstructible(root)
        raise YamlError(_marked(path, node.start_mark if node else None), f"not valid YAML: {exc}") from exc
    return Document(path, data, root)


def _marked(path: str, mark: yaml.Mark | None) -> Position:
    return Position(path, mark.line + 1, mark.column + 1) if mark else Position(path, 1, 1)


def _position(path: str, text: str, offset: int) -> Position:
    before = text[:offset]
    return Position(path, before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1)


def _unconstructible(root: yaml.Node | None) -> yaml.Node | None:
    """The first scalar that composes but cannot be built (``yaml.compose`` succeeded, ``safe_load`` not)."""
    constructor = yaml.SafeLoader("")
    pending = [root] if root is not None else []
    seen: set[int] = set()
    while pending:
        node = pending.pop(0)
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            try:
                constructor.construct_object(node)
            except (ValueError, OverflowError):
                return node
        elif isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            pending.extend(item for pair in node.value for item in pair)
    return None
