{%- set rc = retirement_consumer() -%}
# retirement-consumer: print the latest receipts of each partition of the receipts topic
# (one JSON line per destination and event: ids, destination, outcome; no personal data).
{%- if rc.receipts_topic %}
servers={{ rc.bootstrap_servers|retirement_consumer_shell }}
{% include "retirement-consumer/jobs/client-properties.sh" %}
bin=/opt/kafka/bin
topic={{ rc.receipts_topic|retirement_consumer_shell }}
count="${RECEIPTS_COUNT:-10}"
"$bin/kafka-get-offsets.sh" --bootstrap-server "$servers" --command-config "$props" --topic "$topic" --time -1 |
while IFS=: read -r _ partition end; do
    start=$((end > count ? end - count : 0))
    [ "$end" -gt "$start" ] || continue
    "$bin/kafka-console-consumer.sh" --bootstrap-server "$servers" --consumer.config "$props" \
        --topic "$topic" --partition "$partition" --offset "$start" --max-messages $((end - start)) \
        --timeout-ms 15000 2>/dev/null
done
rm -f "$props"
{%- else %}
echo "retirement-consumer: receipts are off (RETIREMENT_CONSUMER_RECEIPTS_TOPIC is empty)" >&2
exit 1
{%- endif %}
