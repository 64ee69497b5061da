"""The dashboard's Jinja environment: templates from the package, filters for times, money and countdowns."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates

WEB = Path(__file__).resolve().parents[1]
TEMPLATES = WEB / "templates"
STATIC = WEB / "static"


def make_templates(zone: str = "UTC") -> Jinja2Templates:
    """The templates, showing times in ``zone`` (the business calendars'), each time saying which."""
    templates = Jinja2Templates(directory=str(TEMPLATES))
    env = templates.env
    env.globals.update(zone=zone)
    env.filters.update(
        when=partial(when, zone=zone),
        times=partial(times, zone=zone),
        iso=iso,
        span=span,
        pretty=pretty,
        label=label,
        brief=brief,
        period=period,
        sentence=sentence,
    )
    env.globals.update(countdown=countdown, query_string=query_string)
    return templates


def when(at: datetime | str | None, zone: str = "UTC") -> str:
    """A moment as people read it, in ``zone``, named by its abbreviation (``2026-11-29 10:04 EST``)."""
    if at is None:
        return "—"
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    local = at.astimezone(ZoneInfo(zone))
    name = local.tzname() or zone
    # Zones with no abbreviation of their own are named by their offset ("-03"): say it is one from UTC.
    return local.strftime("%Y-%m-%d %H:%M ") + (f"UTC{name}" if name[:1] in "+-" else name)


#: An ISO 8601 moment inside a sentence, as the services write them into reasons and notes.
_ISO_MOMENT = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?")


def times(text: str | None, zone: str = "UTC") -> str:
    """A sentence with its ISO moments as ``when`` shows them: reasons and notes are stored with exact,
    machine-readable times (the API and the audit log keep those), people read them like the page's others."""
    return _ISO_MOMENT.sub(lambda m: _moment(m.group(0), zone), text or "")


def _moment(found: str, zone: str) -> str:
    try:
        at = datetime.fromisoformat(found)
    except ValueError:
        return found
    return when(at if at.tzinfo is not None else at.replace(tzinfo=UTC), zone)


def iso(at: datetime | None) -> str:
    return at.isoformat() if at is not None else ""


def span(seconds: float | timedelta | None) -> str:
    """A length of time as the countdowns show it: ``2d 4h``, ``3h 12m 5s``, ``4m 0s``, ``45s``."""
    if seconds is None:
        return "—"
    total = int(abs(seconds.total_seconds() if isinstance(seconds, timedelta) else seconds))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m {secs}s"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def countdown(due: datetime | None, warn: datetime | None, now: datetime, paused: bool = False) -> dict[str, str]:
    """The countdown as the server renders it (the script then ticks it): its text and its colour class."""
    if paused:
        return {"text": "paused", "cls": "sla-paused"}
    if due is None:
        return {"text": "no deadline", "cls": "sla-none"}
    left = due - now
    if left.total_seconds() <= 0:
        return {"text": f"{span(left)} overdue", "cls": "sla-breach"}
    if warn is not None and now >= warn:  # "at risk" in words too: not said by its colour alone (WCAG 1.4.1)
        return {"text": f"{span(left)} left, at risk", "cls": "sla-warn"}
    return {"text": f"{span(left)} left", "cls": "sla-ok"}


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def brief(value: Any) -> str:
    """A configuration value on one line: ``mon: 09:00-12:00, 13:00-17:30; tue: ...``."""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {brief(v)}" for k, v in value.items() if v not in (None, "", [], {}))
    if isinstance(value, list | tuple | set | frozenset):
        parts = [brief(v) for v in value]
        return ", ".join(f"({p})" if isinstance(v, dict) else p for p, v in zip(parts, value, strict=True))
    return value.isoformat() if isinstance(value, datetime) else str(value)  # ISO: ``times`` shows it as the page's


def period(value: timedelta | None) -> str:
    """A guardrail's period: ``30d``, ``12h``, ``90m``."""
    if value is None:
        return ""
    minutes = int(value.total_seconds() // 60)
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def sentence(text: str | None) -> str:
    """``text`` opening a sentence: its first letter a capital, the rest as written (Jinja's ``capitalize``
    lowers the rest, the street and the country of an address too)."""
    return (text or "")[:1].upper() + (text or "")[1:]


def label(name: object) -> str:
    """``approve_refund`` -> ``approve refund``; a number (an escalation level) as it is."""
    return "" if name is None else str(name).replace("_", " ")


def query_string(values: dict[str, Any], **changes: Any) -> str:
    """The query string of ``values`` with ``changes``, leaving out empty values."""
    merged = {**values, **changes}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "")})
