"""``/ws/stream/``: the stream protocol v1 (``docs/protocol.md``), thin over plain functions.

Authenticate (first message token, or the website's session), then per binary frame ask
``StreamSession`` what to do, hand accepted frames to ``moods.stream.dispatch``, relay results,
feed the window aggregator, store each closed window and, when the rule fires, tell every
live connection of the user. A device in private mode sends no frames (they are refused) but
each closed window's summary, checked and stored by ``moods.stream.summaries``. Every message
it sends or handles is built in ``moods.stream.messages``. Frames are only ever held in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import math
import time
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch
from django.utils import timezone

from inference.emotions import EMOTIONS
from moods.encouragement.services import record_feedback
from moods.models import Encouragement
from moods.personal.services import load_baseline, save_baseline
from moods.stream import dispatch, inbox, messages, metrics, presence, selectors, summaries
from moods.stream.aggregator import WindowAggregator
from moods.stream.auth import authenticate_stream_token, may_still_stream, session_user_id, site_session_key
from moods.stream.calibration import Calibration
from moods.stream.config import stream_config
from moods.stream.device_rate import take_frame_token
from moods.stream.messages import CLOSE_AUTH_TIMEOUT, CLOSE_BAD_TOKEN, CLOSE_REVOKED
from moods.stream.notify import notify_user_streams_now
from moods.stream.session import MAX_SUMMARIES, Accept, Reply, StreamLimits, StreamSession, parse_control
from moods.stream.windows import window_writer

logger = logging.getLogger(__name__)

AUTH_TIMEOUT_SECONDS = 5.0
TICK_SECONDS = 1.0
# On disconnect, wait at most this long for the socket's window writes (they go on after).
WRITES_WAIT_ON_DISCONNECT = 5.0
# Group memberships live in Redis, which keeps nothing across a restart (and channels_redis lets
# them expire after a day): a socket joins its groups again this often, so a revocation or an
# encouragement reaches it again within this long of a Redis restart.
REJOIN_GROUPS_SECONDS = 5.0
# The channel-layer answers to a frame, one per frame (see ``dispatch``).
PER_FRAME_MESSAGES = frozenset({messages.INFERENCE_RESULT, messages.INFERENCE_FAILED})


# Channel-layer sends started from callbacks, kept referenced until they finish.
_background: set[asyncio.Future[None]] = set()


def capture_defaults(user_id: int) -> messages.CaptureDefaults:
    """The user's capture defaults for ``ready`` (the defaults when never saved)."""
    return messages.capture_defaults(selectors.capture_settings(user_id=user_id))


