# espnet-kd: set-up and the two commands README names.
#   make demo   # install (first time), then run the embedded-corpus recipes end to end (ASR, then ST)
#   make test   # install (first time), then run the test suite
#   make reproduce  # both recipes with every student at seeds 0 1 2 (SEEDS="..." to change)
# VENV=/path/to/venv reuses (or creates) an environment elsewhere.

VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.espnet_kd_installed

.PHONY: install demo demo-asr demo-st reproduce reproduce-asr reproduce-st test test-fast clean-demo

install: $(STAMP)

# pip 25+ refuses ESPnet 202511's dependency tree (ci_sdr declares a direct-URL
# requirement in an extra); pip 24.0 installs it (measured: ../shared/STACK.md).
$(STAMP): setup.cfg pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "pip==24.0"
	$(PY) -m pip install --quiet "setuptools>=64,<74" wheel
	# The install below runs without build isolation (so sdists build against setuptools<74);
	# pyworld (an ESPnet dependency) ships only an sdist for some Pythons and imports numpy
	# and Cython in its setup.py, so both must be here first. ESPnet 202511 needs numpy>=2.
	$(PY) -m pip install --quiet "numpy>=2" cython
	$(PY) -m pip install --quiet --no-build-isolation -e ".[test]"
	touch $@

# The ASR recipe first: its teacher's encoder initialises the ST students (st1/run.sh --pretrained_asr).
# (demo-st alone needs asr1's teacher, or ./run.sh --pretrained_asr none in st1.)
.NOTPARALLEL:
demo: demo-asr demo-st

demo-asr: $(STAMP)
	cd egs2/mini_synth/asr1 && PATH="$(abspath $(VENV))/bin:$$PATH" ./run.sh

demo-st: $(STAMP)
	cd egs2/mini_synth/st1 && PATH="$(abspath $(VENV))/bin:$$PATH" ./run.sh

# The 3-seed tables: every student of both recipes at seeds 0, 1 and 2 (seed 0's students are the
# demo's, reused when they are there), RESULTS.md with mean ± sd and paired-bootstrap intervals.
SEEDS ?= 0 1 2
reproduce: reproduce-asr reproduce-st

reproduce-asr: $(STAMP)
	cd egs2/mini_synth/asr1 && PATH="$(abspath $(VENV))/bin:$$PATH" ./run.sh --seeds "$(SEEDS)"

reproduce-st: $(STAMP)
	cd egs2/mini_synth/st1 && PATH="$(abspath $(VENV))/bin:$$PATH" ./run.sh --seeds "$(SEEDS)"

test: $(STAMP)
	PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) -m pytest -q -rs tests

test-fast: $(STAMP)
	PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) -m pytest -q -rs -m "not slow" tests

clean-demo:
	for recipe in egs2/mini_synth/asr1 egs2/mini_synth/st1; do \
		rm -rf $$recipe/data $$recipe/dump $$recipe/exp $$recipe/corpus $$recipe/RESULTS.md; done
