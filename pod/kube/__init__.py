"""Kubernetes YAML: kube generate (Pods and Services from containers and pods), kube play and
kube down (pods, volumes, ConfigMaps and Secrets from Pods, Deployments and their kin)."""
