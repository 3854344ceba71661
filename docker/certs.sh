#!/bin/sh
# One-shot `certs` service of docker-compose.yml: the stack's own CA and the server certificates
# of Elasticsearch and Kafka, written to $CERTS_DIR (the `certs` volume). The CA is made once and
# kept (clients that trust it keep working); the server certificates are made again on every run,
# so a changed KAFKA_EXTERNAL_HOST reaches the certificate. Exits non-zero on any failure, and the
# services that need the files wait for it to complete successfully.
#
# Keys are PKCS#8 PEM (what Kafka's PEM keystore reads), owned by uid 1000 (the user the
# Elasticsearch and Kafka images run as), group 0, mode 0640; the CA key stays root's (0600).
set -eu

OUT=${CERTS_DIR:-/certs}
DAYS=${CERT_DAYS:-825}
EXTERNAL=${KAFKA_EXTERNAL_HOST:-localhost}
SERVICE_UID=${CERT_OWNER_UID:-1000}

umask 077
mkdir -p "$OUT/ca" "$OUT/elasticsearch" "$OUT/kafka"

if [ ! -s "$OUT/ca/ca.crt" ] || [ ! -s "$OUT/ca/ca.key" ]; then
    openssl req -x509 -newkey rsa:3072 -nodes -sha256 -days "$DAYS" \
        -subj "/CN=logwarden docker-compose CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$OUT/ca/ca.key" -out "$OUT/ca/ca.crt"
fi

# san_entry NAME_OR_ADDRESS: "IP:x" for an IPv4 address, else "DNS:x"
san_entry() {
    case "$1" in
        *[!0-9.]*) printf 'DNS:%s' "$1" ;;
        *) printf 'IP:%s' "$1" ;;
    esac
}

# server NAME SUBJECT_ALT_NAMES: NAME.key, NAME.crt and (for Kafka) NAME.keystore.pem in $OUT/NAME
server() {
    dir="$OUT/$1"
    openssl req -newkey rsa:3072 -nodes -sha256 -subj "/CN=$1" -keyout "$dir/$1.key" -out "$dir/$1.csr"
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' \
        "$2" > "$dir/$1.ext"
    openssl x509 -req -sha256 -days "$DAYS" -in "$dir/$1.csr" -CA "$OUT/ca/ca.crt" -CAkey "$OUT/ca/ca.key" \
        -CAcreateserial -extfile "$dir/$1.ext" -out "$dir/$1.crt"
    cat "$dir/$1.key" "$dir/$1.crt" > "$dir/$1.keystore.pem"
    rm -f "$dir/$1.csr" "$dir/$1.ext"
    openssl verify -CAfile "$OUT/ca/ca.crt" "$dir/$1.crt"
}

server elasticsearch "DNS:elasticsearch,DNS:localhost,IP:127.0.0.1"
server kafka "DNS:kafka,DNS:localhost,IP:127.0.0.1,$(san_entry "$EXTERNAL")"

chmod 0755 "$OUT" "$OUT/ca" "$OUT/elasticsearch" "$OUT/kafka"
chmod 0644 "$OUT/ca/ca.crt" "$OUT/elasticsearch/elasticsearch.crt" "$OUT/kafka/kafka.crt"
chmod 0600 "$OUT/ca/ca.key"
for key in "$OUT/elasticsearch/elasticsearch.key" "$OUT/elasticsearch/elasticsearch.keystore.pem" \
           "$OUT/kafka/kafka.key" "$OUT/kafka/kafka.keystore.pem"; do
    chmod 0640 "$key"
    if [ "$(id -u)" = 0 ]; then
        chown "$SERVICE_UID:0" "$key"
    fi
done
echo "certs: CA and server certificates in $OUT (Kafka's external name: $EXTERNAL)"
