"""--userns values checked as podman 4.3 checks them (its messages, exit 125)."""

from __future__ import annotations

import pytest

from pod.container.namespaces import check_userns
from pod.errors import UsageError


@pytest.mark.parametrize(
    "text", ["host", "keep-id", "nomap", "auto", "auto:size=500", "auto:size=5,uidmapping=0:1:1"]
)
def test_modes_podman_accepts(text):
    assert check_userns(text) == text


def test_empty_is_the_default():
    assert check_userns("") is None and check_userns(None) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bogus", "unrecognized namespace mode bogus passed"),
        ("nomap:size=5", "unrecognized namespace mode nomap:size=5 passed"),
        ("auto:bogus", 'invalid option specified: "bogus"'),
        ("auto:size=abc", 'strconv.ParseUint: parsing "abc": invalid syntax'),
        ("private", 'unsupported --userns "private"'),
    ],
)
def test_bad_values(text, message):
    with pytest.raises(UsageError) as raised:
        check_userns(text)
    assert str(raised.value).startswith(message)
