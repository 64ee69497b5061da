"""Evidence the readiness controls read that people and probes record: playbook reviews, page probes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from opsdesk.config import Settings
from opsdesk.domain.errors import InvalidInput, NotFound
from opsdesk.domain.policies import Playbook
from opsdesk.domain.readiness import PolicyReview, Probe, ProbeAnswer
from opsdesk.domain.records import AuditEntry
from opsdesk.ports import Clock, Database, UnitOfWork

Fetch = Callable[[str], ProbeAnswer]


def record_review(
    uow: UnitOfWork, playbooks: Sequence[Playbook], name: str, reviewer: str, now: datetime, note: str = ""
) -> PolicyReview:
    """Record that ``reviewer`` reviewed the loaded version of playbook ``name`` (audited)."""
    playbook = next((p for p in playbooks if p.name == name), None)
    if playbook is None:
        loaded = ", ".join(sorted(p.name for p in playbooks)) or "none"
        raise NotFound(f"no playbook {name!r} is loaded (loaded: {loaded})")
    if not reviewer.strip():
        raise InvalidInput("a review needs the reviewer's name (--by)")
    review = PolicyReview(name, playbook.version, reviewer.strip(), now, note)
    uow.readiness.add_review(review)
    after = {"version": review.version, "note": note}
    uow.audit.record([AuditEntry(now, review.reviewer, "policy.review", f"playbook:{name}", None, after)])
    return review


def targets(settings: Settings) -> list[tuple[str, str, str]]:
    """(kind, shop, url) of every page to probe: each shop's storefront and returns policy."""
    found = []
    for shop in settings.file.shops:
        for kind, url in (("storefront", shop.storefront_url), ("returns_policy", shop.returns_policy_url)):
            if url:
                found.append((kind, shop.domain, url))
    return found


def run_probes(db: Database, settings: Settings, fetch: Fetch, clock: Clock) -> list[Probe]:
    """Fetch every configured page (outside any transaction) and record the answers in one."""
    return _probe(db, targets(settings), fetch, clock)


def probe_due(db: Database, settings: Settings, fetch: Fetch, clock: Clock,
              every: timedelta = timedelta(hours=24)) -> int:
    """Probe the pages not probed for ``every`` (a worker's daily job); how many were probed."""
    now = clock.now()
    with db.unit_of_work(read_only=True) as uow:
        due = [
            (kind, shop, url) for kind, shop, url in targets(settings)
            if (last := uow.readiness.latest_probe(kind, shop)) is None or last.url != url or now - last.at >= every
        ]
    return len(_probe(db, due, fetch, clock)) if due else 0


def _probe(db: Database, pages: list[tuple[str, str, str]], fetch: Fetch, clock: Clock) -> list[Probe]:
    probes = []
    for kind, shop, url in pages:
        at = clock.now()
        answer = fetch(url)
        probes.append(Probe(kind, shop, url, at, answer.status_code, answer.elapsed_ms, answer.error))
    with db.unit_of_work() as uow:
        for probe in probes:
            uow.readiness.add_probe(probe)
        uow.commit()
    return probes
