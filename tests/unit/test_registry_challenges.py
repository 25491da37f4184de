"""WWW-Authenticate challenges (RFC 7235) and token scopes: pure parsing, no registry."""

from __future__ import annotations

from pod.image.registry import parse_challenges, scope_params


def test_challenge_parsing() -> None:
    header = (
        'Bearer realm="https://auth.example.com/token",service="registry.example.com",'
        'scope="repository:a/b:pull,push", Basic realm="x\\"y"'
    )
    bearer, basic = parse_challenges(header)
    assert bearer.scheme == "bearer" and basic.scheme == "basic"
    assert bearer.params == {
        "realm": "https://auth.example.com/token",
        "service": "registry.example.com",
        "scope": "repository:a/b:pull,push",
    }
    assert basic.params == {"realm": 'x"y'}
    items = frozenset({"repository:a:push", "repository:a:pull", "repository:b:pull"})
    assert scope_params(items) == ["repository:a:pull,push", "repository:b:pull"]


def test_challenges_after_separators_and_bare_schemes() -> None:
    """The parser resumes after commas and spaces at any position (a token matched mid-header)."""
    first, second = parse_challenges(' ,Basic realm="a" ,  Bearer')
    assert (first.scheme, first.params, second.scheme, second.params) == (
        "basic",
        {"realm": "a"},
        "bearer",
        {},
    )
