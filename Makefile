# Set-up and the two everyday commands. Each target creates or reuses the virtual environment
# in $(VENV), installs the CPU torch build and ptalker into it, and any Debian packages needed.
#   make demo    run the main job on the built-in defaults (writes outputs/demo)
#   make test    run the test suite
#   make corpus  make the synthetic benchmark corpus in data/synth_benchmark (about 1 min, 2.2 GB)
# Elsewhere (e.g. with a GPU) pick another torch: make test TORCH_SPEC="torch==2.5.1"

PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
EXTRAS ?= dev
# Debian packages the toolkit needs at run time (installed with apt-get when missing).
APT_PACKAGES ?=
DEMO_OUT ?= outputs/demo
CORPUS_OUT ?= data/synth_benchmark

BIN := $(VENV)/bin
STAMP := $(VENV)/.ptalker-installed

.PHONY: install test demo corpus bench-corpus clean-venv

$(STAMP): setup.cfg pyproject.toml Makefile
	bash scripts/install_system_packages.sh $(APT_PACKAGES)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/ptalker demo --out $(DEMO_OUT)

corpus: $(STAMP)
	$(BIN)/ptalker data synth --out $(CORPUS_OUT) --config configs/data/synth_benchmark.yaml

bench-corpus: $(STAMP)
	$(BIN)/python benchmarks/synth_corpus.py --config configs/data/synth_benchmark.yaml

clean-venv:
	rm -rf $(VENV)
