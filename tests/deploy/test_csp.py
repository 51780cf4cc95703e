"""The Content-Security-Policy lets pages connect only to the site itself (issue 14).

``ws:``/``wss:`` as bare schemes allowed a script injected into a page to stream to any host.
CSP Level 3's ``'self'`` already covers the site's own ``wss://`` origin (the live page's socket).
"""

from __future__ import annotations

import re

from deploy import nginx
from smile_site import content_security


def csp_directives() -> dict[str, list[str]]:
    [policy] = re.findall(r'add_header Content-Security-Policy "([^"]+)" always;', nginx.TEMPLATE.read_text())
    directives: dict[str, list[str]] = {}
    for directive in policy.split(";"):
        name, *sources = directive.split()
        directives[name] = sources
    return directives


def test_connect_src_is_the_sites_own_origin_only() -> None:
    assert csp_directives()["connect-src"] == ["'self'"]


def test_no_directive_allows_a_bare_scheme() -> None:
    for name, sources in csp_directives().items():
        assert not [
            source for source in sources if re.fullmatch(r"[a-z][a-z0-9+.-]*:", source) and source != "data:"
        ], name


def test_nginx_sends_word_for_word_the_policy_django_sends() -> None:
    # One definition (smile_site/content_security.py); the template is its checked copy, so the
    # two cannot drift (issue 27).
    [policy] = re.findall(r'add_header Content-Security-Policy "([^"]+)" always;', nginx.TEMPLATE.read_text())
    assert policy == content_security.header_value()
    assert content_security.parse(policy) == content_security.DIRECTIVES
