"""kube generate, play and down with real containers: every generated document is checked by
kubernetes-validate --strict against the Kubernetes schemas it ships (offline: run without a
network); a pod generated, torn down and played back serves the same content on the same port;
play makes volumes from PersistentVolumeClaims, ConfigMaps and emptyDirs and refuses bad YAML
with one line. Rootful and rootless.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from registry_server import free_port
from runners import IDLE
from web import HTTPD, fetch, pod_status

VALIDATOR = Path(sys.executable).with_name("kubernetes-validate")


def validate(path: Path) -> str:
    """kubernetes-validate --strict on every document of `path`, with no network (as root:
    in a network namespace of its own); its report."""
    command = [str(VALIDATOR), "--strict", str(path)]
    if os.geteuid() == 0 and shutil.which("unshare"):
        command = ["unshare", "--net", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def documents(path: Path) -> dict[str, dict]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all(path.read_text()) if doc}


def round_trip(runner, image: str, tmp: Path) -> None:
    """pod create + run --pod, generate -s, tear down, play back: the same page, same port."""
    port = free_port()
    runner("pod", "create", "--name", "web", "-p", f"{port}:80", check=True)
    runner("run", "-d", "--pod", "web", "--name", "httpd", image, "sh", "-c", HTTPD, check=True)
    assert fetch(f"http://127.0.0.1:{port}/") == "hello-from-web\n"
    path = tmp / "web.yaml"
    runner("kube", "generate", "-s", "-f", path, "web", check=True)
    assert "passed for resource pod/web" in validate(path)
    found = documents(path)
    assert found["Service"]["spec"]["type"] == "NodePort"
    assert found["Service"]["spec"]["ports"][0]["port"] == 80
    container = found["Pod"]["spec"]["containers"][0]
    assert container["name"] == "httpd"
    assert container["ports"] == [{"containerPort": 80, "hostPort": port}]
    runner("pod", "rm", "-f", "-t", "0", "web", check=True)
    played = runner("kube", "play", path, check=True)
    lines = played.stdout.splitlines()
    assert lines[0] == "Pod:" and lines[2] == "Container:"
    assert fetch(f"http://127.0.0.1:{port}/") == "hello-from-web\n"
    names = runner("ps", "--pod", "--format", "{{.Names}} {{.PodName}}").stdout.split("\n")
    assert "web-httpd web" in names
    down = runner("kube", "down", path, check=True)
    assert down.stdout.startswith("Pods stopped:\n")
    assert runner("pod", "ps", "-q").stdout == "" and runner("ps", "-aq").stdout == ""


def test_generated_yaml_validates_and_plays_back_serving(pod, busybox, tmp_path):
    round_trip(pod, busybox, tmp_path)


@pytest.mark.rootless
def test_rootless_generated_yaml_plays_back_serving(rootless_pod, rootless_busybox):
    tmp = rootless_pod.tmp
    round_trip(rootless_pod, rootless_busybox, tmp)


def test_generate_keeps_what_the_containers_were_asked_for(pod, busybox, tmp_path):
    pod("volume", "create", "data", check=True)
    pod("pod", "create", "--name", "Odd_Name", "--label", "tier=db", "--label", "Bad_Key/x=1",
        "--add-host", "db:10.1.2.3", "--dns", "192.0.2.53", check=True)  # fmt: skip
    pod("create", "--pod", "Odd_Name", "--name", "App_1", "-e", "FOO=bar", "-w", "/tmp",
        "-v", "data:/data", "-v", f"{tmp_path}:/host:ro", "--tmpfs", "/scratch",
        "--cap-add", "NET_ADMIN", "--cap-drop", "CHOWN", "--read-only", "-u", "1000:1000",
        "-m", "64m", "--cpus", "0.5", "--restart", "on-failure", busybox, "sleep", "1000",
        check=True)  # fmt: skip
    pod("run", "-d", "--name", "loose", "--privileged", "-p", f"{free_port()}:53/udp",
        busybox, "sleep", "1000", check=True)  # fmt: skip
    path = tmp_path / "many.yaml"
    generated = pod("kube", "generate", "-f", path, "Odd_Name", check=True)
    assert "Bad_Key/x" in generated.stderr  # left out, and said so
    validate(path)
    spec = documents(path)["Pod"]["spec"]
    assert documents(path)["Pod"]["metadata"]["name"] == "odd-name"
    assert documents(path)["Pod"]["metadata"]["labels"] == {"app": "odd-name", "tier": "db"}
    container = spec["containers"][0]
    assert container["name"] == "app-1"
    assert container["command"] == ["sleep", "1000"]
    assert container["env"] == [{"name": "FOO", "value": "bar"}]
    assert container["workingDir"] == "/tmp"
    assert container["resources"] == {"limits": {"cpu": "500m", "memory": "64Mi"}}
    assert container["securityContext"] == {
        "capabilities": {"add": ["CAP_NET_ADMIN"], "drop": ["CAP_CHOWN"]},
        "readOnlyRootFilesystem": True,
        "runAsGroup": 1000,
        "runAsUser": 1000,
    }
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert volumes[mounts["/data"]["name"]]["persistentVolumeClaim"] == {"claimName": "data"}
    host = volumes[mounts["/host"]["name"]]["hostPath"]
    assert host == {"path": str(tmp_path), "type": "Directory"} and mounts["/host"]["readOnly"]
    assert volumes[mounts["/scratch"]["name"]]["emptyDir"] == {"medium": "Memory"}
    assert spec["restartPolicy"] == "OnFailure"
    assert spec["hostname"] == "odd-name"
    assert spec["hostAliases"] == [{"hostnames": ["db"], "ip": "10.1.2.3"}]
    assert spec["dnsConfig"] == {"nameservers": ["192.0.2.53"]}
    loose = tmp_path / "loose.yaml"
    pod("kube", "generate", "-s", "-f", loose, "loose", check=True)
    validate(loose)
    found = documents(loose)
    assert found["Pod"]["metadata"]["name"] == "loose-pod"
    assert found["Pod"]["spec"]["containers"][0]["securityContext"]["privileged"] is True
    assert found["Service"]["spec"]["ports"][0]["protocol"] == "UDP"
    exists = pod("kube", "generate", "-f", loose, "loose")
    assert exists.returncode == 125 and "file exists" in exists.stderr


PLAY = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  GREETING: hello
  index.html: from-configmap
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
stringData:
  password: s3cret
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: datavol
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: dep
spec:
  replicas: 2
  selector: {matchLabels: {app: dep}}
  template:
    metadata:
      labels: {app: dep}
    spec:
      containers:
      - name: web
        image: IMAGE
        command: COMMAND
        livenessProbe: {exec: {command: ["true"]}}
        env:
        - name: FROMCM
          valueFrom: {configMapKeyRef: {name: cfg, key: GREETING}}
        - name: PASSWORD
          valueFrom: {secretKeyRef: {name: creds, key: password}}
        envFrom:
        - configMapRef: {name: cfg}
          prefix: CM_
        volumeMounts:
        - {name: data, mountPath: /data}
        - {name: cm, mountPath: /cm, readOnly: true}
        - {name: scratch, mountPath: /scratch}
        - {name: host, mountPath: /host}
        - {name: creds, mountPath: /etc/creds}
      volumes:
      - name: data
        persistentVolumeClaim: {claimName: datavol}
      - name: cm
        configMap:
          name: cfg
          items: [{key: index.html, path: site/index.html}]
      - name: scratch
        emptyDir: {}
      - name: host
        hostPath: {path: HOSTDIR, type: DirectoryOrCreate}
      - name: creds
        secret:
          secretName: creds
          items: [{key: password, path: pw}]
---
apiVersion: v1
kind: Frobnicator
metadata:
  name: x
"""


