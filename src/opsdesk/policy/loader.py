"""Load playbook files and check them: unknown keys, bad expressions, type errors, unreachable rules.

Every problem is reported with file:line:column; a rule set with any error is never loaded. The reader of
a document is in three parts: its bookkeeping (``reading``), its guardrails (``guardrails``) and the rest here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from opsdesk import yamldoc
from opsdesk.domain.errors import InvalidInput, InvalidPolicy
from opsdesk.domain.holds import HoldPurpose
from opsdesk.domain.outbox import EMAIL_PREMISES, EMAIL_TEMPLATES
from opsdesk.domain.policies import ActionSpec, Escalation, Outcome, Playbook, Rule
from opsdesk.domain.policy_names import (
    OWNER_LENGTH,
    PRIORITY_LENGTH,
    QUEUE_LENGTH,
    name_problem,
    text_problem,
)
from opsdesk.policy import payloads
from opsdesk.policy.cel import CelCondition
from opsdesk.policy.guardrails import GUARDRAIL_KEYS, GuardrailReader
from opsdesk.policy.reading import Diagnostic
from opsdesk.services.facts import specimens

ACTION_TYPES = frozenset(
    {"refund", "email", "hold_fulfillment", "release_hold", "add_tags", "deactivate_discount", "note",
     "approve_return", "check_payment"}
)
PLAYBOOK_KEYS = frozenset({"playbook", "owner", "description", "default", "escalate", "rules"})
RULE_KEYS = frozenset({"id", "when", "if", "then", "escalate", "guardrails", "description", "case"})
ESCALATE_KEYS = frozenset({"queue", "priority", "sla"})
# GUARDRAIL_KEYS and Diagnostic live beside the parts that use them; here too, where callers have them.
__all__ = ["ACTION_TYPES", "ESCALATE_KEYS", "GUARDRAIL_KEYS", "PLAYBOOK_KEYS", "RULE_KEYS", "Diagnostic", "check",
           "check_file", "check_files", "load", "playbook_files"]


class _Reader(GuardrailReader):
    """Walks one playbook document, collecting diagnostics instead of stopping at the first."""

    def playbook(self) -> Playbook | None:
        data = self.doc.data
        if not isinstance(data, dict):
            self.error([], "a playbook is a mapping with 'playbook', 'owner' and 'rules'")
            return None
        self.keys(data, PLAYBOOK_KEYS, [])
        name = self.name(data, "playbook", [], in_keys=False)
        owner = self.stored(self.text(data, "owner", []), ["owner"], OWNER_LENGTH, "as the owner of a case")
        default = self.outcome(data.get("default", "ignore"), ["default"])
        escalation = self.escalation(data.get("escalate"), ["escalate"])
        if default is Outcome.ESCALATE and escalation is None:
            self.error(["default"], "default 'escalate' needs a playbook-level 'escalate' with a queue")
        rules = self.rules(data.get("rules"), ["rules"])
        version = hashlib.sha256(str(self.doc.data).encode()).hexdigest()[:12]
        listens = frozenset(name for rule in rules for name in rule.when)
        return Playbook(name, owner, version, tuple(rules), default, escalation, listens)

    def text(self, data: Mapping[str, Any], key: str, at: list[str | int]) -> str:
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            self.error([*at, key] if key in data else at, f"'{key}' is required and must be text")
            return ""
        return value

    def name(self, data: Mapping[str, Any], key: str, at: list[str | int], *, in_keys: bool) -> str:
        """A playbook's name or a rule's id: text that every decision it makes can record."""
        value = self.text(data, key, at)
        problem = name_problem(value, in_keys=in_keys)
        if problem:
            self.error([*at, key], f"'{key}' {problem}")
        return value

    def outcome(self, value: Any, at: list[str | int]) -> Outcome:
        try:
            return Outcome(value)
        except ValueError:
            self.error(at, f"'default' must be one of {', '.join(o.value for o in Outcome)}")
            return Outcome.IGNORE

    def escalation(self, value: Any, at: list[str | int]) -> Escalation | None:
        if value is None:
            return None
        if not isinstance(value, dict) or not isinstance(value.get("queue"), str):
            self.error(at, "'escalate' needs a 'queue'")
            return None
        self.keys(value, ESCALATE_KEYS, at)
        queue = self.stored(value["queue"], [*at, "queue"], QUEUE_LENGTH, "with each case")
        priority = str(value.get("priority", "normal"))
        self.stored(priority, [*at, "priority"], PRIORITY_LENGTH, "with each case")
        return Escalation(queue, priority, self.stored(str(value.get("sla", "")), [*at, "sla"], None, ""))

    def stored(self, value: str, at: list[str | int], length: int | None, where: str) -> str:
        """A name the desk stores (a case's queue, priority and SLA, a case's owner): reported if it cannot be."""
        problem = text_problem(value, length, where)
        if problem:
            self.error(at, f"'{at[-1]}' {problem}")
        return value

    def rules(self, value: Any, at: list[str | int]) -> list[Rule]:
        if not isinstance(value, list) or not value:
            self.error(at, "'rules' must be a non-empty list")
            return []
        rules = [r for i, item in enumerate(value) if (r := self.rule(item, [*at, i])) is not None]
        self.duplicates(rules, at)
        self.unreachable(rules, at)
        return rules

    def rule(self, value: Any, at: list[str | int]) -> Rule | None:
        if not isinstance(value, dict):
            self.error(at, "a rule is a mapping with 'id' and 'when'")
            return None
        self.keys(value, RULE_KEYS, at)
        rule_id = self.name(value, "id", at, in_keys=True)
        when = self.when(value.get("when"), [*at, "when"])
        condition = self.condition(value.get("if"), when, [*at, "if"])
        actions = self.actions(value.get("then"), [*at, "then"])
        escalation = self.escalation(value.get("escalate"), [*at, "escalate"])
        guardrails = self.guardrails(value.get("guardrails"), [*at, "guardrails"])
        if guardrails and "then" not in value:
            self.error([*at, "guardrails"], "guardrails only apply to a rule with 'then' actions")
        case = self.escalation(value.get("case"), [*at, "case"])
        if case is not None and "then" not in value:
            self.error([*at, "case"], "'case' opens a case alongside 'then' actions; without them use 'escalate'")
        source = condition.source if condition else str(value.get("if") or "")
        return Rule(rule_id, when, condition, source, actions, escalation, guardrails, case)

    def when(self, value: Any, at: list[str | int]) -> frozenset[str]:
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            self.error(at, "'when' is an event name or a list of event names")
            return frozenset()
        for i, name in enumerate(names):
            if name not in self.events:
                self.error(
                    [*at, i] if isinstance(value, list) else at,
                    f"unknown event {name!r} (known: {', '.join(sorted(self.events))})",
                )
        return frozenset(names)

    def condition(self, value: Any, when: Iterable[str], at: list[str | int]) -> CelCondition | None:
        if value is None:
            return None
        if not isinstance(value, str):
            self.error(at, "'if' is a CEL expression (text)")
            return None
        if problem := payloads.text_problem(value):  # each decision's reason quotes it
            self.error(at, f"'if' {problem}")
            return None
        try:
            condition = CelCondition(value.strip())
        except ValueError as exc:
            self.error(at, f"bad expression: {_first_line(exc)}")
            return None
        for name in sorted(when):
            specimen = self.specimens.get(name)
            problem = condition.check(specimen) if specimen is not None else ""
            if problem:
                self.error(at, f"{problem} (for event {name})")
                break
        return condition

    def actions(self, value: Any, at: list[str | int]) -> tuple[ActionSpec, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.error(at, "'then' is a list of actions")
            return ()
        specs = []
        for i, item in enumerate(value):
            kind = item.get("type") if isinstance(item, dict) else None
            if not isinstance(kind, str) or kind not in ACTION_TYPES:
                self.error([*at, i], f"unknown action {kind!r} (known: {', '.join(sorted(ACTION_TYPES))})")
                continue
            if "holds" in item:
                self.holds(item["holds"], [*at, i, "holds"])
            params = {k: v for k, v in item.items() if k not in ("type", "holds")}
            unstorable = list(payloads.problems(params))
            for where, problem in unstorable:  # () where a parameter's own name is the problem
                self.error([*at, i, *where], f"'{where[0]}' {problem}" if where else f"a parameter {problem}")
            if kind == "email" and not unstorable:
                self.email(item, [*at, i])
            specs.append(ActionSpec(kind, {k: v for k, v in item.items() if k != "type"}))
        return tuple(specs)

    def email(self, item: dict[str, Any], at: list[str | int]) -> None:
        """An email's template, one the connector writes for customers (a typo would fail every send), and its
        premise, one the send's last look knows (a typo would never withdraw it)."""
        for key, known in (("template", EMAIL_TEMPLATES), ("premise", EMAIL_PREMISES)):
            value = item.get(key)
            if key in item and (not isinstance(value, str) or value not in known):
                self.error([*at, key], f"unknown email {key} {value!r} (known: {', '.join(sorted(known))})")

    def holds(self, value: Any, at: list[str | int]) -> None:
        """The holds a release names: purposes the desk places holds for (one, or a list)."""
        known = ", ".join(sorted(HoldPurpose))
        if not isinstance(value, (str, list)):
            self.error(at, f"'holds' is a hold ({known}) or a list of them")
            return
        for j, name in enumerate([value] if isinstance(value, str) else value):
            if not isinstance(name, str) or name not in {p.value for p in HoldPurpose}:
                self.error(at if isinstance(value, str) else [*at, j], f"unknown hold {name!r} (known: {known})")

    def duplicates(self, rules: list[Rule], at: list[str | int]) -> None:
        seen: set[str] = set()
        for i, rule in enumerate(rules):
            if rule.id in seen:
                self.error([*at, i, "id"], f"duplicate rule id {rule.id!r}")
            seen.add(rule.id)

    def unreachable(self, rules: list[Rule], at: list[str | int]) -> None:
        covered: set[str] = set()
        for i, rule in enumerate(rules):
            if rule.when and rule.when <= covered:
                self.error(
                    [*at, i],
                    f"rule {rule.id!r} is unreachable: an earlier rule without 'if' "
                    f"takes every {', '.join(sorted(rule.when))} event",
                )
            if not rule.condition_source:
                covered |= rule.when


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def check_file(path: Path, event_names: frozenset[str]) -> tuple[Playbook | None, list[Diagnostic]]:
    try:
        document = yamldoc.load(path)
    except yamldoc.YamlError as exc:
        return None, [Diagnostic(exc.position, exc.problem)]
    except InvalidInput as exc:
        return None, [Diagnostic(yamldoc.Position(str(path), 1, 1), str(exc))]
    reader = _Reader(document, event_names)
    playbook = reader.playbook()
    return (playbook if not reader.problems else None), reader.problems


