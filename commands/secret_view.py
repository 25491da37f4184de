"""What `secret ls` and `secret inspect` templates see: podman 4.3's entities.SecretListReport
(ages as strings) and entities.SecretInfoReport (times as time.Time, the spec's labels and
driver options as maps), and the template `secret inspect --pretty` runs."""

from __future__ import annotations

from typing import Any

from pod.format import GoMap, GoStruct, gofield
from pod.util.gotime import GoTime
from pod.util.humanize import since
from pod.util.records import dataclass

# podman's default `secret ls` row (aligned, with a header line) and its header overrides
LIST_FORMAT = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.CreatedAt}}\t{{.UpdatedAt}}"
LIST_HEADERS = {"CreatedAt": "CREATED", "UpdatedAt": "UPDATED"}

# podman's secretInspectPrettyTemplate, run as a user's template
PRETTY = """ID:              {{.ID}}
Name:              {{.Spec.Name}}
{{- if .Spec.Labels }}
Labels:
{{- range $k, $v := .Spec.Labels }}
 - {{ $k }}={{ $v }}
{{- end }}{{ end }}
Driver:            {{.Spec.Driver.Name}}
Created at:        {{.CreatedAt}}
Updated at:        {{.UpdatedAt}}"""


@dataclass
class SecretListReport(GoStruct):
    GO_TYPE = "*entities.SecretListReport"
    ID: str = gofield()
    Name: str = gofield()
    Driver: str = gofield()
    CreatedAt: str = gofield()
    UpdatedAt: str = gofield()


@dataclass
class SecretDriverSpec(GoStruct):
    GO_TYPE = "entities.SecretDriverSpec"
    Name: str = gofield()
    Options: GoMap = gofield()


@dataclass
class SecretSpec(GoStruct):
    GO_TYPE = "entities.SecretSpec"
    Name: str = gofield()
    Driver: SecretDriverSpec = gofield()
    Labels: GoMap = gofield()


@dataclass
class SecretInfoReport(GoStruct):
    GO_TYPE = "*entities.SecretInfoReport"
    ID: str = gofield()
    CreatedAt: GoTime = gofield()
    UpdatedAt: GoTime = gofield()
    Spec: SecretSpec = gofield()


def list_report(record: Any) -> SecretListReport:
    """A pod.store.secrets record as `secret ls` shows it."""
    return SecretListReport(
        record.id, record.name, record.driver, since(record.created), since(record.updated)
    )


def info_report(record: Any, data_dir: str) -> SecretInfoReport:
    """A pod.store.secrets record as `secret inspect` shows it (never its data)."""
    driver = SecretDriverSpec(record.driver, GoMap({"path": data_dir}))
    return SecretInfoReport(
        ID=record.id,
        CreatedAt=GoTime.from_seconds(record.created),
        UpdatedAt=GoTime.from_seconds(record.updated),
        Spec=SecretSpec(record.name, driver, GoMap(record.labels)),
    )
