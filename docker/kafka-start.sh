#!/bin/bash
# Entrypoint of the `kafka` service of docker-compose.yml (image apache/kafka): one KRaft node
# with SASL_SSL (SCRAM-SHA-512) on both client listeners, INTERNAL kafka:9092 for the compose
# network and EXTERNAL $KAFKA_EXTERNAL_HOST:9094 for shippers outside it; the controller listener
# is bound to the container's loopback. The SCRAM users (admin, shipper, indexer, stream) are
# written when the storage is formatted, on the first start; the StandardAuthorizer then allows
# each only what the ACLs of `logwarden setup` grant (admin is the super user that creates them).
# Exits non-zero, naming the variable, when a password is missing or cannot be written safely.
set -euo pipefail

KAFKA_HOME=${KAFKA_HOME:-/opt/kafka}
CERTS=${CERTS_DIR:-/certs}
DATA=${KAFKA_DATA_DIR:-/var/lib/kafka/data}
CONFIG_DIR=${KAFKA_CONFIG_DIR:-$KAFKA_HOME/config}
EXTERNAL=${KAFKA_EXTERNAL_HOST:-localhost}
USERS=(admin shipper indexer stream)

for user in "${USERS[@]}"; do
    var="KAFKA_${user^^}_PASSWORD"
    value=${!var:-}
    if [[ -z $value ]]; then
        echo "kafka-start: $var is not set" >&2
        exit 1
    fi
    # JAAS quotes the admin password, --add-scram separates entries with , and ]
    if [[ $value == *[\",\]\\]* || $value == *$'\n'* ]]; then
        echo "kafka-start: $var must not hold a quote, comma, ] or backslash" >&2
        exit 1
    fi
done

mkdir -p "$CONFIG_DIR" "$DATA"
umask 077
cat > "$CONFIG_DIR/logwarden-server.properties" <<PROPERTIES
node.id=1
process.roles=broker,controller
controller.quorum.voters=1@localhost:9093
controller.listener.names=CONTROLLER
listeners=INTERNAL://:9092,EXTERNAL://:9094,CONTROLLER://localhost:9093
advertised.listeners=INTERNAL://kafka:9092,EXTERNAL://${EXTERNAL}:9094
listener.security.protocol.map=INTERNAL:SASL_SSL,EXTERNAL:SASL_SSL,CONTROLLER:PLAINTEXT
inter.broker.listener.name=INTERNAL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.internal.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${KAFKA_ADMIN_PASSWORD}";
listener.name.external.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PEM
ssl.keystore.location=${CERTS}/kafka/kafka.keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=${CERTS}/ca/ca.crt
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin;User:ANONYMOUS
allow.everyone.if.no.acl.found=false
auto.create.topics.enable=false
log.dirs=${DATA}
num.partitions=2
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
PROPERTIES

# the admin's client settings, for the healthcheck and for an operator's kafka-*.sh --command-config
cat > "$CONFIG_DIR/admin-client.properties" <<PROPERTIES
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${KAFKA_ADMIN_PASSWORD}";
ssl.truststore.type=PEM
ssl.truststore.location=${CERTS}/ca/ca.crt
PROPERTIES

if [[ ! -f $DATA/meta.properties ]]; then
    scram=()
    for user in "${USERS[@]}"; do
        var="KAFKA_${user^^}_PASSWORD"
        scram+=(--add-scram "SCRAM-SHA-512=[name=${user},password=${!var}]")
    done
    "$KAFKA_HOME"/bin/kafka-storage.sh format --config "$CONFIG_DIR/logwarden-server.properties" \
        --cluster-id "${KAFKA_CLUSTER_ID:-$("$KAFKA_HOME"/bin/kafka-storage.sh random-uuid)}" "${scram[@]}"
fi

exec "$KAFKA_HOME"/bin/kafka-server-start.sh "$CONFIG_DIR/logwarden-server.properties"
