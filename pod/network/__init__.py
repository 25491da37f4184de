"""Container networking: networks and addresses, bridges and veths (pyroute2), firewall rules,
published ports, rootless outbound (slirp4netns) and name resolution between members.

Nothing here is imported on the CLI's fast path; pyroute2 only where netlink work is done.
"""
