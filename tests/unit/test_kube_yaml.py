"""Kubernetes YAML without containers: names kept to Kubernetes' rules, quantities, the safe
loader and its errors, what a play would make of ConfigMaps, Secrets and Deployments."""

from __future__ import annotations

import base64

import pytest

from pod.errors import KubeError
from pod.kube import names
from pod.kube.documents import Node, dump_documents, load_documents
from pod.kube.generate import _host_aliases, _quantity
from pod.kube.play import checked_name, collect_sources, pod_names
from pod.kube.quantities import cpus, memory_bytes

# --- names ---


@pytest.mark.parametrize(
    ("given", "label"),
    [
        ("web", "web"),
        ("My_Ctr.x", "my-ctr-x"),
        ("__", "x"),
        ("a" * 80, "a" * 63),
        ("-lead-", "lead"),
    ],
)
def test_dns_labels(given, label):
    assert names.dns_label(given) == label
    assert names.is_dns_label(label)


def test_dns_subdomains_keep_dots():
    assert names.dns_subdomain("app_Pod.X") == "app-pod.x"
    assert names.is_dns_subdomain("app-pod.x")
    assert not names.is_dns_subdomain("App")
    long = names.dns_subdomain(".".join(["b" * 70] * 5))
    assert len(long) <= 253 and names.is_dns_subdomain(long)


def test_label_keys_and_values():
    assert names.is_qualified_name("app")
    assert names.is_qualified_name("example.com/tier")
    assert not names.is_qualified_name("Bad_Prefix/x")
    assert not names.is_qualified_name("x" * 64)
    assert names.label_value("a b!c") == "a-b-c"
    assert names.label_value("x" * 80) == "x" * 63
    assert names.label_value("") == ""
    assert names.valid_labels({"ok": "v", "Bad_Key/x": "1"}) == {"ok": "v"}


def test_cli_names_are_checked():
    assert checked_name("web", "pod") == "web"
    with pytest.raises(KubeError, match="names must match"):
        checked_name("../etc", "claimName")


# --- quantities ---


@pytest.mark.parametrize(
    ("text", "expected"),
    [("64Mi", 64 << 20), ("1G", 10**9), ("128974848", 128974848), ("129e6", 129 * 10**6)],
)
def test_memory_quantities(text, expected):
    assert memory_bytes(text, "limits.memory") == expected


def test_cpu_quantities_and_errors():
    assert cpus("500m", "cpu") == pytest.approx(0.5)
    assert cpus(2, "cpu") == 2
    with pytest.raises(KubeError, match="limits.cpu: '-1' is not a valid quantity"):
        cpus("-1", "limits.cpu")
    with pytest.raises(KubeError, match="not a valid quantity"):
        memory_bytes("lots", "limits.memory")


def test_quantities_written_as_kubernetes_does():
    assert _quantity(64 << 20) == "64Mi"
    assert _quantity(3 << 30) == "3Gi"
    assert _quantity(1000) == "1000"


def test_host_aliases_group_names_by_address():
    assert _host_aliases(["db:10.0.0.2", "cache:10.0.0.2", "web:10.0.0.3"]) == [
        {"hostnames": ["db", "cache"], "ip": "10.0.0.2"},
        {"hostnames": ["web"], "ip": "10.0.0.3"},
    ]


# --- documents ---


def test_safe_loader_refuses_python_objects():
    with pytest.raises(KubeError, match="not valid YAML"):
        load_documents(b"!!python/object/apply:os.system ['true']\n", "evil.yaml")


def test_documents_must_be_mappings():
    with pytest.raises(KubeError, match="document 2 is not a mapping"):
        load_documents("kind: Pod\n---\n- a\n", "list.yaml")
    assert load_documents("---\n---\nkind: Pod\n", "empty.yaml") == [{"kind": "Pod"}]


def test_typed_access_names_the_bad_path():
    node = Node({"spec": {"containers": [{"name": 3, "ports": "x"}]}}, "document 1")
    container = node.node("spec").nodes("containers")[0]
    assert container.required("name", str) == "3"  # YAML numbers stand for strings
    with pytest.raises(KubeError, match=r"document 1.spec.containers\[0\].ports must be a list"):
        container.nodes("ports")
    with pytest.raises(KubeError, match=r"containers\[0\].image is required"):
        container.required("image", str)
    assert container.unknown({"name"}) == ["document 1.spec.containers[0].ports"]


def test_dump_sorts_keys_and_separates_documents():
    text = dump_documents([{"kind": "Service", "apiVersion": "v1"}, {"kind": "Pod"}])
    assert text == "apiVersion: v1\nkind: Service\n---\nkind: Pod\n"


# --- play's view of the documents ---


def _node(document: dict, index: int = 1) -> Node:
    return Node(document, f"document {index}")


def test_configmaps_and_secrets_are_collected():
    secret = base64.b64encode(b"s3cret").decode()
    sources = collect_sources(
        [
            _node({"kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"A": 1}}),
            _node(
                {
                    "kind": "Secret",
                    "metadata": {"name": "creds"},
                    "data": {"password": secret},
                    "stringData": {"user": "admin"},
                }
            ),
        ],
        [],
    )
    assert sources.configmaps == {"cfg": {"A": b"1"}}
    assert sources.secrets == {"creds": {"password": b"s3cret", "user": b"admin"}}
    assert sources.lookup("secret", "creds", "user", False, "env") == b"admin"
    assert sources.lookup("configMap", "missing", "A", True, "env") is None
    with pytest.raises(KubeError, match="ConfigMap 'missing' not found"):
        sources.lookup("configMap", "missing", "A", False, "env")


def test_bad_secret_data_and_keys_are_errors():
    with pytest.raises(KubeError, match="data.password is not base64"):
        collect_sources(
            [_node({"kind": "Secret", "metadata": {"name": "s"}, "data": {"password": "%%"}})],
            [],
        )
    with pytest.raises(KubeError, match="is not a valid ConfigMap key"):
        collect_sources(
            [_node({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"../x": "1"}})],
            [],
        )
    with pytest.raises(KubeError, match="names must match"):
        collect_sources([_node({"kind": "ConfigMap", "metadata": {"name": "a/b"}})], [])


def test_deployments_play_as_numbered_pods():
    documents = [
        {"kind": "Pod", "metadata": {"name": "web"}, "spec": {}},
        {
            "kind": "Deployment",
            "metadata": {"name": "dep"},
            "spec": {"replicas": 3, "template": {"spec": {}}},
        },
        {"kind": "Service", "metadata": {"name": "web"}},
    ]
    assert pod_names(documents) == ["web", "dep-pod-0", "dep-pod-1", "dep-pod-2"]
    one = [{"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {}}}]
    assert pod_names(one) == ["d-pod-0"]


def test_kube_secrets_keep_their_keys_in_one_store_secret():
    from pod.errors import NoSuchSecretError
    from pod.store.secrets import kube_secret, kube_secret_values

    data = kube_secret("creds", {"user": b"admin", "password": b"\x00s3cret"})
    assert kube_secret_values(data, "creds") == {"user": b"admin", "password": b"\x00s3cret"}
    with pytest.raises(NoSuchSecretError, match="creds is not a Kubernetes Secret"):
        kube_secret_values(b"plain text", "creds")
