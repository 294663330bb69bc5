# Shortcuts; CI runs `bash .ci/run`, which is lint, types and `uv run pytest`.
.PHONY: quickstart test lint reliability bench

TODAY := $(shell date +%F)

quickstart:
	uv run floe ingest run -f examples/quickstart/floe.yaml

test:
	uv run pytest

lint:
	uv run ruff check .
	uv run ruff format --check .
	uv run mypy libs testing tests $(wildcard plugins/*/)
	uv run bandit -q -c pyproject.toml -r libs plugins testing

# The reliability suites at full size: the fuzz with 5,000 examples per property, the catalog
# creation race with 100 rounds, the Dagster backfill tests on both catalogs; then the crash
# harness at 1,000,000 SQL rows and 200,000 REST items with 10 kills spread over each load and 10
# just after normalize per scenario (CI runs 20,000 / 5,000 with 6 and 3; 4 and 2 on the REST
# catalog), then the SQL append and merge killed and rerun through the source's Dagster asset job
# at the same size (CI runs the merge at 5,000 rows with 2 kills and one while the Iceberg write
# runs). The harness's tables go to benchmarks/results/reliability-<date>.md.
reliability:
	RUNTIME__DLTHUB_TELEMETRY=false FLOE_FUZZ_EXAMPLES=5000 FLOE_RACE_ROUNDS=100 FLOE_RELIABILITY=1 \
		uv run pytest --no-cov tests/reliability tests/e2e/test_concurrency.py \
		tests/e2e/test_concurrent_creation.py tests/e2e/test_backfill.py tests/e2e/test_telemetry_export.py
	mkdir -p benchmarks/results
	RUNTIME__DLTHUB_TELEMETRY=false uv run python -m floe_testing.crash --rows 1000000 \
		--rest-items 200000 --kills 10 --after-normalize 10 --root .floe-crash \
		| tee -a benchmarks/results/reliability-$(TODAY).md
	RUNTIME__DLTHUB_TELEMETRY=false uv run python -m floe_testing.crash --launcher dagster \
		--scenario sql-append --scenario sql-merge --rows 1000000 --kills 10 --after-normalize 10 \
		--root .floe-crash | tee -a benchmarks/results/reliability-$(TODAY).md

bench:
	RUNTIME__DLTHUB_TELEMETRY=false uv run python benchmarks/run.py --rows 1000000 --suite all
