"""The P2 reference: a bare Starlette route that reads the whole delivery and answers 200 `ok`.

Run it as `python benchmarks/bare_starlette.py --port P` (uvicorn, uvloop, httptools, no access log) and
drive it with the same signed deliveries, concurrency and client as opsdesk's intake in the same run.
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route


async def receive_webhook(request: Request) -> PlainTextResponse:
    """Read the whole body, as an intake must before it can verify the HMAC, and acknowledge it."""
    await request.body()
    return PlainTextResponse("ok")


def create_app() -> Starlette:
    """Build the one-route app."""
    return Starlette(routes=[Route("/webhooks/shopify", receive_webhook, methods=["POST"])])


def main(argv: list[str] | None = None) -> None:
    """Serve the reference endpoint."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args(argv)
    uvicorn.run(create_app(), host=args.host, port=args.port, loop="uvloop", http="httptools",
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
