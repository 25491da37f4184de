"""What `events --format` templates and `--format json` see: podman 4.3's events.Event (the
Go field names, json tags and omitempty, its embedded Details)."""

from __future__ import annotations

from pod.format import GoMap, GoStruct, NilMap, gofield
from pod.util.gotime import GoTime
from pod.util.records import dataclass


@dataclass
class Details(GoStruct):
    GO_TYPE = "events.Details"
    ID: str = gofield()
    PodID: str = gofield("-")
    Attributes: GoMap = gofield()


@dataclass
class EventReport(GoStruct):
    """podman's events.Event, what templates and `--format json` see."""

    GO_TYPE = "*events.Event"
    ContainerExitCode: int = gofield(",omitempty")
    ID: str = gofield(",omitempty")
    Image: str = gofield(",omitempty")
    Name: str = gofield(",omitempty")
    Network: str = gofield("network,omitempty")
    Status: str = gofield()
    Time: GoTime = gofield()
    Type: str = gofield()
    HealthStatus: str = gofield("health_status,omitempty")
    Details: Details = gofield(embedded=True)


def event_report(event) -> EventReport:
    """A pod.events.Event as podman's struct: a health_status event's status in its own
    field (pod's log keeps it among the attributes), the attributes a nil map when absent."""
    attributes = dict(event.attributes or {})
    health = attributes.pop("health_status", "") if event.status == "health_status" else ""
    return EventReport(
        ContainerExitCode=event.exit_code or 0,
        ID=event.id,
        Image=event.image,
        Name=event.name,
        Network=event.network,
        Status=event.status,
        Time=GoTime(event.time_ns),
        Type=event.type,
        HealthStatus=health,
        Details=Details("", "", GoMap(attributes) if event.attributes is not None else NilMap()),
    )
