"""The seven FER-2013 expressions, in the one order used everywhere (model outputs, JSON, DB)."""

from typing import Final

EMOTIONS: Final[tuple[str, ...]] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

# Folder and label names seen in the wild, mapped onto ours (matched case-insensitively).
EMOTION_SYNONYMS: Final[dict[str, str]] = {
    "anger": "angry",
    "angry": "angry",
    "disgust": "disgust",
    "disgusted": "disgust",
    "fear": "fear",
    "fearful": "fear",
    "scared": "fear",
    "happy": "happy",
    "happiness": "happy",
    "sad": "sad",
    "sadness": "sad",
    "surprise": "surprise",
    "surprised": "surprise",
    "neutral": "neutral",
}


def emotion_for_name(name: str) -> str | None:
    """Our emotion for a folder or label name, or None when it is not one of the seven."""
    return EMOTION_SYNONYMS.get(name.strip().lower())


# FER-2013 faces are registered 48x48 grayscale crops; our face crops match that.
FACE_SIZE: Final = 48
