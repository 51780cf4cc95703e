"""History page speed: a year of one-minute mood events (8 hours a day, ~175,000 rows) in Postgres.

    SMILE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/smile_bench .venv/bin/python bench/history.py

Creates a throw-away user in the database ``SMILE_DATABASE_URL`` names (migrated first), seeds it
with ``bulk_create``, then requests the history page and its JSON endpoint for each range through
Django's test client (the whole server side: middleware, queries, template) and prints the median
and 95th percentile server time and the size of the answer; the day is also measured with one of its
quarter hours of minutes open. Target: every history page <= 150 ms median and <= 200 KB of HTML.
The user is deleted at the end (``--keep`` keeps it for ``--reuse``, which measures without seeding).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from datetime import time as clock_time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smile_site.settings")

RANGES = ("day", "week", "month", "year")
TARGET_MS = 150.0  # every history page, median
TARGET_KB = 200.0  # every history page's HTML


def _urls(client: Any, end: str, ranges: list[str]) -> list[tuple[str, str, str]]:
    """(range, endpoint, url) to measure: each range's page and JSON, and the day with a quarter hour open."""
    urls = []
    for kind in ranges:
        for endpoint in ("/history/", "/history/data.json"):
            urls.append((kind, endpoint, f"{endpoint}?range={kind}&end={end}"))
    day = client.get(f"/history/?range=day&end={end}").content.decode()
    group = re.search(r"minutes=([0-9]+-[0-9]+)", day)
    if group is not None and "day" in ranges:
        urls.insert(2, ("day+minutes", "/history/", f"/history/?range=day&end={end}&minutes={group.group(1)}"))
    return urls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--hours", type=int, default=8, help="observed hours per day")
    parser.add_argument("--repeat", type=int, default=20, help="requests per range and endpoint")
    parser.add_argument("--time-zone", default="Europe/Berlin")
    parser.add_argument("--keep", action="store_true", help="keep the seeded user (reuse it with --reuse)")
    parser.add_argument("--reuse", action="store_true", help="measure the user a --keep run left, without seeding")
    parser.add_argument("--ranges", nargs="+", choices=RANGES, default=list(RANGES), help="the ranges to measure")
    arguments = parser.parse_args()
    if not os.environ.get("SMILE_DATABASE_URL", "").startswith("postgres"):
        print("Set SMILE_DATABASE_URL to a Postgres database (postgres://...).", file=sys.stderr)
        return 2

    import django

    # Its figures only: each measured request would otherwise log a JSON line (SMILE_LOG_LEVEL).
    os.environ.setdefault("SMILE_LOG_LEVEL", "WARNING")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from accounts.models import User
    from moods.history.demo import Session, build_events, bulk_insert

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)
    email = "bench-history@smile.local"
    user = User.objects.filter(email=email).first() if arguments.reuse else None
    if user is None:
        User.objects.filter(email=email).delete()
        user = User.objects.create_user(email=email, password=None, time_zone=arguments.time_zone)
    try:
        today = timezone.now().astimezone(user.zone).date()
        started = time.perf_counter()
        rows = 0
        if not (arguments.reuse and user.mood_events.exists()):
            # 8 hours a day from 09:00, every day, the last one ending before now.
            events = build_events(
                user_id=user.pk,
                device_id=None,
                tz=user.zone,
                first_day=today - timedelta(days=arguments.days),
                days=arguments.days,
                seed=1,
                sessions=[Session(clock_time(9, 0), arguments.hours * 60)],
            )
            rows = bulk_insert(events)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE moods_moodevent")
            cursor.execute("ANALYZE moods_moodquarter")
        print(f"seeded {rows} mood events in {time.perf_counter() - started:.1f} s (user {user.pk})")
        client = Client()
        client.force_login(user)
        end = (today - timedelta(days=1)).isoformat()
        print(f"{'range':<12} {'endpoint':<10} {'median ms':>10} {'p95 ms':>8} {'KB':>8}")
        worst_ms = worst_kb = 0.0
        for kind, endpoint, url in _urls(client, end, arguments.ranges):
            client.get(url)  # warm-up: template and query-plan caches
            times = []
            size = 0
            for _ in range(arguments.repeat):
                began = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - began) * 1000)
                assert response.status_code == 200, response.status_code
                size = len(response.content)
            times.sort()
            median = statistics.median(times)
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            print(f"{kind:<12} {endpoint:<10.10} {median:>10.1f} {p95:>8.1f} {size / 1024:>8.1f}")
            if endpoint == "/history/":
                worst_ms, worst_kb = max(worst_ms, median), max(worst_kb, size / 1024)
        within = worst_ms <= TARGET_MS and worst_kb <= TARGET_KB
        print(
            f"slowest page {worst_ms:.1f} ms median, largest {worst_kb:.1f} KB: "
            f"{'within' if within else 'OVER'} the targets ({TARGET_MS:.0f} ms, {TARGET_KB:.0f} KB)"
        )
    finally:
        if not arguments.keep:
            User.objects.filter(pk=user.pk).delete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
