"""Reliability test 14, the policy parser: any file gives playbooks or diagnostics with file:line:column.

Generated YAML documents (playbook-shaped mappings with values of any type, CEL-ish conditions over the
real fact names), edits of the starter playbooks' text, and raw bytes go through ``loader.check``. The
documented outcomes: ``check`` never raises and every ``Diagnostic`` reads ``FILE:LINE:COLUMN: problem``
with the file's own path and a line inside it; ``load`` returns playbooks or raises ``InvalidPolicy``.
A condition that loaded evaluates to true or false on any facts, never raising (it runs in the pipeline).
The regression tests at the end are what the fuzzing found.
"""

from __future__ import annotations

import re
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsdesk.domain.errors import InvalidPolicy
from opsdesk.policy import loader
from opsdesk.policy.cel import CelCondition
from opsdesk.services.facts import specimens

STARTER = Path(__file__).resolve().parents[2] / "src" / "opsdesk" / "starter" / "playbooks"
EXAMPLES = 100
FUZZ = settings(
    max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


@cache
def event_names() -> tuple[str, ...]:
    return tuple(sorted(specimens()))


@cache
def fact_paths() -> tuple[str, ...]:
    found: set[str] = set()

    def walk(prefix: str, value: Any) -> None:
        found.add(prefix)
        if isinstance(value, dict):
            for key, child in value.items():
                walk(f"{prefix}.{key}", child)

    for facts in specimens().values():
        for top, value in facts.items():
            walk(top, value)
    return tuple(sorted(found))


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["30d", "0d", "99999999999999999999d", "1e999", "-1", "2026-02-30", "~", "*", "[]", "{}"]),
)
cel_tokens = st.one_of(
    st.sampled_from(fact_paths()),
    st.sampled_from(["&&", "||", "!", "==", "!=", "<", "<=", ">", "+", "-", "*", "/", "%", "(", ")", "[0]", "[5]"]),
    st.sampled_from(["size(", "int(", "double(", "string(", "has(", ".exists(x, x", ")", "in", "?", ":"]),
    st.sampled_from(["0", "1", "0.0", "9223372036854775807", "'SIZE_TOO_SMALL'", "true", "null", "[]", "{}"]),
)
cel_sources = st.lists(cel_tokens, min_size=1, max_size=8).map(" ".join)
values = st.recursive(
    scalars | cel_sources,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
KEYS = sorted(
    loader.PLAYBOOK_KEYS | loader.RULE_KEYS | loader.ESCALATE_KEYS | loader.GUARDRAIL_KEYS | {"type", "amount"}
)


def _mapping(keys: list[str], inner: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(keys) | st.text(max_size=6), inner, max_size=len(keys))


actions = _mapping(["type", "amount", "note"], values) | st.builds(
    dict, type=st.sampled_from(sorted(loader.ACTION_TYPES)) | values
)
guardrails = _mapping(sorted(loader.GUARDRAIL_KEYS), values) | st.fixed_dictionaries(
    {"per": st.sampled_from(["action", "customer", "shop"]) | values, "period": values, "max_amount": values}
)
rules = st.fixed_dictionaries(
    {
        "id": st.text(max_size=6) | values,
        "when": st.sampled_from(event_names()) | st.lists(st.sampled_from(event_names()), max_size=3) | values,
    },
    optional={
        "if": cel_sources | values,
        "then": st.lists(actions, max_size=3) | values,
        "escalate": _mapping(sorted(loader.ESCALATE_KEYS), values) | values,
        "case": _mapping(sorted(loader.ESCALATE_KEYS), values),
        "guardrails": st.lists(guardrails, max_size=2) | values,
        "description": values,
    },
)
playbooks = st.fixed_dictionaries(
    {"playbook": st.text(max_size=8) | values, "owner": st.just("team:support") | values},
    optional={
        "rules": st.lists(rules | values, max_size=4) | values,
        "default": st.sampled_from(["ignore", "escalate", "automate"]) | values,
        "escalate": _mapping(sorted(loader.ESCALATE_KEYS), values) | values,
    },
).flatmap(lambda d: _mapping(KEYS, values).map(lambda extra: {**extra, **d}) | st.just(d))


@cache
def starter_texts() -> tuple[str, ...]:
    return tuple(path.read_text() for path in sorted(STARTER.glob("*.yaml")))


@st.composite
def edited_starter(draw: st.DrawFn) -> str:
    """A starter playbook with a few cuts, insertions and swapped lines, as a hurried person edits one."""
    text = draw(st.sampled_from(starter_texts()))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["cut", "insert", "swap", "indent"]))
        if edit == "cut":
            text = text[:at] + text[at + draw(st.integers(1, 40)) :]
        elif edit == "insert":
            piece = draw(st.text(st.sampled_from(list(":-[]{}&*!|>'\"%@`#,?\t\n\x00\x07\x85\ufeff ab1.")), max_size=8))
            text = text[:at] + piece + text[at:]
        elif edit == "indent":
            text = text[:at] + draw(st.sampled_from(["  ", "\n  ", "\n- ", "\t"])) + text[at:]
        else:
            lines = text.splitlines(keepends=True)
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            text = "".join(lines)
    return text


