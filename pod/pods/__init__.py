"""Pods: containers sharing namespaces held by an infra container (records in store.pods)."""
