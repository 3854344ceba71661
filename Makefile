# Two commands on a fresh machine (Python 3.11+, Java 17+, Maven):
#   make demo   - install, start Kafka + Elasticsearch on loopback, replay the incident, print its alerts
#   make test   - install, start the servers, run the whole test suite (unit, golden, real-server)
#   make test-fast - no servers: ruff, mypy, `rules check` and the tests not marked `servers` or `oracle`
#   make test-confluent - the producing real-server tests again with kafka_client=confluent (part of `make test`)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-fast test-confluent install lint lab-down

$(BIN)/logwarden: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev,fast]"
	touch $@

install: $(BIN)/logwarden

demo: install
	$(BIN)/logwarden lab demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/logwarden rules check

test-fast: install lint
	$(BIN)/pytest -q -p no:cacheprovider -m "not servers and not oracle"

test: install lint
	$(BIN)/logwarden lab up
	$(BIN)/pytest -q -p no:cacheprovider --timeout 900
	$(MAKE) test-confluent

# The shipper (evtx, syslog spool), ship kafka and indexer server tests with the optional confluent-kafka producer
# (logwarden/kafka_clients/): minutes, not a second full run. tests/kafka_clients checks the
# selected client is the one used.
CONFLUENT_TESTS := tests/kafka_clients tests/pipeline tests/ship_kafka tests/services/test_syslog_spool_servers.py
test-confluent: install
	$(BIN)/logwarden lab up
	LOGWARDEN_KAFKA_CLIENT=confluent $(BIN)/pytest -q -p no:cacheprovider --timeout 900 -m servers $(CONFLUENT_TESTS)

lab-down:
	$(BIN)/logwarden lab down
