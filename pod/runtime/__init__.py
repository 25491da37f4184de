"""pod.runtime: the low-level runtime (namespaces, user mappings, mounts); runs OCI bundles."""
