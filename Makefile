# The two commands: `make run` (set up, then run the main experiment) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test setup bench clean

run:
	bash scripts/setup.sh run
	$(VENV)/bin/dynvision run contrast --out results

test:
	bash scripts/setup.sh test
	$(PY) -m pytest -q --durations=15

setup:
	bash scripts/setup.sh test

bench:
	$(PY) benchmarks/simulate.py

clean:
	rm -rf results reports .pytest_cache
