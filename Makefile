# The two commands a newcomer needs: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/review-bot run

# The static checks first (seconds), then the suite twice: on SQLite, then on a throwaway PostgreSQL
# the test support starts itself (only the tests that touch a database run the second time;
# decision 0014).
test: lint
	bash scripts/test-deps.sh
	$(BIN)/pytest --db=sqlite
	$(BIN)/pytest --db=postgresql

# The static parts (decision 0021): style, the layers (import contracts in pyproject.toml), types of
# bot/, handlers/ and schedules/, and no module over 400 lines.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python scripts/module_size.py

check: $(STAMP)
	$(BIN)/review-bot check

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var/*.sqlite3 .pytest_cache
