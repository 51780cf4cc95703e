"""The personal baseline: the calibration that builds it and the adjustment it makes to a frame's scores."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inference.baseline import (
    MAX_BASELINE_FACES,
    MIN_CALIBRATION_FACES,
    NEUTRAL,
    POPULATION_NEUTRAL,
    Baseline,
    CalibrationRefused,
    adjust,
    adjust_reading,
    build_baseline,
    population_reference,
    refresh_baseline,
    unadjust,
)
from inference.emotions import EMOTIONS

SAD = EMOTIONS.index("sad")
HAPPY = EMOTIONS.index("happy")


def reading(**shares: float) -> list[float]:
    """Seven scores summing to 1: the named shares, the rest spread evenly over the other expressions."""
    rest = (1.0 - sum(shares.values())) / (len(EMOTIONS) - len(shares))
    return [shares.get(emotion, rest) for emotion in EMOTIONS]


# Scores as a network gives them: tiny values are 0 (float arithmetic on subnormals is not exact).
scores_strategy = (
    st.lists(st.floats(min_value=0.0, max_value=1.0).map(lambda v: 0.0 if v < 1e-12 else v), min_size=7, max_size=7)
    .filter(lambda row: sum(row) > 1e-6)
    .map(lambda row: [value / sum(row) for value in row])
)

baseline_strategy = st.builds(
    lambda logs, faces: Baseline(log_scores=tuple(logs), faces=faces),
    st.lists(st.floats(min_value=math.log(1e-4), max_value=0.0), min_size=7, max_size=7),
    st.integers(min_value=1, max_value=500),
)


# --- The adjustment ----------------------------------------------------------------------------


@given(scores_strategy)
def test_no_baseline_is_the_identity(scores: list[float]) -> None:
    assert adjust(np.array(scores), None).tolist() == scores
    by_name = dict(zip(EMOTIONS, scores, strict=True))
    assert adjust_reading(by_name, None) == by_name


@given(scores_strategy, baseline_strategy)
def test_adjusted_scores_stay_a_distribution(scores: list[float], baseline: Baseline) -> None:
    adjusted = adjust(np.array(scores), baseline)
    assert adjusted.shape == (7,)
    assert np.all(adjusted >= 0.0)
    assert np.all(adjusted <= 1.0)
    assert adjusted.sum() == pytest.approx(1.0, abs=1e-9)


@given(baseline_strategy)
@settings(max_examples=200)
def test_the_resting_face_itself_reads_neutral(baseline: Baseline) -> None:
    adjusted = adjust(baseline.resting_reading(), baseline)
    assert int(adjusted.argmax()) == NEUTRAL
    # On every expression it over-read, it now reads like the population's ordinary neutral face.
    odds = np.log(adjusted) - np.log(adjusted[NEUTRAL])
    assert np.all(odds <= np.array(POPULATION_NEUTRAL) + 1e-9)


@given(st.lists(scores_strategy, min_size=MIN_CALIBRATION_FACES, max_size=40))
def test_a_calibration_that_is_accepted_reads_neutral_once_adjusted(frames: list[list[float]]) -> None:
    try:
        baseline = build_baseline(frames)
    except CalibrationRefused:
        return
    assert int(adjust(baseline.resting_reading(), baseline).argmax()) == NEUTRAL


@given(scores_strategy, baseline_strategy)
def test_the_adjustment_never_raises_an_expression_against_neutral(scores: list[float], baseline: Baseline) -> None:
    """One-sided: an expression's odds against neutral only ever go down."""
    before = np.array(scores)
    after = adjust(before, baseline)
    both = (before > 0) & (before[NEUTRAL] > 0)
    for index in np.flatnonzero(both):
        assert after[index] / after[NEUTRAL] <= before[index] / before[NEUTRAL] * (1 + 1e-9)


def test_a_sad_resting_face_reads_neutral_while_a_real_frown_still_reads_sad() -> None:
    resting = reading(sad=0.45, neutral=0.45)
    baseline = build_baseline([resting] * 20)
    assert int(np.argmax(resting)) in (SAD, NEUTRAL)
    rest_adjusted = adjust(np.array(resting), baseline)
    assert int(rest_adjusted.argmax()) == NEUTRAL
    assert rest_adjusted[SAD] < 0.2
    frown = np.array(reading(sad=0.9, neutral=0.05))
    frown_adjusted = adjust(frown, baseline)
    assert int(frown_adjusted.argmax()) == SAD
    # Its strength against the resting face is kept: the log-odds move by the same distance.
    moved_before = math.log(frown[SAD] / frown[NEUTRAL]) - math.log(resting[SAD] / resting[NEUTRAL])
    moved_after = math.log(frown_adjusted[SAD] / frown_adjusted[NEUTRAL]) - math.log(
        rest_adjusted[SAD] / rest_adjusted[NEUTRAL]
    )
    assert moved_after == pytest.approx(moved_before)


def test_a_resting_face_more_neutral_than_the_population_changes_nothing() -> None:
    calm = reading(neutral=0.9994)  # 0.0001 each of the others: below every POPULATION_NEUTRAL odds
    baseline = build_baseline([calm] * 12)
    smile = np.array(reading(happy=0.7, neutral=0.2))
    assert adjust(smile, baseline).tolist() == pytest.approx(smile.tolist())


