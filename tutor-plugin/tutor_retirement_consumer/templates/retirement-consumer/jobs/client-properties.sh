{%- set rc = retirement_consumer() -%}
# retirement-consumer: the Kafka client properties of the Java tools (admin of the Kafka the
# plugin runs, or the consumer's credentials for an external one), secrets from the environment.
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
