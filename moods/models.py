"""What S.M.I.L.E keeps: mood aggregates per window, encouragement settings, and the encouragement log.

No frame, crop or face box is ever stored: a ``MoodEvent`` holds counts and mean scores only.
Every model points at its user with ``on_delete=CASCADE`` (see ``accounts.services.delete_account``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Final

from django.conf import settings
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from inference.emotions import EMOTIONS
from moods.encouragement.resources import REGION_CHOICES, SupportResource, resources_for


class Emotion(models.TextChoices):
    ANGRY = "angry", "Angry"
    DISGUST = "disgust", "Disgust"
    FEAR = "fear", "Fear"
    HAPPY = "happy", "Happy"
    SAD = "sad", "Sad"
    SURPRISE = "surprise", "Surprise"
    NEUTRAL = "neutral", "Neutral"


# Ranges the validators, the check constraints and the forms all read (one source each).
MIN_THRESHOLD: Final = 0.05
MAX_THRESHOLD: Final = 0.95
MIN_FPS: Final = 0.2
MAX_FPS: Final = 2.0
# (lowest, highest) of the encouragement settings' whole numbers.
SUSTAIN_MINUTES: Final = (1, 240)
COOLDOWN_MINUTES: Final = (5, 1440)
DAILY_CAP: Final = (1, 20)
LOW_MOOD_DAYS: Final = (2, 14)

_unit_interval = [MinValueValidator(0.0), MaxValueValidator(1.0)]


def _scores_in_unit_interval() -> Q:
    condition = Q()
    for emotion in EMOTIONS:
        condition &= Q(**{f"{emotion}__gte": 0.0, f"{emotion}__lte": 1.0})
    return condition


def window_seconds(started_at: datetime, ended_at: datetime) -> float:
    """A window's length in seconds, as stored in ``MoodEvent.seconds``."""
    return round((ended_at - started_at).total_seconds(), 3)


