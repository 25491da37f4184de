"""`events --format` sees podman 4.3's events.Event: Go names, json tags, omitempty, Details."""

from __future__ import annotations

from pod.commands.events_view import event_report
from pod.events import Event
from pod.format import compile_template, to_json
from pod.util.gotime import GoTime

MOMENT = 1796576088017705158  # 2026-12-06T16:54:48.017705158Z


def test_json_is_podmans_event():
    died = Event("container", "died", "web", "abc", "img", MOMENT, {"k": "v"}, exit_code=0)
    assert to_json(event_report(died)) == (
        '{"ID":"abc","Image":"img","Name":"web","Status":"died",'
        f'"Time":"{GoTime(MOMENT).rfc3339()}","Type":"container","Attributes":{{"k":"v"}}}}'
    )
    volume = Event("volume", "create", "v1", time_ns=MOMENT)
    assert to_json(event_report(volume)).endswith(',"Type":"volume","Attributes":null}')


def test_health_status_has_its_own_field():
    checked = Event("container", "health_status", "web", "abc", "img", MOMENT,
                    {"k": "v", "health_status": "healthy"})  # fmt: skip
    report = event_report(checked)
    text = compile_template("{{.HealthStatus}} {{.Attributes}} {{.Details}} {{.PodID}}|")
    assert text.render(report) == "healthy map[k:v] {  map[k:v]} |"
    assert '"health_status":"healthy","Attributes":{"k":"v"}}' in to_json(report)
