# Two commands on a fresh machine (Python 3.11+, Java 17+, Maven):
#   make demo   - install, start Kafka + Elasticsearch on loopback, replay the incident, print its alerts
#   make test   - install, start the servers, run the whole test suite (unit, golden, real-server)
#   make test-fast - no servers: ruff, mypy, `rules check` and the tests not marked `servers` or `oracle`
#   make test-confluent - the producing and consuming real-server tests again with kafka_client=confluent (part of `make test`)
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

# The shipper (evtx, syslog spool), ship kafka, indexer and stream server tests with the optional confluent-kafka
# producer and consumer (logwarden/kafka_clients/): crash/restart, SIGTERM, poison messages, stream members
# killed and rebalanced; minutes, not a second full run. Of tests/kafka_clients only the two that check the selected
# client is the one used: the others name both clients themselves and ran in the full run. Not here: the broker-outage
# tests through a SOCKS proxy (a kafka-python option librdkafka lacks), and the all-samples end-to-end run (the same
# shipper and indexer code as the pipeline tests kept here, over 34,000 events; ~8 min on the shared box).
CONFLUENT_TESTS := tests/kafka_clients/test_clients_servers.py::test_the_client_the_settings_select_is_the_one_used \
	tests/kafka_clients/test_consumers_servers.py::test_make_consumer_uses_the_client_the_settings_select \
	tests/pipeline tests/ship_kafka tests/services/test_syslog_spool_servers.py \
	tests/services/test_shutdown_servers.py tests/services/test_stream_restart_servers.py \
	tests/services/test_poison_servers.py tests/scaling/test_stream_members_servers.py \
	tests/scaling/test_stream_reorder_servers.py \
	tests/services/test_outage_servers.py::test_index_waits_for_a_broker_that_is_down_at_start
CONFLUENT_SKIP := --deselect tests/pipeline/test_end_to_end_servers.py::test_every_shared_evtx_file_end_to_end
test-confluent: install
	$(BIN)/logwarden lab up
	LOGWARDEN_KAFKA_CLIENT=confluent $(BIN)/pytest -q -p no:cacheprovider --timeout 900 -m servers $(CONFLUENT_SKIP) $(CONFLUENT_TESTS)

lab-down:
	$(BIN)/logwarden lab down
