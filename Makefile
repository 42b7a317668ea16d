# glassnet: every target does its own set-up on a fresh Debian machine.
#   make demo   train the reference network on real data (the main job); installs only what
#               that needs: Debian's Fashion-MNIST and glassnet[cli,fast], no browser
#   make test   lint, type-check and run the whole test suite; installs the rest (Chromium and
#               its driver for the browser tests, every extra and the test tools)
#   make bench  run the benchmarks against the installed peers

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO_DEB_PACKAGES := dataset-fashion-mnist
DEB_PACKAGES := dataset-fashion-mnist chromium chromium-driver openmpi-bin libopenmpi-dev
DEMO_EXTRAS := cli,fast
EXTRAS := all,test

.PHONY: demo test bench lint system-packages demo-system-packages install-debs venv demo-venv clean

system-packages:
	@$(MAKE) --no-print-directory install-debs PACKAGES="$(DEB_PACKAGES)"

demo-system-packages:
	@$(MAKE) --no-print-directory install-debs PACKAGES="$(DEMO_DEB_PACKAGES)"

install-debs:
	@missing=""; for p in $(PACKAGES); do \
	    dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	    echo "Installing Debian packages:$$missing"; \
	    SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# One stamp per set of extras: the demo's is a subset, so after `make test` it is a no-op.
$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[$(DEMO_EXTRAS)]"
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[$(EXTRAS)]"
	touch $@ $(VENV)/.demo-installed

demo-venv: $(VENV)/.demo-installed

venv: $(VENV)/.test-installed

demo: demo-system-packages demo-venv
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
