"""Serving the Gradio page with uvicorn: upload limits, private events kept private, no start-up self-check.

Gradio's own `launch()` probes its local URL for 3 s and exits with "a shareable link must be created" when a
busy machine answers late; here uvicorn serves the app directly, so start-up depends on nothing but the port.
Every event is queued and the queue's REST shortcut is closed (`api_open=False`), so requests go through the
queue's concurrency limits; the named private events (the page's own registry polling) answer no direct
`/run/`, `/call/` or `/api/` request. The page itself reaches them through the queue, as any page's events
are reachable to whoever can load the page: they change nothing that another visitor sees.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import gradio as gr
from fastapi import FastAPI
from fastapi.responses import JSONResponse

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """What one visitor can make the server hold."""

    max_file_size: str = "50MB"  # an upload over it is refused with HTTP 413 before it is stored
    delete_cache: tuple[int, int] = (600, 1800)  # every 10 min, uploads and outputs older than 30 min are deleted
    max_queue: int = 64  # requests waiting at once; more are turned away ("queue full")


def private_names(demo: gr.Blocks) -> set[str]:
    return {fn.api_name for fn in demo.fns.values() if fn.api_visibility == "private" and fn.api_name}


class RefusePrivate:
    """ASGI middleware: 404 for direct calls of private events by name (`/gradio_api/run/NAME`, `/api/NAME`,
    `/call/NAME[/...]`, `/call/v2/NAME`). Plain ASGI, so the queue's event streams pass through untouched."""

    def __init__(self, app: Any, hidden: set[str]) -> None:
        self.app, self.hidden = app, hidden

    def named(self, path: str) -> bool:
        parts = path.strip("/").split("/")
        if len(parts) < 3 or parts[0] != "gradio_api" or parts[1] not in ("run", "api", "call"):
            return False
        return parts[2] in self.hidden or (parts[1:3] == ["call", "v2"] and len(parts) > 3 and parts[3] in self.hidden)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.named(scope["path"]):
            await JSONResponse({"error": "not an API endpoint"}, status_code=404)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_app(demo: gr.Blocks, limits: Limits = Limits()) -> FastAPI:
    """A FastAPI app serving `demo` at `/` under `limits`."""
    demo.queue(api_open=False, max_size=limits.max_queue)
    app = FastAPI()
    app.add_middleware(RefusePrivate, hidden=private_names(demo))
    return gr.mount_gradio_app(app, demo, path="/", max_file_size=limits.max_file_size, show_error=True,
                               footer_links=["api"])


class Server:
    """`demo` served by uvicorn on `host:port` in a background thread (tests, benches) or in the foreground
    (`run()`)."""

    def __init__(self, demo: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, limits: Limits = Limits()) -> None:
        import uvicorn

        self.url = f"http://{host}:{port}/"
        self.server = uvicorn.Server(uvicorn.Config(create_app(demo, limits), host=host, port=port,
                                                    log_level="warning"))
        self.thread: threading.Thread | None = None

    def run(self) -> None:
        log.info("serving on %s", self.url)
        self.server.run()

    def start(self, timeout: float = 30.0) -> Server:
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the web app did not start on {self.url}")
            time.sleep(0.05)
        return self

    def close(self) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=10)
