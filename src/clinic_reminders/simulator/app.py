"""The simulator as one ASGI app, standalone or mounted.

    app = create_simulator_app(SimulatorConfig.for_account(sid, token, sms_url=..., sms_method="GET"))
    main_app.mount("/simulator", app)          # demo: SDK base URL http://127.0.0.1:8080/simulator
    uvicorn.run(app, port=8090)                # standalone: base URL http://127.0.0.1:8090[/simulator]

Standalone, every path also answers under `/simulator/...`, so the same base URL, inspection client and phone
page links work both ways. REST calls go to a bare ASGI handler (the fast path); the inspection API and the
phone page are a small Starlette app.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.responses import RedirectResponse
from starlette.types import Receive, Scope, Send

from . import api2010, api_a2p, api_addresses, api_messaging, api_trusthub, api_v1
from .config import SimulatorConfig
from .core import Simulator
from .inspection import inspection_routes
from .phone_book import PhoneBook
from .phone_page import page_routes
from .rest import RestApi
from .video_signaling import SIGNALING_PATH, serve_signaling, video_routes

PREFIX = "/simulator"
REST_ROOTS = ("/2010-04-01/", "/v1/", "/v2/")


class SimulatorApp:
    """ASGI app; `simulator` gives tests and the demo direct access to the state (same event loop only)."""

    def __init__(self, config: SimulatorConfig | None = None, phone_book: PhoneBook | None = None) -> None:
        self.simulator = Simulator(config)
        self.phone_book = phone_book  # the demo's names, clock and phone-page history
        routes = [
            *api2010.ROUTES,
            *api_addresses.ROUTES,
            *api_v1.ROUTES,
            *api_messaging.ROUTES,
            *api_a2p.ROUTES,
            *api_trusthub.ROUTES,
        ]
        self.rest = RestApi(self.simulator, routes)
        self.pages = Starlette(
            routes=[
                *inspection_routes(self.simulator),
                *page_routes(self.simulator, phone_book),
                *video_routes(self.simulator),
            ]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] not in ("http", "websocket"):
            return
        root = scope.get("root_path", "")
        path: str = scope["path"]
        route_path = path[len(root) :] if root and path.startswith(root) else path
        prefix = root
        if route_path == PREFIX or route_path.startswith(PREFIX + "/"):
            route_path = route_path[len(PREFIX) :]
            prefix = root + PREFIX
        if scope["type"] == "websocket":  # the Video SDK's signalling (see video_signaling.py)
            if route_path == SIGNALING_PATH:
                await serve_signaling(self.simulator, scope, receive, send)
            else:
                await send({"type": "websocket.close", "code": 1008})
            return
        if route_path.startswith(REST_ROOTS):
            await self.rest(scope, receive, send, route_path, _origin(scope) + prefix)
            return
        if route_path == "" or (route_path == "/" and not prefix):
            target = f"{prefix}/" if route_path == "" else f"{PREFIX}/"
            await RedirectResponse(target, status_code=307)(scope, receive, send)
            return
        await self.pages({**scope, "root_path": prefix}, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.simulator.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _origin(scope: Scope) -> str:
    host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), None)
    if host is None:
        server: Any = scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    return f"{scope.get('scheme', 'http')}://{host}"


def create_simulator_app(config: SimulatorConfig | None = None, phone_book: PhoneBook | None = None) -> SimulatorApp:
    """A fresh simulator; mount it under `/simulator` or run it with uvicorn."""
    return SimulatorApp(config, phone_book)
