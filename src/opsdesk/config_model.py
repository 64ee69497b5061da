"""What every section of ``opsdesk.yaml`` is: a model that refuses unknown keys and is frozen once loaded."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as 'Europe/London'") from None
    return name


#: An IANA time zone name, refused where it is written when the system does not know it.
Zone = Annotated[str, AfterValidator(_known_zone)]