def play_kinds(runner, image: str, tmp: Path) -> None:
    host_dir = tmp / "hostdir"
    path = tmp / "play.yaml"
    path.write_text(
        PLAY.replace("IMAGE", image).replace("HOSTDIR", str(host_dir))
        .replace("COMMAND", json.dumps(IDLE))
    )  # fmt: skip
    played = runner("kube", "play", path, check=True)
    assert played.stdout.startswith("Volumes:\ndatavol\nPod:\n")
    assert played.stdout.count("Containers:") == 0 and played.stdout.count("Container:") == 2
    assert "kind Frobnicator is not supported" in played.stderr
    assert "livenessProbe is not supported" in played.stderr
    assert host_dir.is_dir()
    for replica in ("dep-pod-0", "dep-pod-1"):
        assert pod_status(runner, replica) == "Running"
    script = (
        "echo $FROMCM $CM_GREETING $PASSWORD; cat /cm/site/index.html; echo; "
        "cat /etc/creds/pw; echo; touch /data/kept /scratch/x; ls /host >/dev/null && echo ok"
    )
    shown = runner("exec", "dep-pod-0-web", "sh", "-c", script, check=True).stdout
    assert shown == "hello hello s3cret\nfrom-configmap\ns3cret\nok\n"
    # the Secret is in the secret store, its value nowhere else: not in inspect, not in the
    # container's config, not in what kube generate writes of the pod
    assert runner("secret", "ls", "--format", "{{.Name}}").stdout == "creds\n"
    assert "s3cret" not in runner("inspect", "dep-pod-0-web", check=True).stdout
    container_id = runner("inspect", "--format", "{{.Id}}", "dep-pod-0-web").stdout.strip()
    assert b"s3cret" not in (runner.root / "containers" / container_id / "config.json").read_bytes()
    generated = runner("kube", "generate", "dep-pod-0", check=True).stdout
    assert "s3cret" not in generated and "hello" in generated  # ConfigMap values are not secret
    again = runner("kube", "play", path)
    assert again.returncode == 125 and "pod already exists" in again.stderr
    runner("kube", "play", "--replace", "--start=false", path, check=True)
    assert pod_status(runner, "dep-pod-0") == "Created"
    down = runner("kube", "play", "--down", path, check=True)
    assert down.stdout.count("\n") == 6  # two headings, two pods stopped, two removed
    volumes = runner("volume", "ls", "--format", "{{.Name}}").stdout.split()
    assert sorted(volumes) == ["cfg", "datavol"]  # the emptyDir volumes went with the pods
    kept = runner("run", "--rm", "-v", "datavol:/data", image, "ls", "/data", check=True)
    assert kept.stdout == "kept\n"


