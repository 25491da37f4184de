"""Container networking: networks and addresses, bridges and veths (pyroute2), firewall rules,
published ports, rootless outbound (slirp4netns), the rootless network namespace where rootless
containers' bridges live (rootless_netns) and name resolution between members.

Nothing here is imported on the CLI's fast path; pyroute2 only where netlink work is done.
"""