def test_adjust_reading_rounds_like_the_classifier_and_works_by_name() -> None:
    baseline = build_baseline([reading(sad=0.5, neutral=0.4)] * 10)
    adjusted = adjust_reading(dict(zip(EMOTIONS, reading(sad=0.5, neutral=0.4), strict=True)), baseline)
    assert list(adjusted) == list(EMOTIONS)
    assert all(value == round(value, 6) for value in adjusted.values())
    assert max(adjusted, key=lambda emotion: adjusted[emotion]) == "neutral"


def test_adjust_works_on_a_batch() -> None:
    baseline = build_baseline([reading(sad=0.5, neutral=0.4)] * 10)
    batch = np.array([reading(sad=0.5, neutral=0.4), reading(happy=0.8)])
    adjusted = adjust(batch, baseline)
    assert adjusted.shape == (2, 7)
    assert adjusted[1].tolist() == pytest.approx(adjust(batch[1], baseline).tolist())


# --- The calibration -----------------------------------------------------------------------------


def test_too_few_faces_are_refused_with_a_reason() -> None:
    with pytest.raises(CalibrationRefused) as refused:
        build_baseline([reading(neutral=0.8)] * (MIN_CALIBRATION_FACES - 1))
    assert refused.value.code == "too_few_faces"
    assert "face" in str(refused.value)
    assert build_baseline([reading(neutral=0.8)] * 2, min_faces=2).faces == 2


@pytest.mark.parametrize(
    "frame",
    [reading(happy=0.6, neutral=0.3), reading(surprise=0.3, happy=0.3, neutral=0.3), reading(angry=0.9)],
    ids=["smiling", "smiling-and-surprised", "held-frown"],
)
def test_a_face_not_at_rest_is_refused(frame: list[float]) -> None:
    with pytest.raises(CalibrationRefused) as refused:
        build_baseline([frame] * 20)
    assert refused.value.code == "not_at_rest"
    assert "at rest" in str(refused.value)


def test_a_sad_looking_resting_face_is_accepted() -> None:
    baseline = build_baseline([reading(sad=0.6, neutral=0.3)] * 15)
    assert baseline.faces == 15
    assert baseline.log_scores[SAD] == pytest.approx(math.log(0.6))


def test_a_baseline_refuses_bad_numbers() -> None:
    with pytest.raises(ValueError, match="7 log-scores"):
        Baseline(log_scores=(0.0,) * 6, faces=3)
    with pytest.raises(ValueError, match="finite"):
        Baseline(log_scores=(float("nan"),) * 7, faces=3)
    with pytest.raises(ValueError, match="at least one face"):
        Baseline(log_scores=(0.0,) * 7, faces=0)


def test_the_population_reference_is_a_quantile_of_the_neutral_faces_log_odds() -> None:
    faces = np.array([reading(sad=share, neutral=0.7) for share in (0.01, 0.02, 0.05, 0.1, 0.2)])
    reference = population_reference(faces)
    assert reference[NEUTRAL] == 0.0
    assert reference[SAD] == pytest.approx(math.log(0.1 / 0.7), abs=1e-3)  # the upper quartile of five
    assert population_reference(faces, quantile=0.5)[SAD] == pytest.approx(math.log(0.05 / 0.7), abs=1e-3)
    assert reference[HAPPY] < 0
    with pytest.raises(ValueError, match="shape"):
        population_reference(np.zeros((0, 7)))


def test_the_shipped_reference_reads_as_a_neutral_face() -> None:
    reading_of_reference = np.exp(POPULATION_NEUTRAL) / np.exp(POPULATION_NEUTRAL).sum()
    assert int(reading_of_reference.argmax()) == NEUTRAL
    assert all(value < 0 for index, value in enumerate(POPULATION_NEUTRAL) if index != NEUTRAL)


# --- Corrections that refresh the baseline --------------------------------------------------------


@given(scores_strategy.filter(lambda row: min(row) > 1e-6), baseline_strategy)
def test_unadjust_undoes_adjust(scores: list[float], baseline: Baseline) -> None:
    assert unadjust(adjust(np.array(scores), baseline), baseline).tolist() == pytest.approx(scores, rel=1e-6, abs=1e-9)
    assert unadjust(np.array(scores), None).tolist() == scores


def test_a_neutral_window_refreshes_the_baseline_by_its_faces() -> None:
    baseline = build_baseline([reading(sad=0.5, neutral=0.4)] * 30)
    calm = reading(neutral=0.9)
    refreshed = refresh_baseline(baseline, calm, faces=30)
    assert refreshed.faces == 60
    assert refreshed.log_scores[SAD] == pytest.approx((math.log(0.5) + math.log(calm[SAD])) / 2)
    # One window brings at most half the weight; the whole never passes MAX_BASELINE_FACES.
    assert refresh_baseline(build_baseline([calm] * 10), calm, faces=10_000).faces == 10 + MAX_BASELINE_FACES // 2
    assert refresh_baseline(build_baseline([calm] * 900), calm, faces=10_000).faces == MAX_BASELINE_FACES


def test_a_smile_labelled_neutral_does_not_refresh_the_baseline() -> None:
    baseline = build_baseline([reading(sad=0.5, neutral=0.4)] * 30)
    with pytest.raises(CalibrationRefused) as refused:
        refresh_baseline(baseline, reading(happy=0.7, neutral=0.2), faces=30)
    assert refused.value.code == "not_at_rest"