class StreamConsumer(AsyncWebsocketConsumer):
    user_id: int | None = None
    device_id: int | None = None
    # The site's own page: the session it opened with, re-checked like a device (signed out: 4401).
    site_session_key: str | None = None
    # Where this device's frames are read: "private" sockets send summaries, never frames.
    mode: messages.DeviceMode = "server"

    async def connect(self) -> None:
        config = stream_config()
        limits = StreamLimits.from_config(config)
        self.recheck_seconds = config.device_recheck_seconds
        self.recheck: asyncio.Task[None] | None = None
        self.rejoin: asyncio.Task[None] | None = None
        self.session = StreamSession(limits)
        self.aggregator = WindowAggregator(window_seconds=limits.window_seconds)
        self.calibration = Calibration(None)
        self.joined: list[str] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.writes: set[asyncio.Future[messages.Encourage | None]] = set()
        self.cleaned_up = False
        metrics.socket_opened()
        await self.accept()
        user_id = session_user_id(self.scope)
        if user_id is not None:
            self.site_session_key = site_session_key(self.scope)
            await self.start(user_id=user_id, device_id=None)
        else:
            self.tasks.append(asyncio.create_task(self.close_unless_authenticated()))

    async def close_unless_authenticated(self) -> None:
        await asyncio.sleep(AUTH_TIMEOUT_SECONDS)
        if self.user_id is None:
            await self.close(code=CLOSE_AUTH_TIMEOUT)

    async def start(self, *, user_id: int, device_id: int | None, mode: messages.DeviceMode = "server") -> None:
        self.user_id, self.device_id, self.mode = user_id, device_id, mode
        # One group: every event about the user reaches their streams through it (``moods.stream.notify``).
        self.joined = [messages.user_group(user_id)]
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        capture = await database_sync_to_async(capture_defaults)(user_id)
        self.calibration.baseline = await database_sync_to_async(load_baseline)(user_id=user_id)
        await self.send_json(self.session.limits.ready_message(capture, mode=mode, baseline=self.calibration.baseline))
        self.tasks.append(asyncio.create_task(self.close_windows_when_due()))

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Frames and their results skip Channels' per-message sweep of stale database connections.

        Channels runs ``close_old_connections`` on its one database thread before every message:
        two thread hops per frame, queued behind every other socket's queries. The per-frame
        handlers touch no database but through ``database_sync_to_async`` (a calibration's
        baseline), which sweeps before and after each call itself. Every other message is
        dispatched as Channels does it.
        """
        kind = message.get("type")
        if (kind == "websocket.receive" and message.get("bytes") is not None) or kind in PER_FRAME_MESSAGES:
            await getattr(self, messages.handler_name(str(kind)))(message)
        else:
            await super().dispatch(message)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.user_id is None:
            await self.authenticate(text_data)
        elif bytes_data is not None:
            await self.frame(bytes_data)
        else:
            await self.control(text_data)

    async def authenticate(self, text: str | None) -> None:
        message = parse_control(text)
        token = message.get("token") if message is not None and message["type"] == messages.AUTH else None
        if not isinstance(token, str):
            await self.close(code=CLOSE_BAD_TOKEN)
            return
        device, close_code = await database_sync_to_async(authenticate_stream_token)(token)
        if device is None:
            await self.close(code=close_code)
            return
        await self.start(
            user_id=device.user_id, device_id=device.pk, mode="private" if device.mode == "private" else "server"
        )

    async def frame(self, data: bytes) -> None:
        metrics.frame_received()
        if self.mode == "private":  # refused unread: in private mode no frame is read here
            await self.reply(self.session.frame_refused("private_mode"))
            return
        verdict = self.session.frame(len(data))
        if (
            isinstance(verdict, Accept)
            and self.device_id is not None
            and not await take_frame_token(self.device_id, max_fps=self.session.limits.max_fps)
        ):
            verdict = self.session.rate_limited_by_device(verdict.seq)
        if isinstance(verdict, Accept):
            try:
                dispatch.submit(frame=data, reply_channel=self.channel_name, seq=verdict.seq)
            except dispatch.DispatchBusy:
                self.session.answered(verdict.seq)
                await self.send_json(messages.dropped(seq=verdict.seq, reason="busy"))
            return
        await self.reply(verdict)

    async def control(self, text: str | None) -> None:
        message = parse_control(text)
        kind = None if message is None else message["type"]
        if kind == messages.PING:
            await self.send_json(messages.pong())
        elif kind == messages.PAUSE:
            self.session.paused = True
            await self.close_window(flush=True)
            await self.send_json(messages.paused())
        elif kind == messages.RESUME:
            self.session.paused = False
            await self.send_json(messages.resumed())
        elif kind == messages.CALIBRATE_START and self.mode == "private":
            # The computer collects the frames' raw scores and sends them (``calibrate_faces``).
            await self.send_json(messages.calibration_progress(seconds_left=self.calibration.seconds, faces=0))
        elif kind == messages.CALIBRATE_START:
            await self.send_json(self.calibration.start())
        elif message is not None and kind == messages.CALIBRATE_FACES:
            await self.calibrate_faces(message)
        elif kind == messages.CALIBRATE_CANCEL:
            cancelled = self.calibration.cancel()
            if cancelled is not None:
                await self.send_json(cancelled)
        elif message is not None and kind == messages.SUMMARY:
            await self.summary(message)
        elif message is not None and kind == messages.FEEDBACK and await self.feedback(message):
            await self.send_json(messages.feedback_saved(encouragement_id=message["id"]))
        else:
            await self.reply(self.session.error("bad_message", seq=None))

    async def feedback(self, message: dict[str, Any]) -> bool:
        encouragement_id, helpful = message.get("id"), message.get("helpful")
        if type(encouragement_id) is not int or not isinstance(helpful, bool) or self.user_id is None:
            return False
        try:
            await database_sync_to_async(record_feedback)(
                user_id=self.user_id, encouragement_id=encouragement_id, helpful=helpful
            )
        except Encouragement.DoesNotExist:
            return False
        return True

    async def summary(self, message: dict[str, Any]) -> None:
        """Private mode: check a closed window's summary, then store it off the socket's path."""
        key = message.get("key") if isinstance(message.get("key"), str) else None
        if self.mode != "private" or self.user_id is None or self.device_id is None:
            detail = "This device reads frames on the server: switch it to private mode to send summaries."
            await self.reply(self.session.summary_error("not_private_mode", key=key, detail=detail))
            return
        if not self.session.summary_allowed():
            detail = f"At most {MAX_SUMMARIES} summaries a minute; send this one again later."
            await self.reply(self.session.summary_error("summary_rate_limited", key=key, detail=detail))
            return
        limits = self.session.limits
        checked = summaries.check_summary(
            message, window_seconds=limits.window_seconds, max_fps=limits.max_fps, now=timezone.now()
        )
        if isinstance(checked, summaries.Refusal):
            await self.reply(self.session.summary_error(checked.code, key=checked.key, detail=checked.detail))
            return
        user_id, device_id = self.user_id, self.device_id
        stored = window_writer.get().submit_call(
            lambda: summaries.store_summary(user_id=user_id, device_id=device_id, summary=checked, now=timezone.now())
        )
        if stored is None:
            detail = "The server is storing too many windows now; send this one again later."
            await self.reply(self.session.summary_error("unavailable", key=checked.key, detail=detail))
            return
        self.in_background(self.answer_summary(asyncio.wrap_future(stored), key=checked.key))

    async def calibrate_faces(self, message: dict[str, Any]) -> None:
        """Private mode: a calibration read on the computer (its frames' raw scores), judged as the server's."""
        if self.mode != "private" or self.user_id is None:
            detail = "This device reads frames on the server: calibrate by sending frames."
            await self.reply(self.session.summary_error("not_private_mode", key=None, detail=detail))
            return
        if not self.session.summary_allowed():
            detail = f"At most {MAX_SUMMARIES} summaries or calibrations a minute; calibrate again later."
            await self.reply(self.session.summary_error("summary_rate_limited", key=None, detail=detail))
            return
        limits = self.session.limits
        most = math.floor(limits.max_fps * self.calibration.seconds) + max(1, math.ceil(limits.max_fps))
        rows = summaries.check_calibration_faces(message.get("faces"), max_faces=most)
        if isinstance(rows, summaries.Refusal):
            await self.reply(self.session.summary_error(rows.code, key=None, detail=rows.detail))
            return
        self.calibration.start()
        for row in rows:
            self.calibration.observe(dict(zip(EMOTIONS, row, strict=True)))
        self.calibration.started = self.calibration.clock() - self.calibration.seconds  # its time is up
        await self.finish_calibration()

    async def answer_summary(self, stored: asyncio.Future[summaries.Stored | summaries.Refusal], *, key: str) -> None:
        try:
            outcome = await stored
        except Exception as exc:  # the write failed outright: the client keeps the window and resends it
            logger.warning("summary of user %s not stored: %s", self.user_id, type(exc).__name__)
            outcome = summaries.Refusal("unavailable", "The window could not be stored now; send it again later.", key)
        if isinstance(outcome, summaries.Refusal):
            await self.reply(self.session.summary_error(outcome.code, key=outcome.key, detail=outcome.detail))
            return
        # Shown like a window the server closed, then acknowledged: the client drops it from its outbox.
        await self.send_json(messages.mood(outcome.window))
        await self.send_json(messages.summary_saved(key=outcome.key))
        if outcome.encourage is not None and self.user_id is not None:
            metrics.nudge_sent()
            await notify_user_streams_now(self.user_id, messages.mood_encourage(outcome.encourage))

    async def reply(self, reply: Reply) -> None:
        await self.send_json(reply.message)
        if reply.close_code is not None:
            await self.close(code=reply.close_code)

    # --- messages from the channel layer ------------------------------------------------

    # Named after the channel-layer types in ``messages.CHANNEL_TYPES`` (Channels maps
    # ``inference.result`` to ``inference_result``).

    async def inference_result(self, event: messages.InferenceResult) -> None:
        seq, outcome = event["seq"], event["result"]
        latency = self.session.answered(seq)
        if "error" in outcome:
            await self.reply(self.session.error(outcome["error"], seq=seq))
            return
        raw_scores = outcome.get("scores")
        outcome = self.calibration.adjust(outcome)
        self.aggregator.add(outcome.get("scores"))
        latency_ms = latency if latency is not None else event.get("latency_ms", 0.0)
        await self.send_json(messages.result(seq=seq, outcome=outcome, latency_ms=latency_ms))
        progress = self.calibration.observe(raw_scores)
        if progress is not None:
            await self.send_json(progress)
        await self.finish_calibration()

    async def finish_calibration(self) -> None:
        """Store and announce the new baseline, or say why there is none, once a calibration's time is up."""
        finished = self.calibration.finish_if_due()
        if finished is None or self.user_id is None:
            return
        if finished.refusal is not None:
            await self.send_json(finished.refusal)
            return
        if finished.baseline is not None:
            # Saving it tells every stream of the user (the extension and the site at once), this one too.
            row = await database_sync_to_async(save_baseline)(user_id=self.user_id, baseline=finished.baseline)
            await self.send_json(messages.calibrated(faces=row.faces, since=row.created_at))

    async def inference_failed(self, event: messages.InferenceFailed) -> None:
        await self.send_json(self.session.unavailable(event["seq"]))

    # The user events (``messages.USER_EVENTS``), from ``moods.stream.notify``: each concerns
    # every stream of the user, but a revocation only the revoked device's own sockets.

    async def device_revoked(self, event: messages.DeviceRevoked) -> None:
        if self.device_id is not None and event["device_id"] == self.device_id:
            await self.close(code=CLOSE_REVOKED)

    async def mood_encourage(self, event: messages.MoodEncourage) -> None:
        await self.send_json(event["message"])

    async def baseline_changed(self, event: messages.BaselineChanged) -> None:
        if self.user_id is not None:
            self.calibration.baseline = await database_sync_to_async(load_baseline)(user_id=self.user_id)
            if self.mode == "private":  # the computer applies it from its next frame on
                await self.send_json(messages.baseline_news(self.calibration.baseline))

    async def device_mode_changed(self, event: messages.DeviceModeChanged) -> None:
        """Switch without re-pairing: the window read so far closes, then the other side reads."""
        if event["device_id"] != self.device_id or event["mode"] == self.mode:
            return
        await self.close_window(flush=True)
        self.mode = event["mode"]
        await self.send_json(messages.mode_message(mode=self.mode, baseline=self.calibration.baseline))

    async def capture_changed(self, event: messages.CaptureChanged) -> None:
        await self.send_json(messages.capture(event["capture"]))

    # --- windows --------------------------------------------------------------------------

    async def close_windows_when_due(self) -> None:
        next_recheck = time.monotonic() + self.recheck_seconds
        next_rejoin = time.monotonic() + REJOIN_GROUPS_SECONDS
        while True:
            await asyncio.sleep(TICK_SECONDS)
            await self.finish_calibration()
            # Each on a task of its own: a slow database or a Redis being retried holds up nothing
            # else, and a round starts only once the previous one has finished.
            now = time.monotonic()
            if now >= next_rejoin and (self.rejoin is None or self.rejoin.done()):
                next_rejoin = now + REJOIN_GROUPS_SECONDS
                self.rejoin = self.in_background(self.rejoin_groups())
            if now >= next_recheck and (self.recheck is None or self.recheck.done()):
                next_recheck = now + self.recheck_seconds
                self.recheck = self.in_background(self.recheck_device())
            if self.aggregator.due():
                await self.close_window()

    def in_background(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """``work`` on a task the clean-up cancels (finished tasks are forgotten)."""
        task = asyncio.create_task(work)
        self.tasks = [*(running for running in self.tasks if not running.done()), task]
        return task

    async def rejoin_groups(self) -> None:
        """Join the socket's groups again (a no-op unless Redis lost them)."""
        for group in self.joined:
            try:
                await self.channel_layer.group_add(group, self.channel_name)
            except Exception as exc:  # Redis is down: the next round joins again
                logger.warning("could not rejoin group %s: %s", group, type(exc).__name__)
                return

    async def recheck_device(self) -> None:
        """Close 4403 if the device was revoked or the account disabled, 4401 if the page's session signed out."""
        if self.user_id is None:
            return
        try:
            allowed = await database_sync_to_async(may_still_stream)(
                user_id=self.user_id, device_id=self.device_id, session_key=self.site_session_key
            )
        except Exception as exc:  # the database is down: the socket goes on, the next re-check decides
            logger.warning("device re-check of user %s failed: %s", self.user_id, type(exc).__name__)
            return
        if not allowed:
            # A site page's session that ended reads like an unknown token: "log in again".
            await self.close(code=CLOSE_REVOKED if self.device_id is not None else CLOSE_BAD_TOKEN)

    async def close_window(self, *, flush: bool = False, notify: bool = True) -> None:
        window = self.aggregator.flush() if flush else self.aggregator.close()
        if window is None or self.user_id is None:
            return
        window = replace(window, baseline_applied=self.calibration.take_applied())
        if notify:
            await self.send_json(messages.mood(window))
        # Stored on the window writer's own thread: nothing here waits on the database.
        stored = window_writer.get().submit(
            user_id=self.user_id, device_id=self.device_id, window=window, now=timezone.now()
        )
        if stored is not None:
            write = asyncio.wrap_future(stored)
            self.writes.add(write)
            write.add_done_callback(self.window_stored)

    def window_stored(self, write: asyncio.Future[messages.Encourage | None]) -> None:
        self.writes.discard(write)
        if write.cancelled() or write.exception() is not None or self.user_id is None:
            if not write.cancelled() and write.exception() is not None:
                logger.warning("mood window of user %s not stored: %s", self.user_id, type(write.exception()).__name__)
            return
        encourage = write.result()
        if encourage is not None:
            metrics.nudge_sent()
            # Stored on the writer's thread, sent from this loop (the in-memory layer's queues live here).
            send = notify_user_streams_now(self.user_id, messages.mood_encourage(encourage))
            task = asyncio.ensure_future(send)
            _background.add(task)
            task.add_done_callback(_background.discard)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # A handler that raises ends the consumer without ``websocket.disconnect``: clean up
        # anyway, so no window timer outlives it and no dead channel stays in a group.
        try:
            await self.serve(scope, receive, send)
        finally:
            await self.clean_up()

    async def serve(self, scope: Any, receive: Any, send: Any) -> None:
        """Channels' ``AsyncConsumer.__call__`` (4.3), reading a third source: the answers mailbox.

        The answers to this socket's frames arrive in the process's inbox and are put in a
        mailbox of this consumer (``moods.stream.inbox``); it is read here beside the socket and
        the channel, so each answer is handled in this task like any channel message.
        """
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.channel_name = await self.channel_layer.new_channel()
        self.channel_receive = functools.partial(self.channel_layer.receive, self.channel_name)
        self.base_send = send
        answers = inbox.open_mailbox(self.channel_name)
        try:
            await await_many_dispatch([receive, self.channel_receive, answers.get], self.dispatch)
        except StopConsumer:
            pass
        finally:
            inbox.close_mailbox(self.channel_name)

    async def disconnect(self, code: int) -> None:
        metrics.socket_disconnected(code)
        await self.clean_up()

    async def clean_up(self) -> None:
        """Stop the timers, store the open window, leave the groups; once, however the consumer ends."""
        if getattr(self, "cleaned_up", True):  # never connected, or already cleaned up
            return
        self.cleaned_up = True
        metrics.socket_closed()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        try:
            await self.close_window(flush=True, notify=False)
            if self.writes:
                await asyncio.wait(set(self.writes), timeout=WRITES_WAIT_ON_DISCONNECT)
        except Exception as exc:  # the socket is gone; the window is in the pending buffer or lost
            logger.warning("last mood window of user %s not stored: %s", self.user_id, type(exc).__name__)
        if self.user_id is not None:
            # After the last window: the dashboard stops saying "streaming now" at once.
            try:
                await presence.record_closed(user_id=self.user_id, device_id=self.device_id, at=timezone.now())
            except Exception as exc:  # Redis is down: the dashboard goes by the windows alone
                logger.warning("stream close of user %s not recorded: %s", self.user_id, type(exc).__name__)
        for group in self.joined:
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception as exc:  # the layer is down: its group entries expire on their own
                logger.warning("could not leave group %s: %s", group, type(exc).__name__)

    async def send_json(self, message: messages.ServerMessage) -> None:
        metrics.message_sent(message)
        await self.send(text_data=json.dumps(message, separators=(",", ":")))
