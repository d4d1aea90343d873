# Set-up and everyday commands. `make run` and `make test` work on a fresh clone with only Python 3.11/3.12.
# Both install the exact, hashed set in requirements.lock (uv, pinned by the lock itself); `make lock` refreshes
# it from pyproject.toml's ranges, `make test-latest` tries the newest versions those ranges allow.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LOCK   := requirements.lock
EXTRAS := --extra test --extra bench
UV_VERSION := $(shell sed -n 's/^uv==\([^ ;]*\).*/\1/p' $(LOCK))
UV      = $(1)/bin/python -m uv

.PHONY: run test test-fast test-latest lock bench clean

# A venv with uv (the lock's version) in it: $(call venv,DIR)
define venv
	$(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
endef

$(BIN)/.installed: $(LOCK) pyproject.toml
	$(call venv,$(VENV))
	$(call UV,$(VENV)) pip sync --quiet --python $(BIN)/python --require-hashes $(LOCK)
	$(call UV,$(VENV)) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

run: $(BIN)/.installed
	$(BIN)/python -m pipelines.run --runner=DirectRunner

# The complete suite: pytest, then the extraction gate (the dev sets in ../shared or NEWS_SHARED; passes with
# a note without them). `test-fast` leaves out the tests that launch a process (marked slow by tests/conftest.py).
# Both on WORKERS pytest-xdist processes (`make test WORKERS=4`; WORKERS=0: one process), each group of
# tests (tests/conftest.py: a module, or the readers of one shared run) on one worker.
WORKERS ?= 2
PYTEST   = $(BIN)/python -m pytest -q -n $(WORKERS) --dist loadgroup --no-loadscope-reorder

test: $(BIN)/.installed
	$(BIN)/ruff check .
	$(PYTEST)
	$(BIN)/python -m bench.extraction_gate

test-fast: $(BIN)/.installed
	$(PYTEST) -m "not slow"

# The newest versions pyproject.toml admits, in a venv of their own: what `pip install news-ingest` gets today.
test-latest:
	rm -rf .venv-latest
	$(call venv,.venv-latest)
	$(call UV,.venv-latest) pip install --quiet --python .venv-latest/bin/python --resolution highest -e ".[test,bench]"
	$(call UV,.venv-latest) pip freeze --python .venv-latest/bin/python > .venv-latest/versions.txt
	.venv-latest/bin/python -m pytest -q -m "not slow"

lock: $(BIN)/.installed
	$(call UV,$(VENV)) pip compile --quiet pyproject.toml $(EXTRAS) --universal --generate-hashes \
		--python-version 3.11 -o $(LOCK)

# The extraction benchmark needs the dev set in ../shared (not in this repository): skipped without it.
bench: $(BIN)/.installed
	@if [ -d ../shared/eval/extraction-dev ]; then $(BIN)/python -m bench.extraction_eval; \
	else echo "bench.extraction_eval: skipped (no dev set at ../shared/eval/extraction-dev)"; fi
	$(BIN)/python -m bench.scale_bench --sizes 1000 --workers 1 --plain-limit 300

clean:
	rm -rf $(VENV) .venv-latest output .pytest_cache
