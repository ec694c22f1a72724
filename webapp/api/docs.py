"""/api/docs: the API's reference, rendered on the server from the OpenAPI document itself (so
it cannot drift from it), with no script and nothing from another origin (the strict CSP)."""

from __future__ import annotations

from flask import current_app

from ..templating import render
from . import docs_bp as bp
from .openapi import document
from .problems import TYPES

MAX_DEPTH = 6


def _type(schema: dict) -> str:
    if "$ref" in schema:
        return "object"
    if "enum" in schema:
        return "one of " + ", ".join(f"{v!r}".replace("'", '"') for v in schema["enum"])
    if "const" in schema:
        return f'"{schema["const"]}"' if isinstance(schema["const"], str) else str(schema["const"])
    if "anyOf" in schema:
        kinds = [_type(s) for s in schema["anyOf"]]
        return " or ".join(kinds)
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    return kind


def _resolve(schema: dict, components: dict) -> dict:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _fields(schema: dict, components: dict, depth: int = 0) -> list[dict]:
    """An object schema's properties as nested rows: name, type, required, description, children."""
    schema = _resolve(schema, components)
    if depth > MAX_DEPTH:
        return []
    required = set(schema.get("required", []))
    rows = []
    for name, prop in schema.get("properties", {}).items():
        inner = prop
        for key in ("anyOf", "oneOf"):
            options = [s for s in prop.get(key, []) if s.get("type") != "null"]
            if len(options) == 1:
                inner = options[0]
        target = _resolve(inner.get("items", inner) if inner.get("type") == "array" else inner, components)
        limits = []
        if "maxLength" in prop:
            limits.append(f"at most {prop['maxLength']} characters")
        if "maxItems" in prop:
            limits.append(f"at most {prop['maxItems']} items")
        if "minimum" in prop or "maximum" in prop:
            limits.append(f"{prop.get('minimum', '')}–{prop.get('maximum', '')}")
        rows.append(
            {
                "name": name,
                "type": _type(prop),
                "required": name in required,
                "nullable": any(s.get("type") == "null" for s in prop.get("anyOf", [])),
                "description": prop.get("description") or target.get("description", "")
                if "$ref" in inner
                else prop.get("description", ""),
                "default": prop.get("default"),
                "limits": ", ".join(limits),
                "children": _fields(target, components, depth + 1) if target.get("properties") else [],
            }
        )
    return rows


def _variants(schema: dict, components: dict) -> list[dict]:
    """A tagged union (`oneOf` with a discriminator) as one block per variant."""
    schema = _resolve(schema, components)
    variants = schema.get("oneOf")
    if not variants:
        return [{"title": None, "fields": _fields(schema, components)}]
    tag = schema.get("discriminator", {}).get("propertyName")
    blocks = []
    for variant in variants:
        resolved = _resolve(variant, components)
        const = resolved.get("properties", {}).get(tag, {}).get("const")
        blocks.append(
            {"title": f'{tag}: "{const}"' if tag else resolved.get("title"), "fields": _fields(resolved, components)}
        )
    return blocks


def reference() -> dict:
    """The document reshaped for reading: operations in order, schemas as nested field lists."""
    doc = document()
    components = doc["components"]["schemas"]
    operations = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            responses = []
            for status, answer in sorted(op["responses"].items()):
                content = answer.get("content", {})
                media, spec = next(iter(content.items()), (None, {}))
                schema = spec.get("schema") if spec else None
                name = schema["$ref"].rsplit("/", 1)[1] if schema and "$ref" in schema else None
                responses.append(
                    {"status": status, "description": answer.get("description", ""), "media": media, "schema": name}
                )
            description = (op.get("description") or "").strip()
            operations.append(
                {
                    "id": op.get("operationId"),
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "paragraphs": [p.replace("\n", " ") for p in description.split("\n\n") if p.strip()],
                    "parameters": op.get("parameters", []),
                    "query": [p for p in op.get("parameters", []) if p["in"] == "query"],
                    "body": _variants(body, components) if body else None,
                    "responses": responses,
                    "tag": (op.get("tags") or [""])[0],
                }
            )
    schemas = {
        name: _fields(schema, components)
        for name, schema in components.items()
        if name.endswith("Out")
        or name in ("CustomerList", "CustomerSummary", "NumberList", "PlanList", "Problem", "Activation", "Money")
    }
    return {"info": doc["info"], "operations": operations, "schemas": schemas}


@bp.get("/")
def index():
    """The API reference: authentication, idempotency, errors and every endpoint (public)."""
    base = current_app.config["APP_BASE_URL"]
    return render("api/docs.html", ref=reference(), problems=TYPES, base=base)