def test_play_configmaps_secrets_claims_and_deployments(pod, busybox, tmp_path):
    play_kinds(pod, busybox, tmp_path)


@pytest.mark.rootless
def test_rootless_play_configmaps_secrets_claims_and_deployments(rootless_pod, rootless_busybox):
    play_kinds(rootless_pod, rootless_busybox, rootless_pod.tmp)


BAD = {
    "not a list": ("kind: Pod\nmetadata: {name: p}\nspec: {containers: x}\n", "must be a list"),
    "no image": (
        "kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c}]}\n",
        "containers[0].image is required",
    ),
    "bad name": (
        "kind: Pod\nmetadata: {name: ../up}\nspec: {containers: [{name: c, image: i}]}\n",
        "names must match",
    ),
    "claim outside": (
        "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: i}]\n"
        "  volumes: [{name: v, persistentVolumeClaim: {claimName: ../../etc}}]\n",
        "claimName '../../etc'",
    ),
    "nothing to play": (
        "kind: Ingress\nmetadata: {name: i}\n---\nkind: Service\nmetadata: {name: s}\n",
        "Error: YAML document does not contain any supported kube kind",
    ),
    "configmap alone": (
        "kind: ConfigMap\nmetadata: {name: m}\ndata: {a: b}\n",
        "ConfigMaps in podman are not a standalone object",
    ),
    "python tag": ("!!python/object/apply:os.system [true]\n", "not valid YAML"),
    "relative host path": (
        "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: i}]\n"
        "  volumes: [{name: v, hostPath: {path: etc}}]\n",
        "must be an absolute path",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_yaml_is_one_line_and_makes_nothing(pod, case):
    text, message = BAD[case]
    done = pod("kube", "play", "-", input=text)
    assert done.returncode == 125
    assert message in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1
    assert pod("pod", "ps", "-q").stdout == "" and pod("ps", "-aq").stdout == ""


def test_play_builds_images_and_joins_networks(pod, busybox, tmp_path):
    directory = tmp_path / "myimg"
    directory.mkdir()
    (directory / "Containerfile").write_text(f"FROM {busybox}\nRUN echo built > /built\n")
    path = tmp_path / "pod.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: kb}\nspec:\n  containers:\n"
        "  - name: c\n    image: localhost/myimg:latest\n"
        f"    command: {json.dumps(IDLE)}\n"
    )
    pod("network", "create", "kn", check=True)
    pod("kube", "play", "--build", "--network", "kn", "--log-driver", "none", path, check=True)
    assert pod("exec", "kb-c", "cat", "/built", check=True).stdout == "built\n"
    assert pod("inspect", "--format", "{{.HostConfig.LogConfig.Type}}", "kb-c").stdout == "none\n"
    networks = pod("pod", "inspect", "--format", "{{.InfraConfig.Networks}}", "kb").stdout
    assert networks == "[kn]\n"
    pod("kube", "down", path, check=True)
    pod("network", "rm", "kn", check=True)
