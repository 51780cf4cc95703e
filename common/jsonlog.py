"""One JSON object per log line, for every process (``settings.LOGGING``), and the ids lines carry.

A line holds ``time`` (UTC, ISO 8601), ``level``, ``process`` (``daphne``, ``worker``, ...: what
runs, ``SMILE_PROCESS`` or the program's name), ``pid``, ``logger``, ``event`` (the message),
the ``request`` or ``socket`` id of the HTTP request or stream socket it happened in, and
``error`` (the exception's type and traceback) when one was logged. Nothing else: the
formatter never copies a record's extra attributes, so an ``extra=`` cannot smuggle a frame or
a token into a line. What goes into messages is the code's own discipline (ids and types,
never a token, an e-mail address, a client address or anything from a frame), which
``tests/common/test_jsonlog.py`` checks on a real stream session's logs.

Our own formatter rather than python-json-logger: twenty lines, no dependency, and a fixed
set of fields instead of a library's defaults that copy every ``extra`` into the line.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import threading
from contextvars import ContextVar
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Final

REQUEST_ID: ContextVar[str | None] = ContextVar("smile_request_id", default=None)
SOCKET_ID: ContextVar[str | None] = ContextVar("smile_socket_id", default=None)
# An id from outside (nginx's $request_id) is used only if it looks like one.
MAX_ID_LENGTH: Final = 64


def new_id() -> str:
    """A fresh random id for a request or socket (it means nothing outside the logs)."""
    return secrets.token_hex(8)


def usable_id(value: str | None) -> str | None:
    """A request id handed in by the proxy, if it is short hex or dashes; None otherwise."""
    if value and len(value) <= MAX_ID_LENGTH and all(char in "0123456789abcdefABCDEF-" for char in value):
        return value
    return None


def process_name() -> str:
    """``SMILE_PROCESS`` (an operator naming the process, e.g. web2), else the program and its sub-command."""
    name = os.environ.get("SMILE_PROCESS", "").strip()
    if name:
        return name
    path = sys.argv[0] if sys.argv and sys.argv[0] else "python"
    program = os.path.basename(path).removesuffix(".py")
    if program == "__main__":  # python -m celery: the package's name
        program = os.path.basename(os.path.dirname(path))
    # celery worker / celery beat, manage.py migrate: the sub-command says which process it is.
    words = [word for word in sys.argv[1:] if not word.startswith("-")]
    if program == "celery":
        return next((word for word in words if word in {"worker", "beat"}), program)
    if program == "manage" and words:
        return f"manage {words[0]}"
    return program or "python"


def event_of(record: logging.LogRecord) -> str:
    """The line's ``event``: the message, except that Django's request log loses the path.

    ``django.request`` names the path of every 4xx and 5xx (``Not Found: /...``), and a path can
    carry anything a client typed; its status says what happened, the request id where.
    """
    status = getattr(record, "status_code", None)
    if record.name == "django.request" and isinstance(status, int):
        try:
            return f"{status} {HTTPStatus(status).phrase}"
        except ValueError:
            return str(status)
    return record.getMessage()


class RequestIds:
    """ASGI middleware: every HTTP request's log lines carry an id, nginx's ``X-Request-ID`` if usable.

    Outermost, so Django's own request log (written after the middleware chain) has it too.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        header = next((value for name, value in scope.get("headers", ()) if name == b"x-request-id"), b"")
        token = REQUEST_ID.set(usable_id(header.decode("latin-1")) or new_id())
        try:
            await self.app(scope, receive, send)
        finally:
            REQUEST_ID.reset(token)


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "process", "pid", "logger", "event", "request"|"socket", "error"}`` on one line."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__()
        self.process_name = process_name()

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "process": self.process_name,
            "pid": record.process,
            "logger": record.name,
            "event": event_of(record),
        }
        request_id, socket_id = REQUEST_ID.get(), SOCKET_ID.get()
        if request_id is not None:
            line["request"] = request_id
        if socket_id is not None:
            line["socket"] = socket_id
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        elif record.stack_info:
            line["error"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


_NATIVE_LEVELS: Final = {"INFO": logging.INFO, "WARNING": logging.WARNING, "ERROR": logging.ERROR}
_native_routed: list[int] = []


def route_native_stderr() -> None:
    """What native libraries write on file descriptor 2 becomes JSON lines too (a worker's LiteRT says
    ``INFO: Created TensorFlow Lite XNNPACK delegate for CPU.`` for each interpreter it makes).

    Descriptor 2 becomes a pipe that a daemon thread reads, logging each line through the
    ``native`` logger at the level its prefix names. Python's own ``sys.stderr`` (tracebacks,
    ``faulthandler``) keeps the real stderr, so a crash's last words are never lost in the pipe.
    Once per process.
    """
    if _native_routed:
        return
    sys.stderr.flush()
    real_stderr = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    sys.stderr = open(real_stderr, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115 (for the process's life)
    _native_routed.append(real_stderr)
    logger = logging.getLogger("native")

    def relay() -> None:
        with open(read_end, "rb") as pipe:
            for raw in pipe:
                line = raw.decode("utf-8", "replace").strip()
                if line:
                    prefix = line.split(":", 1)[0]
                    logger.log(_NATIVE_LEVELS.get(prefix, logging.WARNING), line)

    threading.Thread(target=relay, name="smile-native-stderr", daemon=True).start()