class MoodEvent(models.Model):
    """One closed window of one stream: how many frames, how many with a face, the mean scores."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mood_events")
    # Null for the website's own live page; a revoked-and-deleted device leaves its history to the user.
    device = models.ForeignKey(
        "accounts.Device", on_delete=models.SET_NULL, null=True, blank=True, related_name="mood_events"
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    # ended_at - started_at, kept as a number so history can weight windows by length in SQL
    # the same way on SQLite and Postgres (interval arithmetic differs between them).
    seconds = models.FloatField(default=0.0)
    frames = models.PositiveIntegerField()
    faces = models.PositiveIntegerField()
    # Mean score over the frames with a face, one column per emotion in EMOTIONS order.
    angry = models.FloatField(validators=_unit_interval)
    disgust = models.FloatField(validators=_unit_interval)
    fear = models.FloatField(validators=_unit_interval)
    happy = models.FloatField(validators=_unit_interval)
    sad = models.FloatField(validators=_unit_interval)
    surprise = models.FloatField(validators=_unit_interval)
    neutral = models.FloatField(validators=_unit_interval)
    dominant = models.CharField(max_length=8, choices=Emotion.choices)
    # Whether the user's personal baseline adjusted the window's frames (``inference.baseline``).
    baseline_applied = models.BooleanField(default=False)
    # Too few faces, or too little confidence, to say: shown as "not sure" and never counted for a nudge.
    uncertain = models.BooleanField(default=False)
    # The stream's identity for the window (``ClosedWindow.key``): a write retried after its
    # commit's reply was lost finds the window here instead of storing it twice. Null for windows
    # stored otherwise (demo data) and before this column existed; nulls never collide.
    window_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    class Meta:
        ordering = ("-started_at", "-id")
        indexes: ClassVar = [models.Index(fields=["user", "started_at"], name="moodevent_user_started")]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(faces__lte=models.F("frames")), name="moodevent_faces_lte_frames"),
            models.CheckConstraint(condition=Q(ended_at__gt=models.F("started_at")), name="moodevent_ends_after_start"),
            models.CheckConstraint(condition=_scores_in_unit_interval(), name="moodevent_scores_in_unit_interval"),
        ]

    def __str__(self) -> str:
        return f"{self.dominant} {self.started_at:%Y-%m-%d %H:%M} ({self.faces}/{self.frames})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Keeps ``seconds`` true to the times. Windows reach history through
        # ``moods.history.rollup.insert_event``; bulk callers set ``seconds`` and ``rebuild``.
        self.seconds = window_seconds(self.started_at, self.ended_at)
        super().save(*args, **kwargs)

    @property
    def scores(self) -> dict[str, float]:
        return {emotion: getattr(self, emotion) for emotion in EMOTIONS}


class EncouragementSettings(models.Model):
    """One user's choices for encouragements. Off until the user opts in."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="encouragement_settings"
    )
    enabled = models.BooleanField(default=False)
    sadness_threshold = models.FloatField(
        default=0.5, validators=[MinValueValidator(MIN_THRESHOLD), MaxValueValidator(MAX_THRESHOLD)]
    )
    sustain_minutes = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(SUSTAIN_MINUTES[0]), MaxValueValidator(SUSTAIN_MINUTES[1])]
    )
    cooldown_minutes = models.PositiveSmallIntegerField(
        default=60, validators=[MinValueValidator(COOLDOWN_MINUTES[0]), MaxValueValidator(COOLDOWN_MINUTES[1])]
    )
    # Local times in the user's time zone; a start after the end wraps midnight (22:00-07:00).
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)
    daily_cap = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(DAILY_CAP[0]), MaxValueValidator(DAILY_CAP[1])]
    )
    # The user's own messages, one per line; empty means the built-in ones.
    messages = models.TextField(blank=True, default="", validators=[MaxLengthValidator(4000)])
    support_resources_enabled = models.BooleanField(default=False)
    # Persistent low mood on this many consecutive local days adds support resources.
    low_mood_days = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(LOW_MOOD_DAYS[0]), MaxValueValidator(LOW_MOOD_DAYS[1])]
    )
    resources_region = models.CharField(max_length=2, blank=True, default="", choices=REGION_CHOICES)

    class Meta:
        verbose_name_plural = "encouragement settings"
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(sadness_threshold__gte=MIN_THRESHOLD, sadness_threshold__lte=MAX_THRESHOLD),
                name="encouragementsettings_threshold_range",
            ),
            models.CheckConstraint(
                condition=Q(sustain_minutes__gte=SUSTAIN_MINUTES[0], sustain_minutes__lte=SUSTAIN_MINUTES[1]),
                name="encouragementsettings_sustain_range",
            ),
            models.CheckConstraint(
                condition=Q(cooldown_minutes__gte=COOLDOWN_MINUTES[0], cooldown_minutes__lte=COOLDOWN_MINUTES[1]),
                name="encouragementsettings_cooldown_range",
            ),
            models.CheckConstraint(
                condition=Q(daily_cap__gte=DAILY_CAP[0], daily_cap__lte=DAILY_CAP[1]),
                name="encouragementsettings_daily_cap_range",
            ),
            models.CheckConstraint(
                condition=Q(low_mood_days__gte=LOW_MOOD_DAYS[0], low_mood_days__lte=LOW_MOOD_DAYS[1]),
                name="encouragementsettings_low_mood_days_range",
            ),
        ]

    def __str__(self) -> str:
        return f"encouragement settings of user {self.user_id}"

    @property
    def own_messages(self) -> list[str]:
        return [line.strip() for line in self.messages.splitlines() if line.strip()]


class Encouragement(models.Model):
    """One nudge sent to a user: when, what, why (the numbers that fired), and their feedback."""

    class Feedback(models.TextChoices):
        HELPFUL = "helpful", "Helpful"
        NOT_HELPFUL = "not_helpful", "Not helpful"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="encouragements")
    sent_at = models.DateTimeField(default=timezone.now)
    message = models.TextField()
    # mean_sadness, threshold, minutes, windows, coverage; with resources also low_mood_days and region.
    trigger = models.JSONField(default=dict)
    includes_resources = models.BooleanField(default=False)
    # Empty until the user answers (Django stores "no value" in text columns as "", not NULL).
    feedback = models.CharField(max_length=16, choices=Feedback.choices, blank=True, default="")
    feedback_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-sent_at", "-id")
        indexes: ClassVar = [models.Index(fields=["user", "sent_at"], name="encouragement_user_sent")]

    def __str__(self) -> str:
        return f"encouragement {self.pk} at {self.sent_at:%Y-%m-%d %H:%M}"

    @property
    def region(self) -> str:
        """The region whose support resources were sent (recorded in the trigger), or ""."""
        return str(self.trigger.get("region", ""))

    def resources(self) -> list[SupportResource]:
        """The support resources sent with it."""
        return resources_for(self.region) if self.includes_resources else []