def playbook_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        files += sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")) if path.is_dir() else [path]
    return files


def check(paths: Iterable[Path]) -> tuple[list[Playbook], list[Diagnostic]]:
    """Check every playbook file under ``paths``; playbooks come back only for files without errors."""
    loaded, problems = check_files(paths)
    return [playbook for _file, playbook in loaded], problems


def check_files(paths: Iterable[Path]) -> tuple[list[tuple[Path, Playbook]], list[Diagnostic]]:
    """As ``check``, each playbook with its file: where a problem found later (a queue nobody configured) is."""
    names = frozenset(specimens())
    loaded: list[tuple[Path, Playbook]] = []
    problems: list[Diagnostic] = []
    for file in playbook_files(paths):
        playbook, found = check_file(file, names)
        problems += found
        if playbook is not None:
            loaded.append((file, playbook))
    _check_names(loaded, problems)
    return loaded, problems


def _check_names(loaded: list[tuple[Path, Playbook]], problems: list[Diagnostic]) -> None:
    seen: set[str] = set()
    for file, playbook in loaded:
        if playbook.name in seen:  # where the second file names it (it loaded a moment ago)
            where = yamldoc.load(file).position(["playbook"])
            problems.append(Diagnostic(where, f"duplicate playbook {playbook.name!r}", ("playbook",)))
        seen.add(playbook.name)


def load(paths: Iterable[Path]) -> list[Playbook]:
    """Load playbooks or raise InvalidPlaybooks listing every problem."""
    playbooks, problems = check(list(paths))
    if problems:
        raise InvalidPlaybooks(
            "playbooks failed the check:\n  " + "\n  ".join(str(p) for p in problems), [p.problem() for p in problems]
        )
    return playbooks


class InvalidPlaybooks(InvalidPolicy, yamldoc.InvalidDocument):
    """Playbook files that failed the check: each problem with its file, line and field (``problems``)."""
