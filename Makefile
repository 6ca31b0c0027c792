# The two commands: `make run` (set up, then run the main experiment) and `make test`.
# RUN_ARGS adds options to the experiment, e.g. make run RUN_ARGS="--set n_images=1".
VENV ?= .venv
PY := $(VENV)/bin/python
RUN_ARGS ?=

.PHONY: run test setup bench docs clean

run:
	bash scripts/setup.sh run
	$(VENV)/bin/dynvision run contrast --out results $(RUN_ARGS)

test:
	bash scripts/setup.sh test
	$(PY) -m pytest -q --durations=15

setup:
	bash scripts/setup.sh test

bench:
	$(PY) benchmarks/simulate.py

docs:
	bash scripts/setup.sh test
	$(PY) -m mkdocs build --strict

clean:
	rm -rf results reports site .pytest_cache
