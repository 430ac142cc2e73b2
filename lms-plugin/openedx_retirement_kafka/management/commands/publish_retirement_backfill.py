"""
./manage.py lms publish_retirement_backfill --since 24h [--until TIME] [--states A,B] [--dry-run]

Publishes the retirement events of learners found through the LMS retirement API, with the
same ce_id the receiver uses. Safe to repeat: the consumer is idempotent on ce_id.
Output names user ids, retirement ids and ce_ids only.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from ...backfill import BackfillError, LmsRetirementApi, collect_records, parse_time
from ...conf import get_config
from ...events import EventBuildError, build_event
from ...producer import RetirementPublishError, publish


class Command(BaseCommand):
    help = (
        "Publish retirement events for learners found via the LMS retirement API "
        "(retirements_by_status_and_date), e.g. those retired while the plugin was off."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since",
            required=True,
            help="start of the request-date window: RFC 3339 time or duration back from now (24h, 7d)",
        )
        parser.add_argument("--until", default=None, help="end of the window (exclusive); default now")
        parser.add_argument(
            "--states",
            action="append",
            default=None,
            help="retirement states to read (comma-separated or repeated); "
            "default RETIREMENT_KAFKA['BACKFILL_STATES']",
        )
        parser.add_argument(
            "--lms-url",
            default=None,
            help="LMS base URL; default RETIREMENT_KAFKA['BACKFILL_LMS_BASE_URL'] or LMS_ROOT_URL",
        )
        parser.add_argument("--batch-size", type=int, default=100, help="events confirmed per batch")
        parser.add_argument(
            "--dry-run", action="store_true", help="list what would be published; publish nothing"
        )

    def handle(self, *args, **options):
        config = get_config()
        if not config.enabled:
            raise CommandError("RETIREMENT_KAFKA['ENABLED'] is False: nothing to publish to")
        now = datetime.now(UTC)
        try:
            since = parse_time(options["since"], now)
            until = parse_time(options["until"], now) if options["until"] else now
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if since >= until:
            raise CommandError("--since must be before --until")
        states = []
        for item in options["states"] or [",".join(config.backfill_states)]:
            states.extend(s.strip().upper() for s in item.split(",") if s.strip())
        if not states:
            raise CommandError("no states given")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")

        try:
            api = LmsRetirementApi(
                options["lms_url"] or config.backfill_lms_base_url,
                config.backfill_client_id,
                config.backfill_client_secret,
                timeout=config.backfill_http_timeout_seconds,
                max_attempts=config.backfill_max_attempts,
                initial_backoff=config.backfill_initial_backoff_seconds,
            )
            records = collect_records(api, states, since, until)
        except BackfillError as exc:
            raise CommandError(str(exc)) from None

        self.stdout.write(
            f"{len(records)} retirement(s) requested between {since.isoformat()} and {until.isoformat()} "
            f"in states {','.join(states)}"
        )
        events, skipped = [], 0
        for record in records:
            try:
                events.append(build_event(record, lms_host=config.lms_host, keyring=config.keyring))
            except EventBuildError as exc:
                skipped += 1
                self.stderr.write(f"skipped: {exc}")
        if options["dry_run"]:
            for event in events:
                self.stdout.write(
                    f"would publish user_id={event.user_id} retirement_id={event.retirement_id} "
                    f"ce_id={event.ce_id}"
                )
            self.stdout.write(f"dry run: {len(events)} event(s) not published, {skipped} skipped")
            return

        published = 0
        size = options["batch_size"]
        for start in range(0, len(events), size):
            batch = events[start : start + size]
            try:
                publish(config, batch)
            except RetirementPublishError as exc:
                raise CommandError(f"{published} event(s) published before the failure; {exc}") from None
            published += len(batch)
            for event in batch:
                self.stdout.write(
                    f"published user_id={event.user_id} retirement_id={event.retirement_id} "
                    f"ce_id={event.ce_id}"
                )
        self.stdout.write(f"published {published} event(s) to {config.topic}, {skipped} skipped")
        if skipped:
            raise CommandError(f"{skipped} retirement(s) could not be turned into events")
