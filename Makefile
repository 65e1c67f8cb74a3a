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

# The suite twice: on SQLite, then on a throwaway PostgreSQL the test support starts itself
# (only the tests that touch a database run the second time; decision 0014).
test: $(STAMP)
	bash scripts/test-deps.sh
	$(BIN)/ruff check .
	$(BIN)/pytest --db=sqlite
	$(BIN)/pytest --db=postgresql

lint: $(STAMP)
	$(BIN)/ruff check .

check: $(STAMP)
	$(BIN)/review-bot check

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var/*.sqlite3 .pytest_cache
