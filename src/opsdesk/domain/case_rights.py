"""Who may do what to a case that someone else holds (ADR 0039): one rule for the page, its forms, the API and
the CLI.

A case a person holds (``Case.person``) is theirs to work: only they start it, put it on hold, resume it, resolve
it or close it. Anyone may comment on it, and reopen it once it has ended (it goes back to its holder, as it would
for them); only a lead may hand it to someone else or back to its team. Claiming it is refused by the claim itself
(``case_transitions.claim``). The desk's own actor (rules, timers, monitors, reconciliation: ``automation``) is
not a person and keeps every right it had: it resolves a case nobody has started, resumes one the customer
answered, hands back one its holder left idle.
"""

from __future__ import annotations

from opsdesk.domain.cases import Case
from opsdesk.domain.errors import InvalidInput, Refused

#: The name the desk's own changes are recorded under; no person may act under it.
AUTOMATION = "automation"
#: Actors that are not people: the holder's rule does not apply to them, so no token, account or ``--as`` may take
#: their names (``ensure_person``).
SYSTEM_ACTORS = frozenset({AUTOMATION})
#: The work on a case only the person holding it may do.
HOLDERS_WORK = frozenset({"start", "wait", "resume", "resolve", "close"})
#: What a lead may do to a case someone else holds (reassign it, or hand it back to its team).
LEADS_WORK = frozenset({"assign"})


def holder_besides(case: Case, actor: str) -> str | None:
    """The person holding ``case`` when it is someone other than ``actor``; None when nobody else does."""
    return case.person if case.person is not None and case.person != actor else None


def refusal(case: Case, action: str, actor: str, *, lead: bool = False) -> Refused | None:
    """Why ``actor`` (a lead in the case's shop or not) may not do ``action`` to ``case``; None when they may."""
    holder = holder_besides(case, actor)
    if holder is None or actor in SYSTEM_ACTORS:
        return None
    if action in HOLDERS_WORK:
        return Refused(
            f"case {case.key} is held by {holder}: only {holder} can {action} it; a lead can reassign it",
            holder=holder,
        )
    if action in LEADS_WORK and not lead:
        return Refused(f"case {case.key} is held by {holder}: only a lead can reassign it", holder=holder)
    return None


def takes(case: Case, action: str, actor: str, owner: str = "") -> bool:
    """Whether ``action`` makes ``case`` the ``actor``'s, which only a person of the organisation may (ADR 0047): a
    claim, starting it while no person holds it, assigning it (to ``owner``) to themselves; not when it is theirs."""
    new_owner = {"claim": actor, "start": case.person or actor, "assign": owner}.get(action)
    return new_owner == actor != case.owner


def may(case: Case, action: str, actor: str, *, lead: bool = False) -> bool:
    return refusal(case, action, actor, lead=lead) is None


def ensure_may(case: Case, action: str, actor: str, *, lead: bool = False) -> None:
    """Raise the ``Refused`` naming the holder when ``actor`` may not do ``action`` to ``case``."""
    refused = refusal(case, action, actor, lead=lead)
    if refused is not None:
        raise refused


def ensure_person(name: str) -> str:
    """``name``, for someone who acts on cases as a person; ``InvalidInput`` for a name the desk keeps for itself."""
    if name.strip().lower() in SYSTEM_ACTORS:
        raise InvalidInput(
            f"{name.strip()!r} is the name the desk's own changes are recorded under; a person "
            "cannot act under it"
        )
    return name
