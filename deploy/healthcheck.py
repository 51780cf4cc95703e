"""A container health check: ``python -m deploy.healthcheck http://127.0.0.1:8000/healthz``.

Exit status 0 when the URL answers 200, 1 otherwise (what Docker's HEALTHCHECK expects). The
request names the first of ``SMILE_ALLOWED_HOSTS`` as its Host, because production Django
refuses any other host, including the container's own address.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence

TIMEOUT_SECONDS = 5.0


def probe_host(allowed_hosts: str) -> str:
    """The Host header to send: the first allowed host that is a plain name (not ``.domain`` or ``*``)."""
    for host in (item.strip() for item in allowed_hosts.split(",")):
        if host and not host.startswith(".") and host != "*":
            return host
    return "localhost"


def healthy(url: str, host: str, timeout: float = TIMEOUT_SECONDS) -> bool:
    request = urllib.request.Request(url, headers={"Host": host})  # noqa: S310 - a fixed http:// URL from the compose file
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or not args[0].startswith("http://"):
        print("usage: python -m deploy.healthcheck http://HOST:PORT/healthz", file=sys.stderr)
        return 2
    return 0 if healthy(args[0], probe_host(os.environ.get("SMILE_ALLOWED_HOSTS", ""))) else 1


if __name__ == "__main__":
    sys.exit(main())
