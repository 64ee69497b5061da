"""Local stand-ins for the providers (Shopify Admin GraphQL, SMTP, carrier label APIs), with fault injection.

Real servers on 127.0.0.1 for tests, the demo and benchmarks: the connectors talk to them over real
sockets, so timeouts, resets and retries are exercised as they happen in production. The Shopify and
carrier stand-ins also answer in memory, through ``transport()`` and the same request handling
(``wire.py``): the simulator's connectors use that (ADR 0018).
"""
