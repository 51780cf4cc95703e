"""The site's Content-Security-Policy: the one definition that Django and nginx both send.

Django sends it on its own pages in every mode (django-csp's middleware), so a deployment
behind another proxy keeps it; nginx sends it too (on static files, and in place of Django's
copy on pages), and its template says it word for word: ``header_value()`` is what
``nginx/templates/default.conf.template`` must contain, which ``tests/deploy`` checks.

No inline script or style anywhere (pages keep theirs in ``static/``), so no nonce is needed.
``connect-src 'self'`` covers the site's own ``wss://`` socket (CSP Level 3); no other host.
"""

from __future__ import annotations

from csp.constants import NONE, SELF

DIRECTIVES: dict[str, list[str]] = {
    "default-src": [SELF],
    "script-src": [SELF],
    "style-src": [SELF],
    "img-src": [SELF, "data:"],
    "connect-src": [SELF],
    "frame-ancestors": [NONE],
    "base-uri": [SELF],
    "form-action": [SELF],
}


def header_value() -> str:
    """The policy as one header value, directives in the order above (django-csp's own order varies)."""
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in DIRECTIVES.items())


def parse(header: str) -> dict[str, list[str]]:
    """A policy header as directive -> sources, to compare two policies whatever their order."""
    directives: dict[str, list[str]] = {}
    for directive in header.split(";"):
        if directive.strip():
            name, *sources = directive.split()
            directives[name] = sources
    return directives
