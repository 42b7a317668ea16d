# glassnet: every target does its own set-up on a fresh Debian machine.
#   make demo   train the reference network on real data (the main job)
#   make test   lint, type-check and run the whole test suite
#   make bench  run the benchmarks against the installed peers

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEB_PACKAGES := dataset-fashion-mnist chromium chromium-driver openmpi-bin libopenmpi-dev
EXTRAS := all,test

.PHONY: demo test bench lint system-packages venv clean

system-packages:
	@missing=""; for p in $(DEB_PACKAGES); do \
	    dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	    echo "Installing Debian packages:$$missing"; \
	    SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(BIN)/activate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[$(EXTRAS)]"
	touch $(BIN)/activate

venv: $(BIN)/activate

demo: system-packages venv
	$(BIN)/glassnet train

lint: venv
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/ruff format --check src tests benchmarks docs
	$(BIN)/mypy src/glassnet
	$(BIN)/lint-imports

test: system-packages venv lint
	$(BIN)/python -m pytest -q

BENCH_ARGS ?= --wait-idle 300

bench: system-packages venv
	$(BIN)/pip install -q torch==2.13.0 scikit-learn
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
