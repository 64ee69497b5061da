"""``POST /webhooks/shopify``: a plain Starlette endpoint on the hot path (no validation layers)."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from opsdesk.desk import Desk
from opsdesk.domain.errors import DataRefused, Unavailable
from opsdesk.services.intake import GroupCommitter, Refused, verify

OK = PlainTextResponse("ok")


class WebhookEndpoint:
    def __init__(self, desk: Desk) -> None:
        self._desk = desk
        self._committer: GroupCommitter | None = None
        self._max = desk.settings.file.limits.max_body_bytes
        self._counter = desk.metrics.intake

    def bind(self, committer: GroupCommitter) -> None:
        self._committer = committer

    async def handle(self, request: Request) -> Response:
        if self._committer is None:
            return PlainTextResponse("starting up", status_code=503, headers={"Retry-After": "1"})
        body = await self._read(request)
        if body is None:
            return self._refuse(Refused(413, f"body is over the limit of {self._max} bytes"))
        verdict = verify(
            request.headers,
            body,
            secrets_for=self._desk.secrets_for,
            is_known=self._desk.is_known,
            max_bytes=self._max,
            now=self._desk.clock.now(),
            keep_payload=False,
        )
        if isinstance(verdict, Refused):
            return self._refuse(verdict)
        try:
            await asyncio.wrap_future(self._committer.submit(verdict))
        except DataRefused as exc:  # this delivery's data, never storable as it is; its group is stored (ADR 0030)
            return self._refuse(Refused(422, str(exc)))
        except Unavailable:
            self._counter.labels("unavailable").inc()
            return PlainTextResponse(
                "storage unavailable, retry later", status_code=503, headers={"Retry-After": "5"}
            )
        return OK

    async def _read(self, request: Request) -> bytes | None:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max:
            return None
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self._max:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    def _refuse(self, refused: Refused) -> Response:
        self._counter.labels(f"refused_{refused.status}").inc()
        return PlainTextResponse(refused.reason, status_code=refused.status)
