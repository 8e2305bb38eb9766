# Blendscope: `make run` sets everything up and opens the dashboard; `make test` runs the tests.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8501

.PHONY: install run demo test lint bench bench-whatif bench-load bench-quality bench-report clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# regenerated when the generator changes, retrained when the data or the project format does
data/demo/config.toml: $(STAMP) recsys/demo.py
	$(BIN)/recsys demo-data --out data/demo

artifacts/demo/manifest.json: data/demo/config.toml recsys/_manifest.py
	$(BIN)/recsys train --config data/demo/config.toml --out artifacts/demo

demo: artifacts/demo/manifest.json

run: demo
	$(BIN)/streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT) \
		--browser.gatherUsageStats false

# ruff (with the numpy docstring rules on recsys/ and explain/) and mypy (files and
# settings in pyproject.toml's [tool.mypy]); `make test` runs it first.
lint: $(STAMP)
	$(BIN)/ruff check recsys explain ui app.py tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q

bench: demo
	$(BIN)/python bench/bench_blend.py
	$(BIN)/python bench/bench_train.py --config data/demo/config.toml
	$(BIN)/python bench/bench_explain.py --artifacts artifacts/demo
	$(BIN)/python bench/bench_dashboard.py --project artifacts/demo
	$(BIN)/python bench/bench_whatif.py --artifacts artifacts/demo
	$(BIN)/python bench/bench_pdp.py --artifacts artifacts/demo
	$(BIN)/python bench/bench_flags.py

# One what-if edit (rebuild a pair's features, SHAP of both rows, re-rank): median and p95.
bench-whatif: demo
	$(BIN)/python bench/bench_whatif.py --artifacts artifacts/demo

# Report export: the PDF's per-user section (CPU ms per user) and HTML, 50 and 200 users.
bench-report: demo
	$(BIN)/python bench/bench_report.py --artifacts artifacts/demo

# Concurrent browser sessions (1, 5, 20) moving sliders: several minutes; not in `make test`.
bench-load: demo
	$(BIN)/python bench/bench_load.py --project artifacts/demo

# Metrics vs baselines on MovieLens-like, sparse-event and demo data (trains 5 projects).
bench-quality: $(STAMP)
	$(BIN)/python bench/bench_quality.py

# Issue 11: every stage's time and peak RSS at 1M, 3M and 10M exposures with the growth
# exponents, then candidate recall per source at 200 candidates per user (datasets kept
# under /tmp/blendscope-scale). About 35 min and an 8 GB peak; not in `make test`.
.PHONY: bench-scale
bench-scale: $(STAMP)
	$(BIN)/python bench/scale/bench_scale.py --sizes 1M 3M 10M
	$(BIN)/python bench/scale/bench_scale.py --sizes --per-user 200 --candidates-only 1M 3M 10M

clean:
	rm -rf $(VENV) artifacts .pytest_cache .mypy_cache
