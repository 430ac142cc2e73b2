{%- set rc = retirement_consumer() -%}
# retirement-consumer: create the retirement topic, its dead-letter topic and the receipts
# topic (runs in the Kafka image; `tutor local do init --limit retirement-consumer`).
{%- if rc.create_topics %}
servers={{ rc.bootstrap_servers|retirement_consumer_shell }}
props=/tmp/retirement-consumer-client.properties
: > "$props"
{%- if rc.client_properties.get("security.protocol") %}
echo "security.protocol={{ rc.client_properties["security.protocol"] }}" >> "$props"
{%- endif %}
{%- if rc.client_properties.get("sasl.mechanism") %}
echo "sasl.mechanism={{ rc.client_properties["sasl.mechanism"] }}" >> "$props"
{%- if rc.client_properties["sasl.mechanism"].startswith("SCRAM") %}
module=org.apache.kafka.common.security.scram.ScramLoginModule
{%- else %}
module=org.apache.kafka.common.security.plain.PlainLoginModule
{%- endif %}
escape() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'; }
printf 'sasl.jaas.config=%s required username="%s" password="%s";\n' \
    "$module" "$(escape "${KAFKA_SASL_USERNAME:-}")" "$(escape "${KAFKA_SASL_PASSWORD:-}")" >> "$props"
{%- endif %}
{%- if rc.client_properties.get("ssl.ca.pem") %}
echo "ssl.truststore.type=PEM" >> "$props"
printf '%s\n' "$KAFKA_SSL_CA_PEM" | awk 'BEGIN { printf "ssl.truststore.certificates=" } { printf "%s\\\n", $0 } END { print "" }' >> "$props"
{%- endif %}
bin=/opt/kafka/bin

echo "Waiting for Kafka at $servers"
attempt=0
until "$bin/kafka-broker-api-versions.sh" --bootstrap-server "$servers" --command-config "$props" >/dev/null 2>&1; do
    attempt=$((attempt + 1))
    if [ "$attempt" -ge 60 ]; then
        echo "Kafka at $servers did not answer in 120s" >&2
        exit 1
    fi
    sleep 2
done

# create TOPIC PARTITIONS RETENTION_MS: create when missing, then set the retention (the
# events carry personal data: keep them no longer than needed).
create() {
    "$bin/kafka-topics.sh" --bootstrap-server "$servers" --command-config "$props" \
        --create --if-not-exists --topic "$1" --partitions "$2" \
        --replication-factor {{ RETIREMENT_CONSUMER_KAFKA_REPLICATION_FACTOR }} \
        --config "retention.ms=$3" --config cleanup.policy=delete
    "$bin/kafka-configs.sh" --bootstrap-server "$servers" --command-config "$props" \
        --alter --entity-type topics --entity-name "$1" --add-config "retention.ms=$3"
}
create {{ rc.full_topic|retirement_consumer_shell }} {{ rc.partitions }} {{ RETIREMENT_CONSUMER_TOPIC_RETENTION_MS }}
create {{ rc.dead_letter_topic|retirement_consumer_shell }} {{ rc.partitions }} {{ RETIREMENT_CONSUMER_DEAD_LETTER_RETENTION_MS }}
{%- if rc.receipts_topic %}
create {{ rc.receipts_topic|retirement_consumer_shell }} {{ rc.partitions }} {{ RETIREMENT_CONSUMER_RECEIPTS_RETENTION_MS }}
{%- endif %}
"$bin/kafka-topics.sh" --bootstrap-server "$servers" --command-config "$props" --describe --topic {{ rc.full_topic|retirement_consumer_shell }}
rm -f "$props"
{%- else %}
echo "retirement-consumer: topic creation is off (RETIREMENT_CONSUMER_CREATE_TOPICS is false)."
echo "Create {{ rc.full_topic }}, {{ rc.dead_letter_topic }}{% if rc.receipts_topic %} and {{ rc.receipts_topic }}{% endif %} on {{ rc.bootstrap_servers }} yourself."
{%- endif %}
