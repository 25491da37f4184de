"""Go's time.Time and time.Duration as podman prints them (the expected strings are Go's)."""

import pytest

from pod.format import compile_template, to_json
from pod.util.gotime import GoDuration, GoTime, duration_string

MOMENT = GoTime.parse("2026-12-06T16:54:48.017705158Z", utc=True)


def test_string_is_gos_default_layout():
    assert str(MOMENT) == "2026-12-06 16:54:48.017705158 +0000 UTC"
    assert str(GoTime.parse("2024-01-01T00:00:00Z", utc=True)) == "2024-01-01 00:00:00 +0000 UTC"


def test_the_zero_time():
    zero = GoTime(None)
    assert str(zero) == "0001-01-01 00:00:00 +0000 UTC"
    assert zero.rfc3339() == "0001-01-01T00:00:00Z"
    assert zero.Unix() == -62135596800  # what podman's ps JSON shows for "never"
    assert zero.IsZero() and not MOMENT.IsZero()
    assert GoTime.from_seconds(0) == zero


def test_json_is_rfc3339_with_nanoseconds():
    assert to_json({"Created": MOMENT}) == '{"Created":"2026-12-06T16:54:48.017705158Z"}'
    assert GoTime.from_seconds(1796576098.5, utc=True).rfc3339() == "2026-12-06T16:54:58.5Z"


@pytest.mark.parametrize(
    ("layout", "text"),
    [
        ("2006-01-02", "2026-12-06"),
        ("Jan 2, 2006 at 3:04pm (MST)", "Dec 6, 2026 at 4:54pm (UTC)"),
        ("Monday _2 002", "Sunday  6 340"),
        ("15:04:05.000", "16:54:48.017"),
        ("05,999999999", "48,017705158"),
        ("2006-01-02T15:04:05Z07:00", "2026-12-06T16:54:48Z"),
        ("-0700 -07:00 06 PM", "+0000 +00:00 26 PM"),
        ("Janet", "Janet"),  # `Jan` followed by a lower-case letter is text, as in Go
    ],
)
def test_format_takes_gos_reference_layout(layout, text):
    assert MOMENT.Format(layout) == text


def test_local_time_names_its_zone(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        moment = GoTime.from_seconds(1796576098.5)
        assert str(moment) == "2026-12-06 17:54:58.5 +0100 CET"
        assert moment.rfc3339() == "2026-12-06T17:54:58.5+01:00"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_templates_call_the_methods():
    template = compile_template('{{.T.Unix}} {{.T.Format "2006"}} {{.T.UTC}}')
    assert (
        template.render({"T": MOMENT}) == "1796576088 2026 2026-12-06 16:54:48.017705158 +0000 UTC"
    )


def test_templates_name_the_go_types():
    template = compile_template('{{printf "%T %T" .T .D}}')
    assert template.render({"T": MOMENT, "D": GoDuration(1)}) == "time.Time time.Duration"


@pytest.mark.parametrize(
    ("nanos", "text"),
    [
        (0, "0s"),
        (1500, "1.5µs"),
        (26563185, "26.563185ms"),
        (5_846_937_845, "5.846937845s"),
        (120_758_671_999, "2m0.758671999s"),
        (3_723_000_000_000, "1h2m3s"),
        (-1_500_000, "-1.5ms"),
    ],
)
def test_duration_string(nanos, text):
    assert duration_string(nanos) == text
    assert str(GoDuration(nanos)) == text


def test_duration_json_is_nanoseconds():
    assert to_json([GoDuration(26563185)]) == "[26563185]"
