# Two commands do everything on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT := demo-out
FUZZ_SECONDS ?= 600
FUZZ_OUT := fuzz-out
# The browser decoder's npm packages (see the end of this file).
NPM ?= npm
WEB_DEPS := web/node_modules/.installed

.PHONY: demo test bench previews fuzz lint clean conformance system-tools

# setup.py and kernels.c: the decoder's compiled kernels are built by the install (a C compiler: SYSTEM_TOOLS).
$(STAMP): pyproject.toml setup.py regioncodec/kernels.c | system-tools
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	rm -f regioncodec/_kernels.*  # a build that fails must not leave an older one in use
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	@mkdir -p $(DEMO_OUT)
	@for f in samples/*.jpg; do \
		n=$$(basename $$f .jpg); \
		$(BIN)/rcodec encode $$f $(DEMO_OUT)/$$n.rgc --fg-quality 90 --bg-quality 30 --force || exit 1; \
		$(BIN)/rcodec decode $(DEMO_OUT)/$$n.rgc $(DEMO_OUT)/$$n.png --force || exit 1; \
	done
	@$(BIN)/python benchmarks/demo_table.py samples $(DEMO_OUT)

test: $(STAMP) $(WEB_DEPS) system-tools
	$(BIN)/python -m pytest

# Programs some tests drive, as COMMAND:DEBIAN-PACKAGE. Under CI (CI=true: root, apt reachable) the missing
# ones are installed; elsewhere their tests skip with a one-line reason. chromium: tests/test_browser.py; cc: the
# codec's compiled kernels (without one the install goes on, and tests/test_kernels.py skips).
SYSTEM_TOOLS := butteraugli_main:libjxl-devtools chromium:chromium cc:gcc
system-tools:
	@if [ "$$CI" = "true" ]; then \
		missing=""; \
		for pair in $(SYSTEM_TOOLS); do command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair#*:}"; done; \
		if [ -n "$$missing" ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
		fi; \
	fi

bench: $(STAMP) $(WEB_DEPS) system-tools  # every benchmark runs; fails if any figure missed
	$(BIN)/python -m pip install --quiet -e '.[test,report]'
	@missed=0; for name in core encoders peers segment memory batch browser reduced sources; do \
		$(BIN)/python benchmarks/bench_$$name.py || missed=1; \
	done; exit $$missed

# Write spec/conformance/ again (spec §16): only when the format or the decoder's arithmetic changes on purpose.
conformance: $(STAMP)
	$(BIN)/python tests/data/make_conformance.py

previews: $(STAMP)
	$(BIN)/python docs/make_previews.py

# Coverage-guided fuzzing of decode for FUZZ_SECONDS on one core; new inputs go to $(FUZZ_OUT)/corpus,
# crashes to $(FUZZ_OUT)/crash-*: copy each to tests/data/regressions/NAME.rgc so pytest replays it.
# Inputs stay within 4 KB (larger seeds are cut): every branch of the reader is reachable in far less.
fuzz: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,fuzz]'
	@mkdir -p $(FUZZ_OUT)/corpus
	$(BIN)/python fuzz/fuzz_decode.py $(FUZZ_OUT)/corpus fuzz/corpus tests/data \
		-max_total_time=$(FUZZ_SECONDS) -max_len=4096 -rss_limit_mb=1024 -timeout=10 \
		-artifact_prefix=$(FUZZ_OUT)/ -print_final_stats=1

clean:
	rm -rf $(VENV) $(DEMO_OUT) $(FUZZ_OUT) .pytest_cache .hypothesis

lint: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	$(BIN)/ruff check regioncodec tests benchmarks docs fuzz
	$(BIN)/ruff format --check regioncodec tests benchmarks docs fuzz
	$(BIN)/mypy regioncodec tests/typing_public_api.py

# --- The browser decoder (web/): its npm packages (Chromium comes with SYSTEM_TOOLS) ---------------------
# Without npm or Chromium (a laptop) the tests that need them skip with a line saying why; under CI=true
# they fail instead, so CI installs both: npm packages from web/package-lock.json, Debian's chromium.
$(WEB_DEPS): web/package.json web/package-lock.json
	@if command -v $(NPM) >/dev/null; then \
		cd web && $(NPM) ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	elif [ "$$CI" = true ]; then echo "npm is needed for the browser tests under CI" >&2; exit 1; \
	else echo "npm not found: tests that need web/node_modules will skip"; fi
