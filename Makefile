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
# ACCEL=cuda12 or cuda13: also install the CUDA build of the pinned jax (jax[cuda13]==0.10.2 and its plugin)
ACCEL  ?=
JAX_VERSION := $(shell sed -n 's/^ *"jax==\([^"]*\)",/\1/p' pyproject.toml)

ifneq ($(filter-out cuda12 cuda13,$(ACCEL)),)
$(error ACCEL must be cuda12 or cuda13 (or empty for the CPU build), got '$(ACCEL)')
endif
ACCEL_STAMP := $(if $(ACCEL),$(VENV)/.installed-$(ACCEL))

SWEEP_ARGS := $(if $(SEEDS),--seeds $(SEEDS)) $(if $(STEPS),--steps $(STEPS)) \
              $(if $(OUT),--out $(OUT)) $(if $(RESUME),--resume $(RESUME)) $(ARGS)

.PHONY: venv test sweep bench report compare lint clean gpu-wheels gpu-check

venv: $(STAMP) $(ACCEL_STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

# The CUDA plugin of the same jax, under the same constraints (jax and jaxlib stay at their pins).
$(VENV)/.installed-cuda12 $(VENV)/.installed-cuda13: $(VENV)/.installed-%: $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt "jax[$*]==$(JAX_VERSION)"
	touch $@

# Two workers, each test file on one of them (its module fixtures computed once): about 12 minutes on 2 cores.
# One JAX compilation cache for the run, removed after it: a program that one test (or a sweep it starts)
# compiled is loaded, not compiled again, by the next that needs it. Its size limit turns on JAX's lock.
test: $(STAMP)
	@cache=$$(mktemp -d) && echo "JAX compilation cache: $$cache" && \
	JAX_COMPILATION_CACHE_DIR=$$cache JAX_COMPILATION_CACHE_MAX_SIZE=4000000000 JAX_PLATFORMS=cpu \
	$(PY) -m pytest -q -n 2 --dist loadfile; rc=$$?; rm -rf $$cache; exit $$rc

sweep: $(STAMP) $(ACCEL_STAMP)
	$(PY) -m sweep run $(GRID) $(SWEEP_ARGS)

bench: $(STAMP) $(ACCEL_STAMP)
	$(PY) -m sweep.bench $(ARGS)

report: $(STAMP)
	$(PY) -m analysis report $(RUN)

compare: $(STAMP)
	$(PY) -m analysis compare $(RUNS) $(ARGS)

lint: $(STAMP)
	$(PY) -m ruff check common core sweep analysis tests tools
	$(PY) -m ruff format --check common core sweep analysis tests tools

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# Wheels of the pinned packages that a GPU machine's image may lack (its python is 3.12), into .whl/, for a
# machine with no package index: there, `pip install --no-index --no-deps --target DIR .whl/*.whl`.
GPU_WHEELS := dm-haiku jmp rlax distrax dm-env tfp-nightly dm-tree decorator gast gymnasium farama-notifications gymnax
WHEEL_PYTHON ?= 3.12
gpu-wheels:
	mkdir -p .whl
	for name in $(GPU_WHEELS); do \
	  pin=$$(grep -i "^$$name==" constraints.txt) || { echo "no pin for $$name in constraints.txt"; exit 2; }; \
	  $(PYTHON) -m pip download --quiet --no-deps --only-binary=:all: --python-version $(WHEEL_PYTHON) \
	    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
	    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl "$$pin" || exit 2; \
	done
	ls .whl

# The GPU check (tools/gpu_check.py): tests, scaling curve, a 4,096-run sweep and reproducibility on a CUDA machine
# whose python3 has jax with CUDA, the wheels of gpu-wheels in .whl/; results in $OUT or results/gpu-check.
# SMALL=1: tiny sizes, the whole check on this CPU in about a minute.
GPU_PYTHON ?= $(if $(wildcard $(PY)),$(PY),python3)
gpu-check:
	$(GPU_PYTHON) tools/gpu_check.py $(if $(SMALL),--small)
