"""What the web app benches share: the demo page serving a pretrained model from a temporary registry."""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `webapp` is the repository's app, not an installed package


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(model: str) -> Iterator[tuple[str, dict, Path]]:
    """Seed a temporary registry with the pretrained `model` (as `make demo` does) and launch the app on a free
    loopback port; yields (url, the model's card, a temporary folder)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    tmp = Path(tempfile.mkdtemp())
    os.environ["OCRCORE_DATA_DIR"] = str(tmp / "data")
    os.environ.pop("MLFLOW_TRACKING_URI", None)

    from ocrcore.pretrained import read_card
    from ocrcore.tracking import connect
    from ocrcore.tracking.pretrained import register_pretrained
    from webapp.app import build_app
    from webapp.server import Server
    from webapp.service import ModelService

    connect()
    register_pretrained(model)
    card = read_card(model)
    port = free_port()
    running = Server(build_app(ModelService(), card["task"], card["arch"]), port=port).start()
    try:
        yield running.url, card, tmp
    finally:
        running.close()
