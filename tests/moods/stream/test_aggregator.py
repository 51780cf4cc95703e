"""The window aggregator: frame results in, one exact aggregate per window out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inference.emotions import EMOTIONS
from moods.stream.aggregator import ClosedWindow, WindowAggregator
from moods.stream.messages import mood

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def scores(**values: float) -> dict[str, float]:
    """Seven scores: the given ones, zero elsewhere."""
    return {emotion: values.get(emotion, 0.0) for emotion in EMOTIONS}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_it_counts_frames_and_faces_and_averages_over_the_frames_with_a_face() -> None:
    aggregator = WindowAggregator(window_seconds=60)
    aggregator.add(scores(happy=0.75, neutral=0.25), at(0))
    aggregator.add(None, at(1))
    aggregator.add(scores(happy=0.25, sad=0.5, neutral=0.25), at(2))
    aggregator.add(None, at(3))

    window = aggregator.close(at(60))

    assert window == ClosedWindow(
        start=at(0),
        end=at(60),
        frames=4,
        faces=2,
        scores={"angry": 0.0, "disgust": 0.0, "fear": 0.0, "happy": 0.5, "sad": 0.25, "surprise": 0.0, "neutral": 0.25},
        dominant="happy",
    )


def test_the_means_keep_six_decimals_and_the_emotion_order() -> None:
    aggregator = WindowAggregator(window_seconds=60)
    for value in (0.1, 0.2, 0.4):
        aggregator.add(scores(sad=value, neutral=1 - value), at(0))

    window = aggregator.close(at(60))

    assert window is not None
    assert window.scores is not None
    assert list(window.scores) == list(EMOTIONS)
    assert window.scores["sad"] == 0.233333
    assert window.scores["neutral"] == 0.766667
    assert window.dominant == "neutral"


def test_a_tie_goes_to_the_first_emotion_in_order() -> None:
    aggregator = WindowAggregator(window_seconds=60)
    aggregator.add(scores(sad=0.5, happy=0.5), at(0))

    window = aggregator.close(at(60))

    assert window is not None
    assert window.dominant == "happy"


def test_it_is_due_once_the_window_has_lasted_its_length() -> None:
    aggregator = WindowAggregator(window_seconds=60)
    assert not aggregator.due(at(1000)), "no window before the first frame"

    aggregator.add(None, at(10))

    assert not aggregator.due(at(69.999))
    assert aggregator.due(at(70))


def test_closing_starts_the_next_window_at_the_close() -> None:
    aggregator = WindowAggregator(window_seconds=60)
    aggregator.add(scores(happy=1.0), at(0))
    first = aggregator.close(at(60.5))
    aggregator.add(scores(sad=1.0), at(61))

    second = aggregator.close(at(120.5))

    assert first is not None
    assert second is not None
    assert (first.start, first.end) == (at(0), at(60.5))
    assert (second.start, second.end, second.frames, second.dominant) == (at(60.5), at(120.5), 1, "sad")


def test_a_window_without_frames_closes_to_nothing_and_the_next_starts_with_a_frame() -> None:
    aggregator = WindowAggregator(window_seconds=60)
    aggregator.add(None, at(0))
    aggregator.close(at(60))

    assert aggregator.close(at(120)) is None
    assert not aggregator.due(at(500))

    aggregator.add(scores(fear=1.0), at(500))
    window = aggregator.close(at(560))
    assert window is not None
    assert (window.start, window.frames, window.faces) == (at(500), 1, 1)


def test_a_window_of_frames_without_a_face_has_counts_but_no_mood() -> None:
    aggregator = WindowAggregator(window_seconds=60)
    aggregator.add(None, at(0))
    aggregator.add(None, at(1))

    window = aggregator.close(at(60))

    assert window == ClosedWindow(start=at(0), end=at(60), frames=2, faces=0, scores=None, dominant=None)


def test_flush_keeps_a_partial_window_only_if_it_saw_a_face() -> None:
    aggregator = WindowAggregator(window_seconds=60)
    aggregator.add(None, at(0))
    assert aggregator.flush(at(20)) is None

    aggregator.add(scores(surprise=1.0), at(30))
    aggregator.add(None, at(31))
    window = aggregator.flush(at(45))

    assert window is not None
    assert (window.start, window.end, window.frames, window.faces, window.dominant) == (
        at(30),
        at(45),
        2,
        1,
        "surprise",
    )
    assert aggregator.flush(at(50)) is None
    assert not aggregator.due(at(1000))


def test_a_window_closed_at_its_first_frame_still_has_a_duration() -> None:
    aggregator = WindowAggregator(window_seconds=60)
    aggregator.add(scores(happy=1.0), at(0))

    window = aggregator.flush(at(0))

    assert window is not None
    assert window.end > window.start


def test_means_never_leave_the_unit_interval() -> None:
    aggregator = WindowAggregator(window_seconds=60)
    for _ in range(10):
        aggregator.add(scores(happy=1.0), at(0))

    window = aggregator.close(at(60))

    assert window is not None
    assert window.scores is not None
    assert window.scores["happy"] == 1.0


def test_the_clock_is_used_when_no_time_is_given() -> None:
    now = [at(0)]
    aggregator = WindowAggregator(window_seconds=60, clock=lambda: now[0])
    aggregator.add(scores(neutral=1.0))
    now[0] = at(59)
    assert not aggregator.due()
    now[0] = at(60)
    assert aggregator.due()

    window = aggregator.close()

    assert window is not None
    assert (window.start, window.end) == (at(0), at(60))


def test_the_window_length_defaults_to_the_setting(settings) -> None:
    settings.SMILE_WINDOW_SECONDS = 30
    assert WindowAggregator().length == timedelta(seconds=30)
    settings.SMILE_WINDOW_SECONDS = 45  # read again after each change
    assert WindowAggregator().length == timedelta(seconds=45)


def test_the_mood_message_follows_the_stream_protocol() -> None:
    aggregator = WindowAggregator(window_seconds=60)
    aggregator.add(scores(happy=1.0), at(0))
    window = aggregator.close(at(60))
    assert window is not None

    assert mood(window) == {
        "type": "mood",
        "start": "2026-05-04T09:00:00+00:00",
        "end": "2026-05-04T09:01:00+00:00",
        "frames": 1,
        "faces": 1,
        "scores": scores(happy=1.0),
        "dominant": "happy",
        "uncertain": True,  # one face is too few to say
        "baseline": False,
    }


@pytest.mark.parametrize("missing", ["sad", "neutral"])
def test_it_refuses_scores_without_all_seven_emotions(missing: str) -> None:
    aggregator = WindowAggregator(window_seconds=60)
    partial = {emotion: 0.1 for emotion in EMOTIONS if emotion != missing}
    with pytest.raises(KeyError):
        aggregator.add(partial, at(0))
    assert (aggregator.start, aggregator.frames, aggregator.faces) == (None, 0, 0)


def test_a_window_with_few_faces_or_no_clear_expression_is_uncertain() -> None:
    from moods.stream.aggregator import MIN_CERTAIN_FACES, is_uncertain

    clear = {**dict.fromkeys(EMOTIONS, 0.05), "sad": 0.7}
    mixed = dict.fromkeys(EMOTIONS, round(1 / 7, 6))
    assert is_uncertain(faces=MIN_CERTAIN_FACES - 1, scores=clear)
    assert not is_uncertain(faces=MIN_CERTAIN_FACES, scores=clear)
    assert is_uncertain(faces=50, scores=mixed)
    assert is_uncertain(faces=0, scores=None)
