"""What reads a playbook document: the diagnostics it collects (file:line:column and a message) and the
bookkeeping every part of the reading shares (the document, the known events, the problems found so far)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opsdesk import yamldoc
from opsdesk.services.facts import specimens


@dataclass(frozen=True, slots=True)
class Diagnostic:
    position: yamldoc.Position
    message: str
    at: tuple[str | int, ...] = ()  # the field's keys, when the problem is one field's

    def __str__(self) -> str:
        return f"{self.position}: {self.message}"

    def problem(self) -> yamldoc.Problem:
        """As a file's problem: where, the field's path and what is wrong (the CLI's ``--format json``)."""
        return yamldoc.Problem.found(self.position, self.position.path, self.at, self.message)


class DocumentReader:
    """What every part of a playbook reader shares: the document, the known events, the problems found so far."""

    def __init__(self, document: yamldoc.Document, event_names: frozenset[str]) -> None:
        self.doc = document
        self.events = event_names
        self.problems: list[Diagnostic] = []
        self.specimens = specimens()

    def error(self, keys: list[str | int], message: str, *, of_key: bool = False) -> None:
        self.problems.append(Diagnostic(self.doc.position(keys, of_key=of_key), message, tuple(keys)))

    def keys(self, value: Mapping[str, Any], allowed: frozenset[str], at: list[str | int]) -> None:
        for key in value:
            if key not in allowed:
                self.error(
                    [*at, key], f"unknown key {key!r} (allowed: {', '.join(sorted(allowed))})", of_key=True
                )
