"""Money as a Decimal amount with its currency; never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from opsdesk.domain.errors import InvalidMoney


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def parse(cls, amount: object, currency: str) -> Money:
        """Read an amount as Shopify sends it (a string, sometimes a number)."""
        try:
            value = Decimal(str(amount))
        except (InvalidOperation, ValueError) as exc:
            raise InvalidMoney(f"not an amount: {amount!r}") from exc
        if not value.is_finite():
            raise InvalidMoney(f"not a finite amount: {amount!r}")
        return cls(value, currency or "XXX")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise InvalidMoney(f"cannot add {other.currency} to {self.currency}")
        return Money(self.amount + other.amount, self.currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
