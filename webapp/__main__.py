"""python -m webapp [--host 127.0.0.1] [--port 7860] [--tracking-uri URI] [--task captcha] [--arch ARCH]"""

from __future__ import annotations

import argparse
import logging
import os

from webapp.app import build_app
from webapp.server import Limits, Server
from webapp.service import ModelService


def default_arch(service: ModelService, task: str) -> str:
    """The task's first registered architecture, else its first pretrained one's, else crnn."""
    return (service.archs(task) or ["crnn"])[0]


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the ocrcore demo page.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--tracking-uri", help="MLflow (default: $MLFLOW_TRACKING_URI or data/mlflow.db)")
    parser.add_argument("--task", default="captcha")
    parser.add_argument("--max-file-size", default=Limits.max_file_size, help="largest upload, e.g. 20MB")
    parser.add_argument("--arch", help="model shown first (default: the task's first registered or pretrained one)")
    args = parser.parse_args()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    logging.basicConfig(level=logging.INFO)
    service = ModelService(args.tracking_uri)  # registry calls fail fast: the page opens even when it is down
    arch = args.arch or default_arch(service, args.task)
    limits = Limits(max_file_size=args.max_file_size)
    Server(build_app(service, args.task, arch, limits=limits), args.host, args.port, limits).run()


if __name__ == "__main__":
    main()
