{%- set rc = retirement_consumer() -%}
# retirement-consumer: create the retirement topic, its dead-letter topic and the receipts
# topic (runs in the Kafka image; `tutor local do init --limit retirement-consumer`).
{%- if rc.create_topics %}
servers={{ rc.bootstrap_servers|retirement_consumer_shell }}
{% include "retirement-consumer/jobs/client-properties.sh" %}
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
        --config "retention.ms=$3" --config segment.ms=86400000 --config cleanup.policy=delete
    # segment.ms of one day: Kafka deletes whole segments, so retention means what it says
    # (docs/runbook.md#topic-retention); also set on topics created by an earlier version.
    "$bin/kafka-configs.sh" --bootstrap-server "$servers" --command-config "$props" \
        --alter --entity-type topics --entity-name "$1" --add-config "retention.ms=$3,segment.ms=86400000"
}
create {{ rc.full_topic|retirement_consumer_shell }} {{ rc.partitions }} {{ RETIREMENT_CONSUMER_TOPIC_RETENTION_MS }}
create {{ rc.dead_letter_topic|retirement_consumer_shell }} {{ rc.partitions }} {{ RETIREMENT_CONSUMER_DEAD_LETTER_RETENTION_MS }}
{%- if rc.receipts_topic %}
create {{ rc.receipts_topic|retirement_consumer_shell }} {{ rc.partitions }} {{ RETIREMENT_CONSUMER_RECEIPTS_RETENTION_MS }}
{%- endif %}
"$bin/kafka-topics.sh" --bootstrap-server "$servers" --command-config "$props" --describe --topic {{ rc.full_topic|retirement_consumer_shell }}
{%- if rc.kafka_sasl %}

# SCRAM principals (passwords from the job's environment) and what each may do.
scram() {
    "$bin/kafka-configs.sh" --bootstrap-server "$servers" --command-config "$props" --alter \
        --entity-type users --entity-name "$1" --add-config "{{ rc.scram_mechanism }}=[iterations=8192,password=$2]"
}
scram {{ rc.principals.lms }} "$SCRAM_LMS_PASSWORD"
scram {{ rc.principals.consumer }} "$SCRAM_CONSUMER_PASSWORD"
scram {{ rc.principals.reader }} "$SCRAM_READER_PASSWORD"
acl() {
    "$bin/kafka-acls.sh" --bootstrap-server "$servers" --command-config "$props" --add --force "$@" >/dev/null
}
# The LMS and the reader publish retirements (idempotent producers).
for principal in {{ rc.principals.lms }} {{ rc.principals.reader }}; do
    acl --allow-principal "User:$principal" --operation Write --operation Describe --topic {{ rc.full_topic|retirement_consumer_shell }}
    acl --allow-principal "User:$principal" --operation IdempotentWrite --cluster
done
# The consumer reads them in its group, writes the dead-letter and receipts topics (and
# reads them back: dlq list / redrive, replay, receipts).
acl --allow-principal "User:{{ rc.principals.consumer }}" --operation Read --operation Describe --topic {{ rc.full_topic|retirement_consumer_shell }}
acl --allow-principal "User:{{ rc.principals.consumer }}" --operation Read --operation Write --operation Describe --topic {{ rc.dead_letter_topic|retirement_consumer_shell }}
{%- if rc.receipts_topic %}
acl --allow-principal "User:{{ rc.principals.consumer }}" --operation Read --operation Write --operation Describe --topic {{ rc.receipts_topic|retirement_consumer_shell }}
{%- endif %}
acl --allow-principal "User:{{ rc.principals.consumer }}" --operation Read --operation Describe --group {{ rc.consumer_config.kafka.group_id|retirement_consumer_shell }} --resource-pattern-type prefixed
acl --allow-principal "User:{{ rc.principals.consumer }}" --operation IdempotentWrite --cluster
echo "retirement-consumer: SCRAM principals and ACLs in place"
{%- endif %}
rm -f "$props"
{%- else %}
echo "retirement-consumer: topic creation is off (RETIREMENT_CONSUMER_CREATE_TOPICS is false)."
echo "Create {{ rc.full_topic }}, {{ rc.dead_letter_topic }}{% if rc.receipts_topic %} and {{ rc.receipts_topic }}{% endif %} on {{ rc.bootstrap_servers }} yourself."
{%- endif %}
