"""python -m webapp [--host 127.0.0.1] [--port 7860] [--tracking-uri URI] [--task captcha] [--arch ARCH]"""

from __future__ import annotations

import argparse
import logging
import os

from webapp.app import build_app
from webapp.service import ModelService


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the ocrcore demo page.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--tracking-uri", help="MLflow (default: $MLFLOW_TRACKING_URI or data/mlflow.db)")
    parser.add_argument("--task", default="captcha")
    parser.add_argument("--arch", help="model family shown first (default: the task's first registered one)")
    args = parser.parse_args()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    logging.basicConfig(level=logging.INFO)
    service = ModelService(args.tracking_uri)
    families = [pair.split("/", 1)[1] for pair in service.registered() if pair.startswith(f"{args.task}/")]
    arch = args.arch or (families[0] if families else "crnn")
    build_app(service, args.task, arch).launch(server_name=args.host, server_port=args.port, show_error=True)


if __name__ == "__main__":
    main()