documents = st.one_of(
    playbooks.map(lambda d: yaml.safe_dump(d, allow_unicode=True, sort_keys=False).encode()),
    edited_starter().map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=120),
    st.text(max_size=120).map(lambda t: t.encode("utf-8", "surrogatepass")),
)
LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")  # YAML's line breaks
POSITION = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<column>\d+): \S")


def documented_outcome(content: bytes) -> list[str]:
    """Check one file; assert the documented outcome and return the diagnostics."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fuzzed.yaml"
        path.write_bytes(content)
        found, problems = loader.check([path])
        lines = len(LINE_BREAK.split(content.decode("utf-8", "replace")))
        for problem in problems:
            match = POSITION.match(str(problem))
            assert match, str(problem)
            assert match["path"] == str(path), str(problem)
            assert 1 <= int(match["line"]) <= lines and int(match["column"]) >= 1, str(problem)
        if problems:
            assert not found
            with pytest.raises(InvalidPolicy):
                loader.load([path])
        else:
            assert [p.name for p in loader.load([path])] == [p.name for p in found]
            for playbook in found:
                for rule in playbook.rules:
                    if rule.condition is not None:
                        for facts in specimens().values():
                            assert rule.condition(facts) in (True, False)
                        assert rule.condition({}) in (True, False)
        return [str(p) for p in problems]


@FUZZ
@given(content=documents)
def test_any_file_gives_playbooks_or_diagnostics_with_file_line_column(content: bytes) -> None:
    documented_outcome(content)


@FUZZ
@given(source=cel_sources)
def test_any_condition_is_refused_with_a_diagnostic_or_evaluates_to_true_or_false(source: str) -> None:
    text = f"playbook: p\nowner: team:support\nrules:\n  - id: r\n    when: return.requested\n    if: {source!r}\n"
    documented_outcome(text.encode())


def test_the_starter_playbooks_pass() -> None:
    for text in starter_texts():
        assert documented_outcome(text.encode()) == []


# -- what the fuzzing found: each was an exception other than the documented ones -------------------

RULE = "playbook: p\nowner: team:support\nrules:\n  - id: r\n    when: return.requested\n"


@pytest.mark.parametrize(
    ("content", "where", "problem"),
    [
        # ValueError from PyYAML's date constructor
        (b"playbook: p\nowner: 2026-02-30\n", ":2:8:", "not valid YAML: day is out of range for month"),
        # yaml.reader.ReaderError (not a MarkedYAMLError)
        (b"playbook: p\x07\n", ":1:12:", "special characters are not allowed (#x0007)"),
        (b"playbook: p\x00\n", ":1:12:", "special characters are not allowed (#x0000)"),
        # UnicodeDecodeError
        (b"playbook: p\nowner: \xff\n", ":2:8:", "not UTF-8 text"),
        # RecursionError in PyYAML's composer
        (b"[" * 5000 + b"]" * 5000, ":1:1:", "nested too deeply"),
        # OverflowError from timedelta
        (
            (RULE + "    then: [{type: note}]\n    guardrails: [{per: shop, period: 9999999999999d, max_count: 1}]\n")
            .encode(),
            ":7:",
            "'period' is too long",
        ),
        # TypeError: unhashable type: 'list'
        ((RULE + "    then: [{type: [1]}]\n").encode(), ":6:12:", "unknown action [1]"),
        # ZeroDivisionError, OverflowError, IndexError from the CEL specimen check
        ((RULE + "    if: 1 / 0 == 1\n").encode(), ":6:9:", "cannot evaluate: division by zero"),
        ((RULE + "    if: 9223372036854775807 + 1 > 0\n").encode(), ":6:9:", "cannot evaluate: Arithmetic overflow"),
        ((RULE + "    if: '[1][5] == 1'\n").encode(), ":6:9:", "cannot evaluate: index out of bounds"),
    ],
)
def test_what_the_fuzzing_found_is_a_diagnostic(content: bytes, where: str, problem: str) -> None:
    [found] = documented_outcome(content)
    assert where in found
    assert problem in found


@pytest.mark.parametrize("source", ["1 / 0 == 1", "[1][5] == 1", "9223372036854775807 * 2 > 0"])
def test_a_condition_that_cannot_be_evaluated_does_not_hold(source: str) -> None:
    """At run time (the pipeline), IndexError, ZeroDivisionError and OverflowError mean false, not a crash."""
    condition = CelCondition(source)
    assert condition(specimens()["return.requested"]) is False


def test_a_second_playbook_of_the_same_name_is_named_in_its_own_file(tmp_path: Path) -> None:
    """It was ``NAME:1:1`` (the playbook's name where the file belongs)."""
    (tmp_path / "a.yaml").write_text(RULE.replace("playbook: p", "playbook: same"))
    (tmp_path / "b.yaml").write_text("# the second\n" + RULE.replace("playbook: p", "playbook: same"))
    _, [found] = loader.check([tmp_path])
    assert str(found) == f"{tmp_path / 'b.yaml'}:2:11: duplicate playbook 'same'"
