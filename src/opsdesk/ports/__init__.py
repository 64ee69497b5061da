"""The ports the core needs: storage (a unit of work with repositories), the clock, connectors.

- ``unit_of_work``: ``UnitOfWork`` (one transaction over every repository) and ``Database``, which begins one;
- the repositories, by concern: ``pipeline`` (deliveries, orders, decisions, usage, outbox), ``cases`` (cases,
  timers, follow-ups), ``access`` (users, sessions, tokens, audit), ``playbooks`` (stock, discounts, pickups),
  ``compliance`` (readiness evidence, privacy requests);
- ``clock``: ``Clock``; ``connectors``: ``Connector``, and the outbox sender's ``OutcomeHook``.

The four most code takes (``Clock``, ``Connector``, ``Database``, ``UnitOfWork``) are importable from here.
"""

from opsdesk.ports.clock import Clock
from opsdesk.ports.connectors import Connector
from opsdesk.ports.unit_of_work import Database, UnitOfWork

__all__ = ["Clock", "Connector", "Database", "UnitOfWork"]