class CaptureSettings(models.Model):
    """How the user's extension captures by default: frames per second and resolution.

    Delivered in the stream's ``ready`` message (``capture``); the server's ``max_fps`` still rules.
    """

    class Resolution(models.TextChoices):
        SMALL = "320x240", "320 x 240 (lighter)"
        LARGE = "640x480", "640 x 480 (sharper)"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="capture_settings")
    fps = models.FloatField(default=1.0, validators=[MinValueValidator(MIN_FPS), MaxValueValidator(MAX_FPS)])
    resolution = models.CharField(max_length=7, choices=Resolution.choices, default=Resolution.SMALL)

    class Meta:
        verbose_name_plural = "capture settings"
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(fps__gte=MIN_FPS, fps__lte=MAX_FPS), name="capturesettings_fps_range"),
            models.CheckConstraint(
                condition=Q(resolution__in=["320x240", "640x480"]), name="capturesettings_resolution_choice"
            ),
        ]

    def __str__(self) -> str:
        return f"capture settings of user {self.user_id}"


class MoodQuarter(models.Model):
    """The sums of one user's windows that start in one UTC quarter hour: what the history pages read.

    A year of one-minute windows is ~175,000 ``MoodEvent`` rows but at most 35,136 quarters, and a
    quarter lies inside one local hour in every time zone (all offsets are whole quarter hours), so
    the history can group quarters by local hour instead of scanning every window. Kept in step by
    ``moods.history.rollup`` (new windows, rebuilds) and ``moods.yourdata.deletion``.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mood_quarters")
    start = models.DateTimeField()
    seconds = models.FloatField(default=0.0)
    # sum(score * seconds) over the quarter's windows, one column per emotion.
    angry = models.FloatField(default=0.0)
    disgust = models.FloatField(default=0.0)
    fear = models.FloatField(default=0.0)
    happy = models.FloatField(default=0.0)
    sad = models.FloatField(default=0.0)
    surprise = models.FloatField(default=0.0)
    neutral = models.FloatField(default=0.0)

    class Meta:
        constraints: ClassVar = [models.UniqueConstraint(fields=["user", "start"], name="moodquarter_user_start")]

    def __str__(self) -> str:
        return f"quarter {self.start:%Y-%m-%d %H:%M} of user {self.user_id}"


class PersonalBaseline(models.Model):
    """A user's resting face, as a handful of numbers: the mean log-score of each expression over a
    calibration's frames with a face (``inference.baseline.Baseline``), how many, and when. Never an image."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="personal_baseline")
    # Seven natural logs of scores (EMOTIONS order), each in [log(SCORE_FLOOR), 0].
    log_scores = models.JSONField()
    faces = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    # Opt-in: the user's "I was neutral" corrections of windows refresh these numbers.
    refresh_from_corrections = models.BooleanField(default=False)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [models.CheckConstraint(condition=Q(faces__gte=1), name="personalbaseline_faces")]

    def __str__(self) -> str:
        return f"baseline of user {self.user_id} from {self.created_at:%Y-%m-%d %H:%M}"


SELF_REPORT_NOTE_MAX: Final = 200


class SelfReport(models.Model):
    """What the user said they felt: a one-tap report, or a correction of a stored window ("that's not right").

    ``felt_at`` is the moment the word speaks of, the one history, agreement, export and deletion file it
    under: a correction's is its window's start (Friday's minute corrected on Sunday belongs to Friday), a
    self-report's is when it was made. ``created_at`` is when the user said it.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="self_reports")
    created_at = models.DateTimeField(default=timezone.now)
    felt_at = models.DateTimeField()
    emotion = models.CharField(max_length=8, choices=Emotion.choices)
    note = models.CharField(max_length=SELF_REPORT_NOTE_MAX, blank=True, default="")
    # Set for a correction: the window the user says was read wrong (deleted with it).
    event = models.ForeignKey(MoodEvent, on_delete=models.CASCADE, null=True, blank=True, related_name="corrections")

    class Meta:
        ordering = ("-felt_at", "-id")
        indexes: ClassVar = [models.Index(fields=["user", "felt_at"], name="selfreport_user_felt")]

    def __str__(self) -> str:
        kind = "correction" if self.event_id else "self-report"
        return f"{kind} {self.emotion} at {self.felt_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.felt_at is None:
            self.felt_at = self.event.started_at if self.event is not None else self.created_at
        super().save(*args, **kwargs)
