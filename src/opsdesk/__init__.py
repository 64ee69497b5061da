"""opsdesk: the operations desk for online stores."""

__version__ = "0.1.0"
