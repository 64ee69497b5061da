"""Connectors: the only code that talks to the outside (Shopify Admin GraphQL, SMTP).

Each one implements ``opsdesk.ports.Connector``: it turns one outbox action into one provider call
(or a few) and maps every answer, and every library exception, to a ``SendResult``.
"""
