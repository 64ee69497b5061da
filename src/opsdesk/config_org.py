"""The organisation in ``opsdesk.yaml``: calendars, SLA policies, queues, people, teams, who owns a new case."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from opsdesk.config_model import Strict


class HolidaysConfig(Strict):
    country: str
    subdivision: str | None = None


class CalendarConfig(Strict):
    """Business hours in a time zone: weekly hours (split shifts allowed), holidays, one-off closures."""

    timezone: str = "UTC"
    hours: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], list[str]] = {}
    holidays: HolidaysConfig | None = None
    closures: list[tuple[str, str]] = []
    always_open: bool = False


class SlaPolicyConfig(Strict):
    calendar: str
    targets: dict[str, str]  # name -> length, e.g. first_response: 4h, resolution: 24h
    warn_at: list[float] = [0.5, 0.8]
    ladder: list[str] = ["owner", "team_lead", "manager"]


class QueueConfig(Strict):
    """Where a queue's cases go and how fast they must be handled; a priority may pick another policy."""

    team: str
    sla: str | None = None
    sla_by_priority: dict[str, str] = {}
    assignment: Literal["round_robin", "least_loaded"] = "least_loaded"
    skills: list[str] = []


class PersonConfig(Strict):
    name: str
    email: str = ""
    chat_webhook_env: str | None = None
    skills: list[str] = []
    calendar: str | None = None  # working hours; default: the team's
    quiet_hours: tuple[str, str] | None = None  # local "22:00", "07:00"
    active: bool = True


class TeamConfig(Strict):
    members: list[str] = []
    lead: str | None = None
    manager: str | None = None
    calendar: str | None = None
    on_call: list[str] = []  # the rota, in order; one person a week starting with the first


class OwnershipConfig(Strict):
    default_team: str = "ops"
    return_timer_minutes: Annotated[int, Field(ge=1, le=7 * 24 * 60)] = 60
    order_rules: list[dict[str, str]] = []  # e.g. {if: "order.total > 500", owner: "team:vip"} (CEL)
    #: The SLA policy of a case whose queue names none (ADR 0046); unset: the policy named ``default`` under
    #: ``sla_policies``, else 24 hours around the clock.
    default_sla: str | None = None
