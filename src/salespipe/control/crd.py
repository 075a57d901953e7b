"""The SalesPipeline CustomResourceDefinition and its reference page, rendered from
the models in ``model.py``.

Both are committed (``charts/salespipe/crds/``, ``docs/salespipeline.md``) so a
Helm install and a reader need no Python; a test fails when either is stale, and
``salespipe operator crd`` / ``salespipe operator docs`` print them afresh.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from salespipe.control.model import SalesPipelineSpec, SalesPipelineStatus
from salespipe.control.schema import object_schema
from salespipe.settings import DNS_LABEL

GROUP = "salespipe.io"
VERSION = "v1alpha1"
KIND = "SalesPipeline"
PLURAL = "salespipelines"
API_VERSION = f"{GROUP}/{VERSION}"
CRD_NAME = f"{PLURAL}.{GROUP}"
CRD_PATH = Path("charts/salespipe/crds/salespipelines.salespipe.io.yaml")
DOCS_PATH = Path("docs/salespipeline.md")
NAME_MAX = 63
"""Pipeline names are DNS labels: they name children, labels and Airflow run confs."""

PRINTER_COLUMNS = [
    {
        "name": "Ready",
        "type": "string",
        "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
    },
    {
        "name": "Reason",
        "type": "string",
        "priority": 1,
        "jsonPath": '.status.conditions[?(@.type=="Ready")].reason',
    },
    {"name": "Engine", "type": "string", "jsonPath": ".spec.engine.mode"},
    {"name": "Gold target", "type": "string", "jsonPath": ".spec.gold.target"},
    {"name": "Last run", "type": "string", "jsonPath": ".status.lastRun.state"},
    # A string, not a date: kubectl prints a date column as an age, "<invalid>" when ahead.
    {"name": "Next run", "type": "string", "jsonPath": ".status.schedule.nextTick"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]


def openapi_schema() -> dict[str, Any]:
    """The version's openAPIV3Schema: spec and status from the models."""
    return {
        "type": "object",
        "description": "A sales pipeline: Bronze sources, Silver Delta Lake, Gold star schema.",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": object_schema(SalesPipelineSpec),
            "status": object_schema(SalesPipelineStatus),
        },
        "required": ["spec"],
        "x-kubernetes-validations": [
            {
                "rule": f"self.metadata.name.size() <= {NAME_MAX}"
                f" && self.metadata.name.matches('{DNS_LABEL}')",
                "message": f"metadata.name must be a DNS label of at most {NAME_MAX} characters",
            }
        ],
    }


def render_crd() -> dict[str, Any]:
    """The CustomResourceDefinition manifest."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": CRD_NAME,
            "labels": {"app.kubernetes.io/part-of": "salespipe"},
        },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": KIND,
                "listKind": f"{KIND}List",
                "plural": PLURAL,
                "singular": KIND.lower(),
                "shortNames": ["sp"],
                "categories": ["salespipe"],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": PRINTER_COLUMNS,
                    "schema": {"openAPIV3Schema": openapi_schema()},
                }
            ],
        },
    }


HEADER = "# Generated from salespipe.control.model by `salespipe operator crd`: do not edit.\n"


def crd_yaml() -> str:
    return HEADER + yaml.safe_dump(render_crd(), sort_keys=False, width=100)


def _rows(schema: dict[str, Any], path: str) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        here = f"{path}.{name}"
        kind = prop["type"]
        if kind == "array":
            kind = f"[]{prop['items']['type']}"
        if "enum" in prop:
            kind = " \\| ".join(prop["enum"])
        limits = [
            f"{k} {prop[k]}"
            for k in ("minimum", "maximum", "maxLength", "minItems", "maxItems", "maxProperties")
            if k in prop
        ]
        limits += [f"rule: {r['message']}" for r in prop.get("x-kubernetes-validations", [])]
        default = "required" if name in required else _default(prop)
        text = prop.get("description", "").replace("\n", " ")
        rows.append((f"`{here}`", kind, default, "; ".join(limits), text))
        if prop["type"] == "object" and "properties" in prop:
            rows += _rows(prop, here)
    return rows


def _default(prop: dict[str, Any]) -> str:
    if "default" not in prop or prop["default"] in ({}, []):
        return ""
    return f"`{json.dumps(prop['default'])}`"


def docs_markdown() -> str:
    """A field reference: path, type, default, limits and rules, description."""
    schema = openapi_schema()
    lines = [
        f"# {KIND} ({API_VERSION})",
        "",
        "<!-- Generated from salespipe.control.model by `salespipe operator docs`:"
        " do not edit. -->",
        "",
        f"`kubectl get {PLURAL}` (short name `sp`). The API server fills the defaults and"
        " enforces every limit and rule below at apply time.",
        "",
    ]
    for part in ("spec", "status"):
        lines += [
            f"## {part}",
            "",
            "| field | type | default | limits and rules | description |",
            "|---|---|---|---|---|",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in _rows(schema["properties"][part], part)]
        lines.append("")
    return "\n".join(lines)
