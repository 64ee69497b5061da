"""Carrier label API (EasyPost-like): return labels and address checks for outbox actions.

Each carrier is a base URL and an API key. ``return_label`` posts a return shipment
(``POST {base}/shipments``, ``is_return: true``: the customer's address is the sender, the warehouse the
recipient); ``verify_address`` posts the order's shipping address with ``verify: true``
(``POST {base}/addresses``). Every call carries ``Idempotency-Key: <action key>``: a label retried after a
lost answer is bought once.

Outcomes: 2xx -> Delivered (label id, tracking code, label URL); a JSON error whose code is transient
(``CARRIER_NOT_AVAILABLE``, ``TRANSIENT_ERROR``, ...), 408, 429, 5xx, timeouts and broken connections ->
RetryLater (honouring ``Retry-After``); any other error -> Rejected with the reason
``carrier <name> <CODE>: <message>`` (``opsdesk.domain.carriers.code_of`` reads the code back). No httpx
exception leaves this module.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

import httpx

from opsdesk.connectors.http import ApiClient
from opsdesk.domain.carriers import RETURN_LABEL, VERIFY_ADDRESS, Failure, classify, reason
from opsdesk.domain.outbox import Delivered, Rejected, RetryLater, SendResult
from opsdesk.domain.records import OutboxAction

JSON = dict[str, Any]


class CarrierLabels:
    """Sends ``return_label`` and ``verify_address`` actions to the carrier each payload names."""

    provider = "carrier"

    def __init__(self, carriers: Mapping[str, tuple[str, str | None]], *, return_address: Mapping[str, str],
                 timeout: float = 10.0, transport: httpx.BaseTransport | None = None) -> None:
        """``carriers``: name -> (base URL, name of the environment variable with its API key)."""
        self._carriers = dict(carriers)
        self._return_address = dict(return_address)
        self._timeout = timeout
        self._client = ApiClient(timeout=timeout, transport=transport)
        self._urls: dict[tuple[str, str], httpx.URL] = {}  # parsed once per carrier and endpoint

    def with_transport(self, transport: httpx.BaseTransport) -> CarrierLabels:
        """The same carriers, return address and timeout, the requests carried by ``transport``."""
        return CarrierLabels(self._carriers, return_address=self._return_address, timeout=self._timeout,
                             transport=transport)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def send(self, action: OutboxAction) -> SendResult:
        carrier = str(action.payload.get("carrier") or "")
        if carrier not in self._carriers:
            return Rejected(reason(carrier or "-", "UNKNOWN_CARRIER", f"no carrier {carrier!r} is configured"))
        if action.kind == RETURN_LABEL:
            body: JSON = {"shipment": {
                "is_return": True, "reference": f"return-{action.payload.get('return_id')}",
                "from_address": action.payload.get("address") or {}, "to_address": self._return_address,
                "parcel": {"weight": action.payload.get("weight_oz", 16)}}}
            return self._post(carrier, "shipments", body, action, _label)
        if action.kind == VERIFY_ADDRESS:
            body = {"address": action.payload.get("address") or {}, "verify": True}
            return self._post(carrier, "addresses", body, action, _verified)
        return Rejected(f"the carrier connector cannot do {action.kind!r}")

    def _post(self, carrier: str, path: str, body: JSON, action: OutboxAction,
              done: Any) -> SendResult:
        base, key_env = self._carriers[carrier]
        headers = {"Idempotency-Key": action.idempotency_key}
        key = os.environ.get(key_env, "") if key_env else ""
        if key:
            headers["Authorization"] = f"Bearer {key}"
        try:
            url = self._urls.get((carrier, path))
            if url is None:
                url = self._urls[(carrier, path)] = httpx.URL(f"{base.rstrip('/')}/{path}")
            response = self._client.post(url, json=body, headers=headers)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            return Rejected(reason(carrier, "BAD_URL", str(exc)))
        except httpx.TimeoutException as exc:
            return RetryLater(reason(carrier, "TIMEOUT", type(exc).__name__))
        except httpx.HTTPError as exc:
            return RetryLater(reason(carrier, "CONNECTION_ERROR", f"{type(exc).__name__}: {exc}"))
        result: SendResult = _outcome(carrier, response)
        if isinstance(result, Delivered):
            result = Delivered({"carrier": carrier, **done(result.response)})
        return result


def _outcome(carrier: str, response: httpx.Response) -> SendResult:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if 200 <= status < 300:
        return Delivered(body if isinstance(body, dict) else {})
    error = body.get("error") if isinstance(body, dict) else None
    code = str(error.get("code") or "") if isinstance(error, dict) else ""
    message = str(error.get("message") or "") if isinstance(error, dict) else response.text[:200]
    if status in (408, 429) or status >= 500:
        return RetryLater(reason(carrier, code or f"HTTP_{status}", message), _retry_after(response))
    if code and classify(code) is Failure.TRANSIENT:
        return RetryLater(reason(carrier, code, message), _retry_after(response))
    return Rejected(reason(carrier, code or f"HTTP_{status}", message))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.replace(".", "", 1).isdigit() else None


def _label(body: JSON) -> JSON:
    label = body.get("postage_label") or {}
    return {"label_id": body.get("id"), "tracking_code": body.get("tracking_code"),
            "label_url": label.get("label_url") if isinstance(label, dict) else None}


def _verified(body: JSON) -> JSON:
    return {"address_id": body.get("id"), "verified": True}
