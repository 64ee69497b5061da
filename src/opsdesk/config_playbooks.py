"""Settings of the fulfilment-side playbooks (``monitors:``) and of the carrier label API (``connectors.carrier``).

Part of ``opsdesk.yaml``: validated with the rest of the file, so a mistake is reported with its
file:line:column. Durations are numbers in the unit their key names; every threshold has a default.
"""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from opsdesk.domain.outbox import EMAIL_TEMPLATES
from opsdesk.domain.policy_names import OWNER_LENGTH, PRIORITY_LENGTH, QUEUE_LENGTH, text_problem

#: The longest connector name an outbox action records (``actions.provider``).
PROVIDER_LENGTH = 64


def _stored(length: int, where: str) -> AfterValidator:
    """A name the desk stores in a column of ``length`` characters, checked as a playbook's is (policy/loader.py):
    longer, PostgreSQL would refuse each case or action that carries it."""

    def check(value: str) -> str:
        if problem := text_problem(value, length, where):
            raise PydanticCustomError("stored_name", problem)
        return value

    return AfterValidator(check)


Queue = Annotated[str, _stored(QUEUE_LENGTH, "with each case")]
Priority = Annotated[str, _stored(PRIORITY_LENGTH, "with each case")]
Owner = Annotated[str, _stored(OWNER_LENGTH, "as the owner of a case")]
Provider = Annotated[str, _stored(PROVIDER_LENGTH, "with each action it sends")]
LocalTime = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Hours = Annotated[float, Field(gt=0, le=24 * 90)]
Minutes = Annotated[float, Field(gt=0, le=24 * 60 * 30)]
Rate = Annotated[float, Field(gt=0, le=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CarrierAccount(_Strict):
    """One carrier's label API (EasyPost-like: ``POST {base_url}/shipments``, ``POST {base_url}/addresses``)."""

    base_url: str
    api_key_env: str | None = None  # the environment variable holding the API key


class CarrierConnectorConfig(_Strict):
    carriers: dict[str, CarrierAccount] = {}
    primary: str | None = None  # labels go here first
    fallback: str | None = None  # after a permanent failure or a detected outage of the primary
    timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 10.0
    #: Where returns go back to (the warehouse): name, street1, city, zip, country, ...
    return_address: dict[str, str] = {}


class _Case(_Strict):
    queue: Queue
    priority: Priority = "normal"


class ReturnLabelsConfig(_Case):
    enabled: bool = True
    queue: Queue = "returns"
    priority: Priority = "high"
    #: An approved return without a label this long after approval is a case (the dead-man SLA).
    deadline_minutes: Minutes = 15
    tell_customer: bool = True  # "your label is on its way" when the carrier fails


class DelayedFulfilmentConfig(_Case):
    enabled: bool = True
    queue: Queue = "fulfilment"
    #: Ship-by when the order carries none: this long after payment (wall-clock hours).
    promise_hours: Hours = 48
    cadence_hours: Hours = 24  # one follow-up per this long while the order is late
    max_messages: Annotated[int, Field(ge=0, le=50)] = 5
    #: At most this many follow-ups per customer (over all their orders) per ``per_customer_hours``.
    per_customer: Annotated[int, Field(ge=1, le=100)] = 1
    per_customer_hours: Hours = 24
    quiet_hours: tuple[LocalTime, LocalTime] = ("21:00", "08:00")  # in the customer's time zone
    case_after_hours: Hours = 24  # late by more than this: a case for a person
    #: The customer email it sends: a known template; ``generic`` with the shop's own words in ``message``.
    template: str = "delayed_fulfilment"
    message: str = ""
    #: Country code -> IANA zones, overriding the built-in table (see docs/playbooks/delayed-fulfilment.md).
    customer_timezones: dict[str, list[str]] = {}

    @model_validator(mode="after")
    def _template_written(self) -> DelayedFulfilmentConfig:
        # Refused here, where it is written, rather than found when every follow-up fails in the outbox.
        if self.template not in EMAIL_TEMPLATES:
            raise ValueError(f"unknown email template {self.template!r} (known: {', '.join(sorted(EMAIL_TEMPLATES))})")
        if self.template == "generic" and not self.message.strip():
            raise ValueError("template 'generic' sends the shop's own words: set 'message'")
        return self

    @field_validator("customer_timezones")
    @classmethod
    def _zones_exist(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for zones in value.values():
            for zone in zones:
                try:
                    ZoneInfo(zone)
                except (ZoneInfoNotFoundError, ValueError):
                    raise ValueError(f"unknown time zone {zone!r}") from None
        return value


class StuckOrdersConfig(_Case):
    enabled: bool = True
    queue: Queue = "fulfilment"
    #: Hours an order may sit in a non-final state without any event: pending (unpaid), paid
    #: (unfulfilled), partially_fulfilled, fulfilled (shipped, not delivered).
    thresholds: dict[str, Hours] = {"pending": 24, "paid": 72, "partially_fulfilled": 72, "fulfilled": 240}
    #: Hours an unpaid order may wait instead of ``pending``, by payment gateway (Shopify's
    #: ``payment_gateway_names``, in any case): methods that clear slowly by design. An order with several
    #: takes the longest of theirs. Cash on delivery is paid only at the door: until it ships, the order
    #: waits as long as a paid one (``paid``). Kept with names folded to lower case.
    pending_by_gateway: dict[str, Hours] = {
        "manual": 96, "bank_deposit": 96, "bank deposit": 96, "money_order": 168, "money order": 168,
        "cash_on_delivery": 72, "cash on delivery (cod)": 72,
    }

    @field_validator("thresholds")
    @classmethod
    def _known_states(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - {"pending", "paid", "partially_fulfilled", "fulfilled"})
        if unknown:
            raise ValueError(f"unknown order states {unknown} (pending, paid, partially_fulfilled, fulfilled)")
        return value

    @field_validator("pending_by_gateway")
    @classmethod
    def _gateways_in_any_case(cls, value: dict[str, float]) -> dict[str, float]:
        folded: dict[str, float] = {}
        for name, hours in value.items():
            if not name:
                raise ValueError("a gateway name is empty")
            if name.casefold() in folded:
                raise ValueError(f"gateway {name!r} is listed twice (names match in any case)")
            folded[name.casefold()] = hours
        return folded


class AddressValidationConfig(_Case):
    enabled: bool = True
    queue: Queue = "fulfilment"
    reply_hours: Hours = 24  # no answer from the customer in this long: a case


class CarrierDowntimeConfig(_Case):
    enabled: bool = True
    queue: Queue = "incidents"
    priority: Priority = "urgent"
    window_minutes: Minutes = 10  # failure rate over fixed windows of this length
    min_attempts: Annotated[int, Field(ge=1)] = 5
    failure_rate: Rate = 0.5
    recheck_minutes: Minutes = 30  # then the primary gets traffic again


class EmailHealthConfig(_Case):
    enabled: bool = True
    queue: Queue = "incidents"
    priority: Priority = "urgent"
    window_minutes: Minutes = 60
    min_messages: Annotated[int, Field(ge=1)] = 20
    bounce_rate: Rate = 0.05
    complaint_rate: Rate = 0.003
    recheck_minutes: Minutes = 120
    #: While degraded: customer messages per shop per hour; the rest wait for the next hour.
    throttle_per_hour: Annotated[int, Field(ge=0)] = 10
    #: The connector customer messages switch to while degraded (e.g. a second provider); none: throttle only.
    fallback_provider: Provider | None = None


class BuyerActionConfig(_Case):
    """A parcel waiting for the buyer (``buyer_action_required``): a case when no scan shows it moving on this long
    after the customer was told (ADR 0065, amended in session 14)."""

    enabled: bool = True
    queue: Queue = "fulfilment"
    hours: Hours = 72


class MonitorsConfig(_Strict):
    return_labels: ReturnLabelsConfig = ReturnLabelsConfig()
    delayed_fulfilment: DelayedFulfilmentConfig = DelayedFulfilmentConfig()
    stuck_orders: StuckOrdersConfig = StuckOrdersConfig()
    address_validation: AddressValidationConfig = AddressValidationConfig()
    carrier_downtime: CarrierDowntimeConfig = CarrierDowntimeConfig()
    email_health: EmailHealthConfig = EmailHealthConfig()
    buyer_action: BuyerActionConfig = BuyerActionConfig()
