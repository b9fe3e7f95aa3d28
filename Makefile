# requestx: build, test, demo, benchmark.
#   make demo   set up everything, then show requestx at work
#   make test   set up everything, then run the whole test suite
#   make bench  the benchmark against peers (benchmarks/); bench-quick: a smoke run
#   make asan   the test suite under AddressSanitizer + UBSan
#   make lint   ruff, mypy --strict and clang-format checks
#   make libcurl the bundled libcurl alone (native/libcurl/build.sh), cached in build/libcurl
#   make wheel  a repaired manylinux wheel in dist/; make wheel-test smoke-tests it
#               with every system libcurl hidden; make sdist an sdist
#
# The engine links the bundled libcurl (static, built from Debian's source
# packages on first use, about 5 minutes on 2 cores). LIBCURL=system links the
# system's libcurl instead (libcurl4-openssl-dev); if the bundled one cannot be
# built, the build says why and uses the system's.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .stamps
APT_PACKAGES := libcurl4-openssl-dev pkg-config nginx-light wrk clang-format cmake perl xz-utils
LIBCURL ?= bundled
C_SOURCES := $(wildcard requestx/_engine/*.c requestx/_engine/*.h)

.PHONY: all setup build test demo bench bench-quick asan lint format clean pictures libcurl wheel sdist wheel-test sdist-test FORCE

all: build

# System packages, installed only when something is missing.
$(STAMPS)/apt:
	@mkdir -p $(STAMPS)
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; fi
	@touch $@

# After the bundled libcurl: the editable install compiles the engine, which
# should link the bundled libcurl from the first build.
$(STAMPS)/venv: $(STAMPS)/apt $(STAMPS)/libcurl pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

setup: $(STAMPS)/venv

# The bundled libcurl: a no-op once built (build.sh keeps a stamp per
# component). A failed build is reported and leaves the system libcurl in use.
$(STAMPS)/libcurl: native/libcurl/build.sh native/libcurl/sources.lock $(STAMPS)/apt
	@if [ "$(LIBCURL)" = system ]; then echo "LIBCURL=system: not building the bundled libcurl"; \
	elif ! native/libcurl/build.sh build/libcurl; then \
	  echo "*** The bundled libcurl could not be built (see above): the engine links the system libcurl."; \
	  echo "*** Tests that need libcurl 8 features skip, saying so."; fi
	@touch $@

libcurl: $(STAMPS)/apt
	native/libcurl/build.sh build/libcurl

# Which libcurl the engine was built against: the engine is rebuilt when it changes.
$(STAMPS)/libcurl-choice: FORCE
	@mkdir -p $(STAMPS)
	@echo "$(LIBCURL)" | cmp -s - $@ || echo "$(LIBCURL)" > $@

ENGINE_LIBCURL = $(if $(filter system,$(LIBCURL)),system,)

# Rebuild the extension in place whenever a C file changes.
build: $(STAMPS)/venv $(STAMPS)/ext

$(STAMPS)/ext: $(C_SOURCES) setup.py native/engine.map $(STAMPS)/venv $(STAMPS)/libcurl $(STAMPS)/libcurl-choice
	REQUESTX_LIBCURL=$(ENGINE_LIBCURL) $(PY) setup.py -q build_ext --inplace --force --build-temp build/release
	@$(PY) -c "import requestx; print('requestx engine:', requestx.curl_version())"
	@touch $@

PYTEST := $(PY) -m pytest tests -q -p no:cacheprovider --timeout 300

test: build
	$(PYTEST)

demo: build
	$(PY) scripts/demo.py

# The benchmark's system tools (h2load is in nghttp2-client): the apt rule
# above, run again for this list. The peers are pip-installed by
# benchmarks/peers.py into venvs of their own under benchmarks/.run/.
BENCH_APT_PACKAGES := nginx-light wrk nghttp2-client curl openssl

$(STAMPS)/bench-apt: $(STAMPS)/apt
	@$(MAKE) --no-print-directory -B $(STAMPS)/apt APT_PACKAGES="$(BENCH_APT_PACKAGES)"
	@touch $@

# Every scenario pinned, the main ones also unpinned (bench.py --pins); the
# figures also go into the generated block of docs/performance.md.
bench: build $(STAMPS)/bench-apt
	$(PY) benchmarks/bench.py --docs docs/performance.md

bench-quick: build $(STAMPS)/bench-apt
	$(PY) benchmarks/bench.py --quick

# The suite against an ASan/UBSan build of the engine, then the normal build
# again. Each build has its own object directory and is forced: setuptools
# reuses object files by timestamp alone, whatever flags made them.
asan: $(STAMPS)/venv $(STAMPS)/libcurl
	rm -f requestx/_engine*.so $(STAMPS)/ext
	REQUESTX_LIBCURL=$(ENGINE_LIBCURL) REQUESTX_SANITIZE=1 $(PY) setup.py -q build_ext --inplace --force --build-temp build/asan
	@# the normal build comes back whether the suite passes or not
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	LD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libubsan.so)" \
	  $(PYTEST); status=$$?; \
	rm -f requestx/_engine*.so; \
	REQUESTX_LIBCURL=$(ENGINE_LIBCURL) $(PY) setup.py -q build_ext --inplace --force --build-temp build/release \
	  && touch $(STAMPS)/ext; exit $$status

lint: $(STAMPS)/venv
	$(VENV)/bin/ruff check requestx tests benchmarks scripts
	$(VENV)/bin/ruff format --check requestx tests benchmarks scripts
	$(VENV)/bin/mypy --strict requestx
	clang-format --dry-run --Werror $(C_SOURCES)

format: $(STAMPS)/venv
	$(VENV)/bin/ruff format requestx tests benchmarks scripts
	clang-format -i $(C_SOURCES)

# docs/pictures/layers.svg, drawn from the package's imports (fails on an
# import that runs up a layer); request-latency.svg from a stats=True run
# against the test servers.
pictures: build
	$(PY) scripts/draw_layers.py docs/pictures/layers.svg
	$(PY) scripts/draw_resilience.py docs/pictures
	$(PY) scripts/draw_observability.py docs/pictures

# A manylinux wheel in dist/: the engine built against the bundled libcurl from
# scratch, checked (only PyInit__engine exported, no shared libcurl, OpenSSL or
# nghttp2 needed), then repaired and stripped by auditwheel, which gives the tag.
WHEEL_BUILD := build/wheel
wheel: $(STAMPS)/venv $(STAMPS)/libcurl
	@test "$(LIBCURL)" != system || { echo "make wheel needs the bundled libcurl"; exit 1; }
	$(PY) -m pip install -q -e '.[dist]'
	rm -rf $(WHEEL_BUILD) build/lib.* build/temp.* build/bdist.* dist/requestx-*.whl
	REQUESTX_LIBCURL=bundled $(PY) -m build --wheel --no-isolation --outdir $(WHEEL_BUILD) . >$(WHEEL_BUILD).log 2>&1 || { tail -30 $(WHEEL_BUILD).log; exit 1; }
	cd $(WHEEL_BUILD) && unzip -q -o requestx-*.whl 'requestx/_engine*.so' -d engine
	$(PY) scripts/check_engine.py $(WHEEL_BUILD)/engine/requestx/_engine*.so --expect-libcurl 8. --no-shared-libcurl
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/auditwheel repair --strip -w dist $(WHEEL_BUILD)/requestx-*.whl
	@ls -l dist/requestx-*.whl

# An sdist in dist/ that builds the engine from source (MANIFEST.in).
sdist: $(STAMPS)/venv
	$(PY) -m pip install -q -e '.[dist]'
	rm -f dist/requestx-*.tar.gz
	$(PY) -m build --sdist --no-isolation --outdir dist . >build/sdist.log 2>&1 || { tail -30 build/sdist.log; exit 1; }
	@ls -l dist/requestx-*.tar.gz

# The sdist installed into a fresh venv, its engine built from source against
# the system libcurl (LIBCURL=system still builds), then checked.
SDIST_VENV := build/sdist-venv
sdist-test: sdist
	rm -rf $(SDIST_VENV) && $(PYTHON) -m venv $(SDIST_VENV)
	REQUESTX_LIBCURL=system $(SDIST_VENV)/bin/pip install -q dist/requestx-*.tar.gz
	cd /tmp && $(CURDIR)/$(SDIST_VENV)/bin/python $(CURDIR)/scripts/check_engine.py \
	  $$($(CURDIR)/$(SDIST_VENV)/bin/python -c "import sysconfig; print(sysconfig.get_paths()['platlib'])")/requestx/_engine*.so \
	  --expect-libcurl "$$(curl-config --version | cut -d' ' -f2)"

# The wheel installed into a fresh venv and smoke-tested where no system
# libcurl or libnghttp2 can be loaded: an `unshare -m` mount namespace with
# /dev/null bound over each of those files.
WHEEL_VENV := build/wheel-venv
wheel-test: wheel
	rm -rf $(WHEEL_VENV) && $(PYTHON) -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/pip install -q dist/requestx-*manylinux*.whl trustme 'hypercorn[h3]' brotli zstandard
	SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); $$SUDO unshare -m sh -c '\
	  for f in $$(find /lib /usr/lib /usr/local/lib \( -name "libcurl*.so*" -o -name "libnghttp2.so*" \) -type f 2>/dev/null); do \
	    mount --bind /dev/null "$$f"; done; \
	  cd /tmp && exec $(CURDIR)/$(WHEEL_VENV)/bin/python $(CURDIR)/tests/wheel/smoke.py'

clean:
	rm -rf build dist $(STAMPS) requestx/*.so *.egg-info

# httpx's own test suite with requestx's transports as httpx's default ones,
# against the same tests with httpx's transports (compat/httpx_suite/RESULTS.md).
# Fetches httpx's tests with pip, or from HTTPX_GIT_DIR (a clone of encode/httpx).
.PHONY: compat-httpx
compat-httpx: build
	$(PY) compat/httpx_suite/run.py
