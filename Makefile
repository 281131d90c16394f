# The two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo -n)
APT := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get -y -q

.PHONY: demo test check lint typecheck pytest bench soak schemas clean

# The venv itself, with python3-venv installed first when Debian lacks it.
$(PY):
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3-venv is missing; installing it (Debian/Ubuntu)"; \
	  $(APT) update -qq && $(APT) install python3-venv && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install -q --upgrade pip

# `make demo` needs the gateway and the embedded broker, not the test tools.
$(VENV)/.demo-installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[demo]'
	@touch $@

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -m tests.peers.python_astm install
	@touch $@

# The tests run a real Mosquitto, and the demo test runs the mosquitto_sub line the demo prints;
# install Debian's packages when they are missing.
mosquitto:
	@{ command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ]; } && command -v mosquitto_sub >/dev/null || { \
	  echo "installing the mosquitto and mosquitto-clients Debian packages for the tests"; \
	  $(APT) install mosquitto mosquitto-clients >/dev/null 2>&1 || { \
	    $(APT) update -qq && $(APT) install mosquitto mosquitto-clients; }; }

# The power-cut tests mount a FUSE filesystem: Debian's fuse3 brings libfuse 3 and fusermount3.
fuse:
	@command -v fusermount3 >/dev/null || { \
	  echo "installing the fuse3 Debian package for the power-cut tests"; \
	  $(APT) install fuse3 >/dev/null 2>&1 || { $(APT) update -qq && $(APT) install fuse3; }; }

demo: $(VENV)/.demo-installed
	$(PY) -m tests.hardware_sim.ward $(DEMO_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

pytest: $(VENV)/.installed mosquitto fuse
	$(PY) -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

check: lint typecheck

# A longer soak of the simulated ward under random faults (tests/reliability/test_soak.py), and
# rounds of hostile input on every listener (tests/reliability/test_hostile.py).
soak: $(VENV)/.installed mosquitto
	WARDLINK_SOAK_S=$${WARDLINK_SOAK_S:-600} WARDLINK_HOSTILE_S=$${WARDLINK_HOSTILE_S:-600} \
		$(PY) -m pytest -s --timeout 3600 tests/reliability/test_soak.py tests/reliability/test_hostile.py

bench: $(VENV)/.installed mosquitto
	$(PY) -m bench

schemas: $(VENV)/.installed
	$(PY) -m gateway.schemas

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis demo-data bench-data
