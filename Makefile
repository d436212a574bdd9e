# synthguard: `make run` starts the service, `make test` runs every check. Both set up a fresh machine.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_STAMP := $(VENV)/.apt

.PHONY: run test bench lint typecheck apt clean

$(BIN)/python:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

# System tools the tests use: third-party readers (exiftool, ffprobe), a PostgreSQL server for the
# store tests, and Debian's Chromium + CJK fonts for the console browser tests (Playwright drives
# /usr/bin/chromium; `playwright install` is never run). Installed only if missing.
$(APT_STAMP): $(BIN)/python
	@missing=""; command -v exiftool >/dev/null || missing="$$missing libimage-exiftool-perl"; \
	command -v ffprobe >/dev/null || missing="$$missing ffmpeg"; \
	command -v pngfix >/dev/null || missing="$$missing libpng-tools"; \
	command -v espeak-ng >/dev/null || missing="$$missing espeak-ng"; \
	[ -f /usr/share/games/fortunes/chinese ] || missing="$$missing fortunes-zh"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || missing="$$missing fonts-noto-cjk"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo -n"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
	touch $(APT_STAMP)

apt: $(APT_STAMP)

# A demo provider code (valid shape and check character, not a real company) so the tour works out of
# the box; set SYNTHGUARD_PROVIDER_CODE to your own before labeling real content.
DEMO_PROVIDER_CODE := 001191110108MA01AB2C3T10001

run: $(STAMP)
	mkdir -p var
	SYNTHGUARD_PROVIDER_CODE=$${SYNTHGUARD_PROVIDER_CODE:-$(DEMO_PROVIDER_CODE)} \
	  $(BIN)/synthguard serve --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) $(APT_STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -n 2

# The peers (torch, invisible-watermark, blind-watermark, resemble-perth ...) live in their own venv:
# they pull opencv-python 5, whose cv2 lacks the Haar cascades the review engine uses, and would break
# the test venv. In the bench venv opencv-python-headless 4.x provides cv2 for everyone.
BENCH_VENV := .venv-bench
BENCH_BIN := $(BENCH_VENV)/bin
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): pyproject.toml
	$(PY) -m venv $(BENCH_VENV) || python3 -m venv $(BENCH_VENV)
	$(BENCH_BIN)/pip install -q --upgrade pip
	$(BENCH_BIN)/pip install -q -e '.[test,bench]'
	$(BENCH_BIN)/pip uninstall -q -y opencv-python || true
	$(BENCH_BIN)/pip install -q --force-reinstall --no-deps 'opencv-python-headless>=4.8,<5'
	touch $(BENCH_STAMP)

bench: BIN := $(BENCH_BIN)
bench: $(BENCH_STAMP) $(APT_STAMP)
	$(BIN)/python benchmarks/implicit_labels.py
	$(BIN)/python benchmarks/explicit_labels.py
	$(BIN)/python benchmarks/review.py
	$(BIN)/python benchmarks/ledger.py
	$(BIN)/python benchmarks/c2pa_credentials.py
	$(BIN)/python benchmarks/gateway.py
	$(BIN)/python benchmarks/watermark.py
	# the logits processor's torch path: torch is only in this venv, so its tests run here too
	$(BIN)/python -m pytest -q tests/watermark/test_text.py
	$(BIN)/python benchmarks/console.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) var .mypy_cache .ruff_cache .pytest_cache
