#!/bin/bash
# One-shot `es-passwords` service of docker-compose.yml: sets the password of Kibana's
# `kibana_system` user and creates logwarden's Elasticsearch users, each holding only the role
# `logwarden setup` defines for its component. Fails (non-zero exit, one line naming the cause)
# when a password is not set or when Elasticsearch refuses or cannot be reached, so the services
# that wait for it (service_completed_successfully) never start on a half-made stack.
set -euo pipefail

ES_URL=${ES_URL:-https://elasticsearch:9200}
CA_FILE=${CA_FILE:-/certs/ca/ca.crt}
# user -> the role `logwarden setup` creates for that component (docs/security.md)
declare -A ROLES=(
    [logwarden_indexer]=logwarden_indexer
    [logwarden_detector]=logwarden_detector
    [logwarden_dashboards]=logwarden_dashboards
)
declare -A PASSWORD_VARS=(
    [logwarden_indexer]=ES_INDEXER_PASSWORD
    [logwarden_detector]=ES_DETECTOR_PASSWORD
    [logwarden_dashboards]=ES_DASHBOARDS_PASSWORD
)

need() {
    if [[ -z ${!1:-} ]]; then
        echo "es-passwords: $1 is not set" >&2
        exit 1
    fi
}

need ELASTIC_PASSWORD
need KIBANA_PASSWORD
for user in "${!PASSWORD_VARS[@]}"; do
    need "${PASSWORD_VARS[$user]}"
done

# json_string VALUE: VALUE as a JSON string (backslashes and quotes escaped)
json_string() {
    local s=${1//\\/\\\\}
    s=${s//\"/\\\"}
    printf '"%s"' "$s"
}

# es METHOD PATH BODY: one request as the elastic user; curl -f turns an HTTP error into a failure
es() {
    if ! curl --fail --silent --show-error --cacert "$CA_FILE" -u "elastic:${ELASTIC_PASSWORD}" \
            -H "Content-Type: application/json" -X "$1" "${ES_URL}$2" -d "$3" > /dev/null; then
        echo "es-passwords: $1 $2 failed" >&2
        exit 1
    fi
}

es POST /_security/user/kibana_system/_password "{\"password\":$(json_string "$KIBANA_PASSWORD")}"
for user in "${!ROLES[@]}"; do
    var=${PASSWORD_VARS[$user]}
    es PUT "/_security/user/$user" \
        "{\"password\":$(json_string "${!var}"),\"roles\":[\"${ROLES[$user]}\"],\"full_name\":\"logwarden $user\"}"
done
echo "es-passwords: kibana_system password set; users ${!ROLES[*]} in place"
