"""Flags real clients pass as podman takes them: --dns none (toolbox)."""

from __future__ import annotations

import pytest

from pod.container.flags import parse_dns
from pod.errors import UsageError


def test_dns_none_alone():
    assert parse_dns(["none"]) == ["none"]
    assert parse_dns(["1.1.1.1", "9.9.9.9"]) == ["1.1.1.1", "9.9.9.9"]


def test_dns_none_with_a_server_is_refused_as_podman():
    with pytest.raises(UsageError, match="none is not allowed to be specified with other DNS"):
        parse_dns(["none", "1.1.1.1"])
