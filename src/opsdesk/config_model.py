"""What every section of ``opsdesk.yaml`` is: a model that refuses unknown keys and is frozen once loaded."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
