# `make test` sets a fresh machine up (OS fonts, .venv, pinned packages) and runs the suite.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test lint demo bench clean-data

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt scripts/setup.sh
	VENV=$(VENV) bash scripts/setup.sh
	touch $(STAMP)

test: setup
	$(PY) -m pytest -q

lint: setup
	$(PY) -m ruff check ocrcore tests bench

# Main job: a small captcha dataset with a preview (replaced by the full pipeline as it lands).
demo: setup
	$(PY) -m ocrcore generate --task captcha --out data/captcha --train 2000 --val 200 --test 200

bench: setup
	$(PY) bench/generate_throughput.py

clean-data:
	rm -rf data runs mlruns mlflow.db
