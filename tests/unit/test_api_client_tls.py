"""The connectors' HTTPS clients verify servers with one TLS context a process: loading the certificate
authorities takes about 0.1 s (more on a slow machine), and every desk built (each command, each test's desk)
builds a client per connector.
"""

from __future__ import annotations

import ssl

import pytest

from opsdesk.connectors.http import ApiClient


def test_clients_share_one_context_that_verifies_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[ssl.SSLContext] = []
    default = ssl.create_default_context

    def counted(*args: object, **kwargs: object) -> ssl.SSLContext:
        context = default(*args, **kwargs)  # type: ignore[arg-type]
        made.append(context)
        return context

    monkeypatch.setattr(ssl, "create_default_context", counted)
    clients = [ApiClient(timeout=5) for _ in range(3)]
    contexts = [client._transport._pool._ssl_context for client in clients]  # type: ignore[attr-defined]
    for client in clients:
        client.close()
    assert len(made) <= 1, f"{len(made)} contexts loaded for {len(clients)} clients"  # 0 when another test loaded it
    assert [c is contexts[0] for c in contexts] == [True] * 3
    assert (contexts[0].verify_mode, contexts[0].check_hostname) == (ssl.CERT_REQUIRED, True)
