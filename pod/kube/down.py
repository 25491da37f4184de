"""`pod kube down` (and `kube play --down`): the pods a YAML made, stopped and removed.

Named volumes (PersistentVolumeClaims, ConfigMap volumes) stay, as podman leaves them; the
anonymous volumes of emptyDir go with their pods.
"""

from __future__ import annotations

from typing import Any

from pod.config import Settings
from pod.kube.play import pod_names
from pod.reporter import Reporter
from pod.store.layout import Layout
from pod.store.pods import PodStore
from pod.util.records import dataclass, field


@dataclass
class DownReport:
    stopped: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def down(settings: Settings, documents: list[dict[str, Any]], reporter: Reporter) -> DownReport:
    """Stop and remove the pods `documents` name; pods that do not exist are no error."""
    from pod.pods.lifecycle import stop_pod
    from pod.pods.remove import remove_pod

    pods = PodStore(Layout(settings.root, settings.runroot))
    existing = {record.name: record.id for record in pods.list()}
    report = DownReport()
    for name in pod_names(documents):
        pod_id = existing.get(name)
        if pod_id is None:
            continue
        stop_pod(settings, pod_id, None, reporter)
        report.stopped.append(pod_id)
        remove_pod(settings, pod_id, force=True, reporter=reporter, volumes=True)
        report.removed.append(pod_id)
    return report
