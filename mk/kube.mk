# Real Kubernetes API server for tests and local development (tools/kube/README.md).
# Included by the top-level Makefile, which defines VENV.
VENV ?= .venv
KUBE_PY ?= $(VENV)/bin/python

.PHONY: k8s-build k8s-up k8s-down k8s-status

# Build (or reuse the cached) etcd + salespipe-apiserver binaries.
k8s-build:
	bash tools/kube/build.sh

# Start etcd + API server in the background, install ../shared/crds, print the kubeconfig path.
k8s-up: k8s-build
	$(KUBE_PY) -m salespipe.dev.kube up

k8s-down:
	$(KUBE_PY) -m salespipe.dev.kube down

k8s-status:
	$(KUBE_PY) -m salespipe.dev.kube status
