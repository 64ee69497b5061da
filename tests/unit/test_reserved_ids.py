"""The rule ids and playbook names the desk records for decisions no rule took are the ones the loader reserves,
and so are the names of the desk's own playbooks (a person's resolution, the monitors).

A playbook may not name a rule (or itself) as one of them: its decisions would read as the desk's own.
"""

from __future__ import annotations

import importlib
import pkgutil

import opsdesk.services
from opsdesk.domain.policy_names import FALLBACK_RULE, RESERVED_PLAYBOOKS, RESERVED_RULE_IDS, SUPERSEDED_RULE
from opsdesk.testing import InMemoryDatabase, ManualClock
from tests.pipeline_harness import drain, feed
from tests.samples import declined_lifecycle, order_lifecycle


def test_the_decisions_no_rule_took_record_only_reserved_ids() -> None:
    db, clock = InMemoryDatabase(), ManualClock()
    feed(db, order_lifecycle(1) + declined_lifecycle(2), clock)  # 2: a request delivered after its decline
    drain(db, clock)
    recorded = {(d.reason, d.playbook, d.rule_id) for d in db.tables.decisions.values()}
    unheard = {(p, r) for reason, p, r in recorded if reason == "no playbook listens to this event"}
    fallback = {r for reason, _p, r in recorded if reason == "no rule matched"}
    late = {r for reason, _p, r in recorded if "delivered late" in reason}
    assert unheard == {("-", "none")} and fallback == {FALLBACK_RULE} and late == {SUPERSEDED_RULE}
    assert "-" in RESERVED_PLAYBOOKS and {"none", FALLBACK_RULE, SUPERSEDED_RULE} == set(RESERVED_RULE_IDS)


def test_every_playbook_the_desk_decides_under_is_reserved() -> None:
    """Each service's ``PLAYBOOK`` (``DESK_PLAYBOOK``): the name its decisions, cases and audit entries record."""
    found = pkgutil.iter_modules(opsdesk.services.__path__, "opsdesk.services.")
    modules = [importlib.import_module(m.name) for m in found]
    names = {getattr(m, attr) for m in modules for attr in ("PLAYBOOK", "DESK_PLAYBOOK") if hasattr(m, attr)}
    assert len(names) >= 7 and "desk" in names and "stuck-order" in names  # the scan finds them
    assert names <= set(RESERVED_PLAYBOOKS) - {"-"}
