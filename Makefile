# Two commands do all set-up: `make demo` and `make test`. Both build .venv from PyPI.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
BACKEND ?= valkey
STAMP := $(VENV)/.installed

.PHONY: venv test demo lint clean bench bench-valkey bench-dynamodb bench-s3 bench-store bench-bedrock-sessions bench-agentcore bench-migrate

venv: $(STAMP)

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: venv
	$(BIN)/ruff check src tests benchmarks demo
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

demo: venv
	$(BIN)/python -m demo.agent --backend $(BACKEND) $(if $(DATA_DIR),--data-dir $(DATA_DIR)) $(if $(PORT),--port $(PORT))

bench: bench-valkey bench-dynamodb bench-concurrency bench-store

bench-valkey: venv
	$(BIN)/python benchmarks/valkey_bench.py

bench-dynamodb: venv
	$(BIN)/python benchmarks/dynamodb_bench.py

bench-s3: venv
	$(BIN)/python benchmarks/s3_bench.py

bench-agentcore: venv
	$(BIN)/python benchmarks/agentcore_bench.py

bench-migrate: venv
	$(BIN)/python benchmarks/migrate_bench.py

bench-concurrency: venv
	$(BIN)/python benchmarks/concurrency_bench.py

bench-store: venv
	$(BIN)/python benchmarks/store_bench.py

bench-bedrock-sessions: venv
	$(BIN)/python benchmarks/bedrock_sessions_bench.py

lint: venv
	$(BIN)/ruff check src tests benchmarks demo
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .demo-data
