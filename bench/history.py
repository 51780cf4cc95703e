"""History page speed: a year of one-minute mood events (8 hours a day, ~175,000 rows) in Postgres.

    SMILE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/smile_bench .venv/bin/python bench/history.py

Creates a throw-away user in the database ``SMILE_DATABASE_URL`` names (migrated first), seeds it
with ``bulk_create``, then requests the history page and its JSON endpoint for each range through
Django's test client (the whole server side: middleware, queries, template) and prints the median
and 95th percentile server time. Target: year view <= 150 ms median. The user is deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import time as clock_time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smile_site.settings")

RANGES = ("day", "week", "month", "year")
TARGET_MS = 150.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--hours", type=int, default=8, help="observed hours per day")
    parser.add_argument("--repeat", type=int, default=20, help="requests per range and endpoint")
    parser.add_argument("--time-zone", default="Europe/Berlin")
    parser.add_argument("--keep", action="store_true", help="keep the seeded user (reuse it with --reuse)")
    arguments = parser.parse_args()
    if not os.environ.get("SMILE_DATABASE_URL", "").startswith("postgres"):
        print("Set SMILE_DATABASE_URL to a Postgres database (postgres://...).", file=sys.stderr)
        return 2

    import django

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
    User.objects.filter(email=email).delete()
    user = User.objects.create_user(email=email, password=None, time_zone=arguments.time_zone)
    try:
        today = timezone.now().astimezone(user.zone).date()
        started = time.perf_counter()
        # 8 hours a day from 09:00, every day, the last one ending before now.
        rows = bulk_insert(
            build_events(
                user_id=user.pk,
                device_id=None,
                tz=user.zone,
                first_day=today - timedelta(days=arguments.days),
                days=arguments.days,
                seed=1,
                sessions=[Session(clock_time(9, 0), arguments.hours * 60)],
            )
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE moods_moodevent")
        print(f"seeded {rows} mood events in {time.perf_counter() - started:.1f} s (user {user.pk})")
        client = Client()
        client.force_login(user)
        end = (today - timedelta(days=1)).isoformat()
        print(f"{'range':<6} {'endpoint':<10} {'median ms':>10} {'p95 ms':>8} {'bytes':>8}")
        year_median = 0.0
        for kind in RANGES:
            for endpoint in ("/history/", "/history/data.json"):
                url = f"{endpoint}?range={kind}&end={end}"
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
                print(f"{kind:<6} {endpoint:<10.10} {median:>10.1f} {p95:>8.1f} {size:>8}")
                if kind == "year":
                    year_median = max(year_median, median)
        verdict = "within" if year_median <= TARGET_MS else "OVER"
        print(f"year view: {year_median:.1f} ms median, {verdict} the {TARGET_MS:.0f} ms target")
    finally:
        if not arguments.keep:
            User.objects.filter(pk=user.pk).delete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
