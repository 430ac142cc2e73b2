{%- set rc = retirement_consumer() -%}
# retirement-consumer: LMS side (runs in the lms job container at init).
{%- if RETIREMENT_CONSUMER_MANAGE_RETIREMENT_STATES and RETIREMENT_CONSUMER_POPULATE_RETIREMENT_STATES %}
# Load RETIREMENT_STATES (with RETIRING_LMS_MISC / LMS_MISC_COMPLETE) into the database. The
# command refuses while learners are in non-required states: then run it again between
# driver runs with `tutor local do init --limit retirement-consumer`.
if ! ./manage.py lms populate_retirement_states; then
    echo "WARNING: populate_retirement_states refused (learners mid-retirement?); run it again later" >&2
fi
{%- endif %}
{%- if RETIREMENT_CONSUMER_CREATE_OAUTH2_CLIENT and not rc.oauth_client_from_retirement_plugin %}
# The retirement service worker and its OAuth2 client (client credentials), used by the
# backfill and the out-of-band reader. With hastexo's retirement plugin, its client is used.
./manage.py lms manage_user retirement_service_worker retirement_service_worker@openedx --staff --unusable-password
./manage.py lms create_dot_application \
    --client-id {{ RETIREMENT_CONSUMER_OAUTH2_CLIENT_ID|retirement_consumer_shell }} \
    --client-secret {{ RETIREMENT_CONSUMER_OAUTH2_CLIENT_SECRET|retirement_consumer_shell }} \
    --update \
    retirement-consumer \
    retirement_service_worker
{%- endif %}
echo "retirement-consumer: LMS init done"
