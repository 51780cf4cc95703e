"""Support resources offered with an encouragement after several low-mood days (opt-in).

Data, not advice: a few well-known, free, confidential helplines by region, and an
international directory for everyone else. Regions use ISO 3166-1 alpha-2 codes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Final


@dataclass(frozen=True)
class SupportResource:
    name: str
    contact: str
    url: str

    def as_message(self) -> dict[str, str]:
        return asdict(self)


INTERNATIONAL: Final[tuple[SupportResource, ...]] = (
    SupportResource(
        name="Find A Helpline",
        contact="Free, confidential helplines in more than 130 countries",
        url="https://findahelpline.com",
    ),
)

BY_REGION: Final[dict[str, tuple[SupportResource, ...]]] = {
    "US": (
        SupportResource(
            name="988 Suicide & Crisis Lifeline", contact="Call or text 988", url="https://988lifeline.org"
        ),
    ),
    "GB": (SupportResource(name="Samaritans", contact="Call 116 123", url="https://www.samaritans.org"),),
    "FR": (
        SupportResource(
            name="3114, numéro national de prévention du suicide", contact="Appelez le 3114", url="https://3114.fr"
        ),
    ),
    "DE": (
        SupportResource(name="TelefonSeelsorge", contact="Anruf 0800 111 0 111", url="https://www.telefonseelsorge.de"),
    ),
}

# The choices offered in the settings page; "" means the international directory only.
REGION_CHOICES: Final[tuple[tuple[str, str], ...]] = (
    ("", "International"),
    ("DE", "Germany"),
    ("FR", "France"),
    ("GB", "United Kingdom"),
    ("US", "United States"),
)


def resources_for(region: str) -> list[SupportResource]:
    """The region's own resources first, then the international directory."""
    code = region.strip().upper()
    if code == "UK":
        code = "GB"
    return [*BY_REGION.get(code, ()), *INTERNATIONAL]
