# Set-up and everyday commands. `make run` and `make test` work on a fresh clone with only Python 3.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# pip 23.2 (Python 3.11's) crashes resolving trafilatura's lxml[html-clean] extra: upgrade it first.
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	touch $@

run: $(BIN)/.installed
	$(BIN)/python -m pipelines.run --runner=DirectRunner

test: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

# The extraction benchmark needs the dev set in ../shared (not in this repository): skipped without it.
bench: $(BIN)/.installed
	@if [ -d ../shared/eval/extraction-dev ]; then $(BIN)/python -m bench.extraction_eval; \
	else echo "bench.extraction_eval: skipped (no dev set at ../shared/eval/extraction-dev)"; fi
	$(BIN)/python -m bench.scale_bench --sizes 1000 --workers 1 --plain-limit 300

clean:
	rm -rf $(VENV) output .pytest_cache
