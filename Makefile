# `make test` sets a fresh machine up (OS fonts, .venv, pinned packages) and runs the suite.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test lint demo bench clean-data mlflow-ui serve

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt scripts/setup.sh
	VENV=$(VENV) bash scripts/setup.sh
	touch $(STAMP)

test: setup
	$(PY) -m pytest -q

lint: setup
	$(PY) -m ruff check ocrcore flows webapp bench tests

# Main job on embedded defaults (local SQLite MLflow store in data/, Prefect without a server): register the shipped
# models (pretrained/) as the first champions (idempotent), then generate -> fine-tune the captcha champion ->
# evaluate -> register; the fine-tuned version replaces the champion only if it reads the same held-out set better.
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 120
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
DEMO_EPOCHS ?= 2
DEMO_LR ?= 0.0005
# crnn_cnn_small: the shipped captcha model (pretrained/captcha-crnn_cnn_small); an arch with no shipped model trains
# from random weights (crnn_cnn and crnn leave CTC's blank plateau within about 500 steps).
DEMO_ARCH ?= crnn_cnn_small
demo: setup
	$(PY) -m flows.pipeline --seed-pretrained --init-from champion --task captcha --arch $(DEMO_ARCH) \
		--train-size 8000 --test-size 1000 --epochs $(DEMO_EPOCHS) --lr $(DEMO_LR)

# The demo page on http://127.0.0.1:7860 (serves the champion registered by `make demo`).
serve: setup
	$(PY) -m webapp --host 127.0.0.1 --port 7860

mlflow-ui: setup
	$(VENV)/bin/mlflow ui --backend-store-uri sqlite:///data/mlflow.db --host 127.0.0.1 --port 5000

bench: setup
	$(PY) bench/generate_throughput.py

clean-data:
	rm -rf data runs mlruns mlflow.db
