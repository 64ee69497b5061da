"""Readiness controls: live, measured checks that a store is operationally ready (product.md §F).

A store adds its own control by naming it in ``opsdesk.yaml`` (``readiness: controls: [module:attr]``)
or through the ``opsdesk.readiness`` entry point group; ``attr`` is a ``Control`` or a callable
returning some. Everything a plugin needs is importable from here.
"""

from opsdesk.domain.readiness import Measurement, Offender, Result, Status
from opsdesk.readiness.context import Context, ReadinessControl

__all__ = ["Context", "Measurement", "Offender", "ReadinessControl", "Result", "Status"]
