# One virtualenv for everything; created on first use from the pinned dependencies.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

GRID   ?= lr_eps
SEEDS  ?=
STEPS  ?=
OUT    ?=
RESUME ?=
RUN    ?= results/$(GRID)/latest
RUNS   ?=
ARGS   ?=

SWEEP_ARGS := $(if $(SEEDS),--seeds $(SEEDS)) $(if $(STEPS),--steps $(STEPS)) \
              $(if $(OUT),--out $(OUT)) $(if $(RESUME),--resume $(RESUME)) $(ARGS)

.PHONY: venv test sweep bench report compare lint clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

test: $(STAMP)
	JAX_PLATFORMS=cpu $(PY) -m pytest -q

sweep: $(STAMP)
	$(PY) -m sweep run $(GRID) $(SWEEP_ARGS)

$(VENV)/.installed-bench: $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[bench]"
	touch $@

bench: $(VENV)/.installed-bench
	$(PY) -m sweep.bench $(ARGS)

report: $(STAMP)
	$(PY) -m analysis report $(RUN)

compare: $(STAMP)
	$(PY) -m analysis compare $(RUNS) $(ARGS)

lint: $(STAMP)
	$(PY) -m ruff check core sweep analysis tests
	$(PY) -m ruff format --check core sweep analysis tests

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
