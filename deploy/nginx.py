"""The project's nginx configuration, rendered the way the nginx image renders it.

The image (``docker-compose.yml``) runs envsubst on ``nginx/templates/*.template`` at start,
replacing the ``${NGINX_*}`` variables it is given and leaving nginx's own ``$variables``
alone. ``render`` does the same in Python so the native stack (tests, or anyone without
Docker) runs the very same file, and refuses a template variable it was not given rather
than leaving a ``${...}`` for nginx to choke on.

``native_main_config`` is the ``nginx.conf`` around it for an unprivileged run: every path
nginx writes (pid, logs, temp files) inside one folder, so it needs no /var and no root.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

NGINX_DIR = Path(__file__).resolve().parent.parent / "nginx"
TEMPLATE = NGINX_DIR / "templates" / "default.conf.template"
# envsubst's syntax; the project's templates use the braced form only.
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def template_variables(template: str) -> set[str]:
    """The ``${NAME}`` placeholders a template uses."""
    return set(_PLACEHOLDER.findall(template))


def render(template: str, values: Mapping[str, str]) -> str:
    """Replace every ``${NAME}``; a placeholder without a value is an error, not an empty string."""
    missing = sorted(template_variables(template) - set(values))
    if missing:
        raise KeyError(f"no value for nginx template variable(s): {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def native_main_config(*, prefix: Path, site_config: Path, mime_types: Path = Path("/etc/nginx/mime.types")) -> str:
    """An ``nginx.conf`` for a foreground nginx that keeps everything it writes under ``prefix``."""
    temp = prefix / "temp"
    # nginx as root drops its workers to "nobody", who could not read a private temp folder;
    # only the test harness runs it as root, so the workers stay root there.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}daemon off;
worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} info;
events {{
    worker_connections 1024;
}}
http {{
    include {mime_types};
    default_type application/octet-stream;
    sendfile on;
    keepalive_timeout 65;
    access_log {prefix / "access.log"};
    client_body_temp_path {temp / "client_body"};
    proxy_temp_path {temp / "proxy"};
    fastcgi_temp_path {temp / "fastcgi"};
    uwsgi_temp_path {temp / "uwsgi"};
    scgi_temp_path {temp / "scgi"};
    include {site_config};
}}
"""
