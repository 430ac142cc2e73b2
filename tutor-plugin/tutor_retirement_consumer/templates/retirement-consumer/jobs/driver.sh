{%- set rc = retirement_consumer() -%}
# retirement-consumer: the retirement driver. edx-platform's own scripts/user_retirement
# (in the openedx image, their requirements in /openedx/venv/retirement-driver since the image
# build): get_learners_to_retire.py lists the learners past the cool-off, then
# retire_one_learner.py takes each through the pipeline below. The OAuth2 client credentials
# come from the environment (RETIREMENT_DRIVER_CLIENT_ID / _SECRET), never from this script.
scripts="${RETIREMENT_DRIVER_SCRIPTS:-/openedx/edx-platform/scripts/user_retirement}"
python="${RETIREMENT_DRIVER_PYTHON:-/openedx/venv/retirement-driver/bin/python}"
umask 077
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/config.yml" <<'RETIREMENT_DRIVER_CONFIG'
{{ rc.driver_config_yaml }}
RETIREMENT_DRIVER_CONFIG
"$python" -c 'import json, os
for key in ("client_id", "client_secret"):
    print(key + ": " + json.dumps(os.environ["RETIREMENT_DRIVER_" + key.upper()]))' >> "$work/config.yml"

"$python" "$scripts/get_learners_to_retire.py" --config_file "$work/config.yml" --output_dir "$work/learners" \
    --cool_off_days {{ rc.cool_off_days }} \
    --user_count_error_threshold {{ rc.driver_user_count_error_threshold }} \
    --max_user_batch_size {{ rc.driver_max_user_batch_size }}

failed=0
total=0
for file in "$work"/learners/learner_retire_*; do
    [ -e "$file" ] || continue
    total=$((total + 1))
    username="$(sed -n 's/^RETIREMENT_USERNAME=//p' "$file")"
    if ! "$python" "$scripts/retire_one_learner.py" --config_file "$work/config.yml" --username "$username"; then
        failed=$((failed + 1))
    fi
done
echo "retirement driver: $total learner(s), $failed failed"
[ "$failed" -eq 0 ]
