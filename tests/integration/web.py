"""A web page served from a container, fetched from the host: what the pod and kube tests
check a pod's published port with."""

from __future__ import annotations

import time
import urllib.request

# busybox httpd serving "hello-from-<host name>": a pod's containers have the pod's name. The
# shell is PID 1, which ignores a SIGTERM it has no trap for: the trap makes a stop take no time
# instead of the 10 s stop timeout.
HTTPD = (
    "trap 'exit 0' TERM; mkdir -p /www && echo hello-from-$(hostname) > /www/index.html"
    " && httpd -f -p 80 -h /www & wait"
)


def fetch(url: str, timeout: float = 10.0) -> str:
    """GET with retries while the server in the container starts."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return answer.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def pod_status(runner, name: str) -> str:
    """The pod's STATUS as `pod pod ps` shows it."""
    done = runner("pod", "ps", "--filter", f"name=^{name}$", "--format", "{{.Status}}")
    return done.stdout.strip()
