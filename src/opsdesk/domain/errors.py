"""The exception tree of opsdesk's core.

    OpsdeskError
    ├── InvalidInput              bad data from outside (a payload, a config file, a rule)
    │   ├── InvalidMoney
    │   ├── InvalidPayload
    │   └── InvalidPolicy
    ├── NotFound                  a record looked up by id does not exist
    ├── Conflict                  a concurrent change won (carries the current holder)
    │   └── Refused               the case is someone else's to work (carries its holder)
    ├── DataRefused               the database refused a value (too long, out of range): for good
    └── Unavailable               a dependency (database, provider) cannot answer now

Expected business outcomes (a decision, a retry) are return values, never exceptions.
Each class docstring is its default message; the driver's error is kept as ``__cause__``.
"""

from __future__ import annotations


class OpsdeskError(Exception):
    """Something went wrong in opsdesk."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


class InvalidInput(OpsdeskError):
    """The input is not valid."""


class InvalidMoney(InvalidInput):
    """The amount is not valid money."""


class InvalidPayload(InvalidInput):
    """The payload cannot be read."""


class InvalidPolicy(InvalidInput):
    """The policy is not valid."""


class NotFound(OpsdeskError):
    """No such record."""


class Conflict(OpsdeskError):
    """Someone else changed this first."""

    def __init__(self, message: str | None = None, *, holder: str | None = None) -> None:
        super().__init__(message)
        self.holder = holder


class Refused(Conflict):
    """Someone else holds this case; the work on it is theirs."""


class DataRefused(OpsdeskError):
    """The database refused a value; sending the same write again will not help."""


class SchemaAhead(OpsdeskError):
    """The database was migrated by a newer opsdesk than this one."""


class Unavailable(OpsdeskError):
    """A dependency cannot answer now; try again later."""
