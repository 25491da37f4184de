"""Sizes and ages as podman prints them."""

import pytest

from pod.util.humanize import human_duration, human_size, parse_timestamp, rfc3339


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (4493000, "4.49 MB"),
        (1_500_000_000, "1.5 GB"),
        (12345, "12.3 kB"),
    ],
)
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text


def test_human_size_df_precision() -> None:
    assert human_size(4493000, 4, "") == "4.493MB"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.5, "Less than a second"),
        (1, "1 second"),
        (30, "30 seconds"),
        (61, "About a minute"),
        (600, "10 minutes"),
        (3600, "About an hour"),
        (7 * 3600, "7 hours"),
        (3 * 86400, "3 days"),
        (20 * 86400, "2 weeks"),
        (90 * 86400, "3 months"),
        (800 * 86400, "2 years"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_parse_timestamp_with_nanoseconds_and_zones() -> None:
    assert parse_timestamp("1970-01-01T00:00:10Z") == 10
    assert parse_timestamp("1970-01-01T00:00:10.500000000Z") == pytest.approx(10.5)
    assert parse_timestamp("1970-01-01T01:00:10+01:00") == 10
    assert parse_timestamp("") == 0
    assert parse_timestamp("garbage") == 0
    assert rfc3339(10.5) == "1970-01-01T00:00:10.5Z"
    assert rfc3339(0) == "0001-01-01T00:00:00Z"
