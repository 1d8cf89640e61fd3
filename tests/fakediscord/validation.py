"""Request-body validation: Discord's OpenAPI spec plus the hand-written rules it misses.

Two layers, both answering like Discord does (400, code 50035 "Invalid Form Body", errors
nested by JSON path with ``_errors`` leaves):

1. ``validate_against_spec``: the request body schema of the route in the official spec
   (``/work/shared/discord-api-spec/openapi.json``). The spec is loaded once per process and a
   validator is compiled per (method, route) on first use and cached. Quirks handled as the
   spec's README advises: digit strings are accepted as integers (discord.py sends snowflakes
   and ``permissions`` as strings), ints are accepted for snowflake strings, and ``oneOf`` is
   checked as ``anyOf``.
2. ``RULES``: cross-field limits the spec does not express, each citing Discord's docs.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = os.environ.get(
    "FAKEDISCORD_OPENAPI",
    os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "discord-api-spec", "openapi.json"),
)
_FALLBACK_SPEC_PATH = "/work/shared/discord-api-spec/openapi.json"
_SPEC_URI = "urn:discord-openapi"

# One error as Discord reports it: (path inside the body, code, message).
FieldError = tuple[tuple[str | int, ...], str, str]

_SNOWFLAKE_PATTERN = "^(0|[1-9][0-9]*)$"
_DIGITS = re.compile(r"-?[0-9]+")


# --------------------------------------------------------------------------------------------
# Loading and compiling the spec (once per process)
# --------------------------------------------------------------------------------------------


def _relax(node: Any) -> Any:
    """Rewrite the spec for validation: oneOf -> anyOf, snowflake strings also accept ints.

    Done once on the whole document (a few tens of ms) so every compiled validator shares it.
    """
    if isinstance(node, list):
        return [_relax(x) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "oneOf":
            out["anyOf"] = _relax(value)
        else:
            out[key] = _relax(value)
    is_snowflake = out.get("format") == "snowflake" or out.get("pattern") == _SNOWFLAKE_PATTERN
    if is_snowflake and out.get("type") == "string":
        # discord.py sends ids as ints in places (e.g. role ids in allowed_mentions, applied_tags)
        out["type"] = ["string", "integer"]
        out.setdefault("minimum", 0)
    return out


_spec_lock = threading.Lock()
_spec: dict[str, Any] | None = None
_registry: Registry | None = None


def load_spec() -> dict[str, Any]:
    global _spec, _registry
    if _spec is None:
        with _spec_lock:
            if _spec is None:
                path = SPEC_PATH if os.path.exists(SPEC_PATH) else _FALLBACK_SPEC_PATH
                with open(path, encoding="utf-8") as fh:
                    raw = json.load(fh)
                relaxed = _relax(raw)
                resource = Resource(contents=relaxed, specification=DRAFT202012)
                _registry = Registry().with_resource(_SPEC_URI, resource)
                _spec = relaxed
    return _spec


def _is_integer(checker: Any, instance: Any) -> bool:
    if isinstance(instance, bool):
        return False
    if isinstance(instance, int):
        return True
    if isinstance(instance, float):
        return instance.is_integer()
    return isinstance(instance, str) and _DIGITS.fullmatch(instance) is not None


_TYPE_CHECKER = Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer)
_Validator = jsonschema.validators.extend(Draft202012Validator, type_checker=_TYPE_CHECKER)

_validators: dict[tuple[str, str, str], Any] = {}


def _request_schema(method: str, template: str, content_type: str) -> Any | None:
    spec = load_spec()
    path_item = spec["paths"].get(template)
    if not path_item:
        return None
    op = path_item.get(method.lower())
    if not op or "requestBody" not in op:
        return None
    content = op["requestBody"].get("content", {})
    # multipart bodies are validated as their payload_json, i.e. against the JSON schema
    schema = (content.get("application/json") or content.get(content_type) or {}).get("schema")
    return schema


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (_SPEC_URI + v if k == "$ref" and isinstance(v, str) and v.startswith("#") else _rewrite_refs(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(x) for x in node]
    return node


def validator_for(method: str, template: str, content_type: str = "application/json") -> Any | None:
    """The compiled validator of a route's request body, or None when the spec has no body schema."""
    key = (method.upper(), template, content_type)
    if key in _validators:
        return _validators[key]
    schema = _request_schema(method, template, content_type)
    validator = None
    if schema is not None:
        load_spec()
        validator = _Validator(_rewrite_refs(copy.deepcopy(schema)), registry=_registry)
    _validators[key] = validator
    return validator


def response_validator_for(method: str, template: str, status: int) -> Any | None:
    """The compiled validator of a route's JSON answer for ``status`` (None when the spec has none)."""
    key = ("RESPONSE " + method.upper(), template, str(status))
    if key in _validators:
        return _validators[key]
    spec = load_spec()
    op = (spec["paths"].get(template) or {}).get(method.lower()) or {}
    resp = (op.get("responses") or {}).get(str(status)) or {}
    schema = ((resp.get("content") or {}).get("application/json") or {}).get("schema")
    validator = _Validator(_rewrite_refs(copy.deepcopy(schema)), registry=_registry) if schema is not None else None
    _validators[key] = validator
    return validator


def validate_response(method: str, template: str, status: int, body: Any) -> list[FieldError]:
    """Check one of the fake's own answers against the spec (used by ``FakeDiscord(check_responses=True)``)."""
    validator = response_validator_for(method, template, status)
    if validator is None:
        return []
    out: list[FieldError] = []
    for err in validator.iter_errors(body):
        out.extend(_describe(err))
    return out


def schema_validator(name: str) -> Any:
    """A validator for one named component schema (e.g. the data of an interaction callback)."""
    key = ("SCHEMA", name, "")
    if key not in _validators:
        load_spec()
        _validators[key] = _Validator({"$ref": f"{_SPEC_URI}#/components/schemas/{name}"}, registry=_registry)
    return _validators[key]


# --------------------------------------------------------------------------------------------
# Converting jsonschema errors to Discord's error codes
# --------------------------------------------------------------------------------------------


def _branch_errors(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """For a failed anyOf, the errors of the branch the body most plausibly meant.

    A union like the interaction callback is discriminated by ``type``: branches whose ``type``
    (or ``component type``) does not match are dropped first; of the rest, the branch with the
    fewest errors wins (mirrors what Discord reports: the error inside the intended shape).
    """
    by_branch: dict[Any, list[jsonschema.ValidationError]] = {}
    for sub in error.context or []:
        branch = sub.relative_schema_path[0] if sub.relative_schema_path else None
        by_branch.setdefault(branch, []).append(sub)
    if not by_branch:
        return [error]
    base_len = len(error.absolute_path)

    def discriminator_mismatch(errs: list[jsonschema.ValidationError]) -> bool:
        for e in errs:
            rel = list(e.absolute_path)[base_len:]
            if rel == ["type"] and e.validator in ("enum", "const"):
                return True
            if not rel and e.validator == "type":
                return True  # e.g. the null branch of a nullable object
        return False

    candidates = [errs for errs in by_branch.values() if not discriminator_mismatch(errs)]
    if not candidates:
        candidates = list(by_branch.values())
    best = min(candidates, key=len)
    out: list[jsonschema.ValidationError] = []
    for e in best:
        if e.validator in ("anyOf", "oneOf") and e.context:
            out.extend(_branch_errors(e))
        else:
            out.append(e)
    return out


def _describe(error: jsonschema.ValidationError) -> list[FieldError]:
    path = tuple(error.absolute_path)
    v = error.validator
    val = error.validator_value
    if v == "maxLength":
        return [(path, "BASE_TYPE_MAX_LENGTH", f"Must be {val} or fewer in length.")]
    if v == "minLength":
        return [(path, "BASE_TYPE_MIN_LENGTH", f"Must be {val} or more in length.")]
    if v == "maxItems":
        return [(path, "BASE_TYPE_MAX_LENGTH", f"Must be {val} or fewer in length.")]
    if v == "minItems":
        return [(path, "BASE_TYPE_MIN_LENGTH", f"Must be {val} or more in length.")]
    if v == "required":
        inst = error.instance if isinstance(error.instance, dict) else {}
        return [((*path, name), "BASE_TYPE_REQUIRED", "This field is required") for name in val if name not in inst]
    if v in ("enum", "const"):
        choices = val if isinstance(val, list) else [val]
        return [(path, "BASE_TYPE_CHOICES", f"Value must be one of {tuple(choices)!r}.")]
    if v == "minimum":
        return [(path, "NUMBER_TYPE_MIN", f"int value should be greater than or equal to {val}.")]
    if v == "maximum":
        return [(path, "NUMBER_TYPE_MAX", f"int value should be less than or equal to {val}.")]
    if v == "type":
        types = val if isinstance(val, list) else [val]
        if "integer" in types or "number" in types:
            return [(path, "NUMBER_TYPE_COERCE", f"Value {json.dumps(error.instance)[:50]} is not int.")]
        if "string" in types:
            return [(path, "BASE_TYPE_STRING", "Must be a string.")]
        if "boolean" in types:
            return [(path, "BASE_TYPE_BOOLEAN", "Must be either true or false.")]
        if "array" in types:
            return [(path, "BASE_TYPE_ARRAY", "Must be an array.")]
        return [(path, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")]
    if v in ("anyOf", "oneOf"):
        out: list[FieldError] = []
        for sub in _branch_errors(error):
            out.extend(
                _describe(sub)
                if sub is not error
                else [(path, "UNION_TYPE_CHOICES", "Value is not a valid union member.")]
            )
        return out or [(path, "UNION_TYPE_CHOICES", "Value is not a valid union member.")]
    if v == "uniqueItems":
        return [(path, "BASE_TYPE_DUPLICATE", "Values must be unique.")]
    if v == "pattern":
        return [(path, "STRING_TYPE_REGEX", f"String value did not match validation regex {val}.")]
    if v == "maxProperties":
        return [(path, "BASE_TYPE_MAX_LENGTH", f"Must be {val} or fewer in length.")]
    return [(path, "BASE_TYPE_INVALID", error.message[:200])]


def validate_against_spec(
    method: str, template: str, body: Any, content_type: str = "application/json"
) -> list[FieldError]:
    validator = validator_for(method, template, content_type)
    if validator is None:
        return []
    errors: list[FieldError] = []
    for err in validator.iter_errors(body):
        errors.extend(_describe(err))
    return errors


def validate_schema(name: str, instance: Any, prefix: tuple[str | int, ...] = ()) -> list[FieldError]:
    out: list[FieldError] = []
    for err in schema_validator(name).iter_errors(instance):
        out.extend((prefix + p, c, m) for p, c, m in _describe(err))
    return out


def nest_errors(errors: Iterable[FieldError]) -> dict[str, Any]:
    """Discord's nested error object: {"embeds": {"0": {"title": {"_errors": [...]}}}}."""
    root: dict[str, Any] = {}
    for path, code, message in errors:
        node = root
        for part in path:
            node = node.setdefault(str(part), {})
        leaf = node.setdefault("_errors", [])
        entry = {"code": code, "message": message}
        if entry not in leaf:
            leaf.append(entry)
    return root


# --------------------------------------------------------------------------------------------
# Hand-written rules (what the spec cannot express). Each cites the Discord doc it comes from.
# --------------------------------------------------------------------------------------------

# https://discord.com/developers/docs/resources/message#create-message (content: "up to 2000 characters";
# the spec says 4000, which is the Nitro user limit, not the bot limit)
MAX_CONTENT = 2000
# https://discord.com/developers/docs/resources/message#embed-object-embed-limits
EMBED_LIMITS = {"title": 256, "description": 4096, "fields": 25, "field.name": 256, "field.value": 1024,
                "footer.text": 2048, "author.name": 256, "total": 6000, "count": 10}  # fmt: skip
# https://discord.com/developers/docs/components/reference
MAX_ACTION_ROWS = 5
MAX_BUTTONS_PER_ROW = 5
MAX_SELECT_OPTIONS = 25
MAX_BUTTON_LABEL = 80
MAX_CUSTOM_ID = 100
MAX_SELECT_OPTION_TEXT = 100
# https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-modal
MAX_MODAL_TITLE = 45
MAX_MODAL_COMPONENTS = 5
# https://discord.com/developers/docs/resources/guild-scheduled-event#create-guild-scheduled-event
MAX_EVENT_NAME = 100
MAX_EVENT_DESCRIPTION = 1000
# https://discord.com/developers/docs/topics/permissions#role-object
MAX_ROLE_NAME = 100

MESSAGE_FLAG_IS_COMPONENTS_V2 = 1 << 15


def _embed_chars(embed: dict[str, Any]) -> int:
    """Characters counted toward the 6000 total: title, description, field names and values,
    footer text and author name (embed limits doc)."""
    n = len(embed.get("title") or "") + len(embed.get("description") or "")
    for f in embed.get("fields") or []:
        if isinstance(f, dict):
            n += len(f.get("name") or "") + len(f.get("value") or "")
    footer = embed.get("footer") or {}
    author = embed.get("author") or {}
    if isinstance(footer, dict):
        n += len(footer.get("text") or "")
    if isinstance(author, dict):
        n += len(author.get("name") or "")
    return n


def check_embeds(embeds: Any, prefix: tuple[str | int, ...] = ()) -> list[FieldError]:
    errs: list[FieldError] = []
    if not isinstance(embeds, list):
        return errs
    base = (*prefix, "embeds")
    if len(embeds) > EMBED_LIMITS["count"]:
        errs.append((base, "BASE_TYPE_MAX_LENGTH", f"Must be {EMBED_LIMITS['count']} or fewer in length."))
    total = 0
    for i, e in enumerate(embeds):
        if not isinstance(e, dict):
            continue
        p = (*base, i)
        for key, limit in (("title", EMBED_LIMITS["title"]), ("description", EMBED_LIMITS["description"])):
            if isinstance(e.get(key), str) and len(e[key]) > limit:
                errs.append(((*p, key), "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."))
        fields = e.get("fields") or []
        if isinstance(fields, list):
            if len(fields) > EMBED_LIMITS["fields"]:
                errs.append(
                    ((*p, "fields"), "BASE_TYPE_MAX_LENGTH", f"Must be {EMBED_LIMITS['fields']} or fewer in length.")
                )
            for j, f in enumerate(fields):
                if not isinstance(f, dict):
                    continue
                for key, limit in (("name", EMBED_LIMITS["field.name"]), ("value", EMBED_LIMITS["field.value"])):
                    v = f.get(key)
                    if not isinstance(v, str) or not v.strip():
                        # field name and value are required and must not be empty (embed field object)
                        errs.append(((*p, "fields", j, key), "BASE_TYPE_REQUIRED", "This field is required"))
                    elif len(v) > limit:
                        errs.append(
                            ((*p, "fields", j, key), "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")
                        )
        footer = e.get("footer")
        if (
            isinstance(footer, dict)
            and isinstance(footer.get("text"), str)
            and len(footer["text"]) > EMBED_LIMITS["footer.text"]
        ):
            errs.append(((*p, "footer", "text"), "BASE_TYPE_MAX_LENGTH", "Must be 2048 or fewer in length."))
        author = e.get("author")
        if (
            isinstance(author, dict)
            and isinstance(author.get("name"), str)
            and len(author["name"]) > EMBED_LIMITS["author.name"]
        ):
            errs.append(((*p, "author", "name"), "BASE_TYPE_MAX_LENGTH", "Must be 256 or fewer in length."))
        total += _embed_chars(e)
    if total > EMBED_LIMITS["total"]:
        errs.append((base, "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"))
    return errs


_BUTTON, _STRING_SELECT, _TEXT_INPUT = 2, 3, 4
_SELECT_TYPES = {3, 5, 6, 7, 8}


def _walk_components(
    components: Any, path: tuple[str | int, ...]
) -> Iterable[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """Every component (nested in action rows, sections, containers, labels) with its path."""
    if not isinstance(components, list):
        return
    for i, c in enumerate(components):
        if not isinstance(c, dict):
            continue
        p = (*path, i)
        yield p, c
        if isinstance(c.get("components"), list):
            yield from _walk_components(c["components"], (*p, "components"))
        if isinstance(c.get("accessory"), dict):
            yield (*p, "accessory"), c["accessory"]
        if isinstance(c.get("component"), dict):
            yield (*p, "component"), c["component"]


def check_components(components: Any, prefix: tuple[str | int, ...] = (), *, v2: bool = False) -> list[FieldError]:
    errs: list[FieldError] = []
    if not isinstance(components, list):
        return errs
    base = (*prefix, "components")
    if not v2 and len(components) > MAX_ACTION_ROWS:
        errs.append((base, "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_ACTION_ROWS} or fewer in length."))
    for i, row in enumerate(components):
        if not isinstance(row, dict) or row.get("type") != 1:
            continue
        children = row.get("components") or []
        if not isinstance(children, list):
            continue
        p = (*base, i, "components")
        if not children or len(children) > MAX_BUTTONS_PER_ROW:
            errs.append((p, "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_BUTTONS_PER_ROW} in length."))
        kinds = [c.get("type") for c in children if isinstance(c, dict)]
        if any(k in _SELECT_TYPES or k == _TEXT_INPUT for k in kinds) and len(kinds) > 1:
            # a select menu (or text input) takes a whole action row
            errs.append((p, "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "The specified component exceeds the maximum width"))
    seen: dict[str, tuple[str | int, ...]] = {}
    for p, c in _walk_components(components, base):
        t = c.get("type")
        cid = c.get("custom_id")
        if cid is not None:
            if not isinstance(cid, str) or not (1 <= len(cid) <= MAX_CUSTOM_ID):
                errs.append(
                    ((*p, "custom_id"), "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_CUSTOM_ID} in length.")
                )
            elif cid in seen:
                errs.append(
                    ((*p, "custom_id"), "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated")
                )
            else:
                seen[cid] = p
        if t == _BUTTON:
            style = c.get("style")
            if style == 5 and not c.get("url"):
                errs.append(((*p, "url"), "BASE_TYPE_REQUIRED", "This field is required"))
            if style in (1, 2, 3, 4) and cid is None:
                errs.append(((*p, "custom_id"), "BASE_TYPE_REQUIRED", "This field is required"))
            label = c.get("label")
            if isinstance(label, str) and len(label) > MAX_BUTTON_LABEL:
                errs.append(((*p, "label"), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_BUTTON_LABEL} or fewer in length."))
            if style != 6 and not label and not c.get("emoji"):
                errs.append((p, "BUTTON_COMPONENT_LABEL_OR_EMOJI_REQUIRED", "A label or emoji is required"))
        if t == _STRING_SELECT:
            options = c.get("options") or []
            if not isinstance(options, list) or not (1 <= len(options) <= MAX_SELECT_OPTIONS):
                errs.append(
                    ((*p, "options"), "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_SELECT_OPTIONS} in length.")
                )
            values: set[str] = set()
            for j, o in enumerate(options if isinstance(options, list) else []):
                if not isinstance(o, dict):
                    continue
                for key in ("label", "value", "description"):
                    v = o.get(key)
                    if isinstance(v, str) and len(v) > MAX_SELECT_OPTION_TEXT:
                        errs.append(
                            ((*p, "options", j, key), "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
                        )
                if o.get("value") in values:
                    errs.append(
                        (
                            (*p, "options", j, "value"),
                            "SELECT_COMPONENT_OPTION_VALUE_DUPLICATED",
                            "Select option values must be unique",
                        )
                    )
                values.add(o.get("value"))
            max_values = c.get("max_values", 1)
            if isinstance(options, list) and isinstance(max_values, int) and max_values > len(options):
                errs.append(
                    ((*p, "max_values"), "BASE_TYPE_MAX", f"int value should be less than or equal to {len(options)}.")
                )
    return errs


def check_message_body(
    body: dict[str, Any], *, create: bool, files: int = 0, prefix: tuple[str | int, ...] = ()
) -> list[FieldError]:
    """Limits of a message body (channel message, webhook/followup, interaction response data)."""
    errs: list[FieldError] = []
    content = body.get("content")
    if isinstance(content, str) and len(content) > MAX_CONTENT:
        errs.append(((*prefix, "content"), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length."))
    errs += check_embeds(body.get("embeds"), prefix)
    flags = body.get("flags") or 0
    try:
        flags = int(flags)
    except (TypeError, ValueError):
        flags = 0
    v2 = bool(flags & MESSAGE_FLAG_IS_COMPONENTS_V2)
    errs += check_components(body.get("components"), prefix, v2=v2)
    if v2:
        errs += check_v2_layout(body, prefix)
    elif "flags" in body or create:
        # An edit without flags keeps the message's own; the edit route checks those against the stored message.
        errs += check_legacy_layout(body.get("components"), prefix)
    return errs


# https://discord.com/developers/docs/components/reference ("Components V2"): a message with IS_COMPONENTS_V2
# holds up to 40 components in all (nested ones count), up to 4000 characters of Text Display across the
# message, and cannot use content, embeds, stickers or polls.
MAX_V2_COMPONENTS = 40
MAX_V2_TEXT = 4000
V2_ONLY_TYPES = {9, 10, 11, 12, 13, 14, 17}
LEGACY_FIELDS = ("content", "embeds", "sticker_ids", "poll")


def check_v2_layout(body: dict[str, Any], prefix: tuple[str | int, ...] = ()) -> list[FieldError]:
    errs: list[FieldError] = []
    for key in LEGACY_FIELDS:
        value = body.get(key)
        if value not in (None, "", []):
            errs.append(
                (
                    (*prefix, key),
                    "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                    f"The '{key}' field cannot be used when using MessageFlags.IS_COMPONENTS_V2",
                )
            )
    components = body.get("components") or []
    every = [c for _, c in _walk_components(components, ())]
    if len(every) > MAX_V2_COMPONENTS:
        errs.append(
            ((*prefix, "components"), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_V2_COMPONENTS} or fewer in length.")
        )
    text = sum(len(str(c.get("content") or "")) for c in every if c.get("type") == 10)
    if text > MAX_V2_TEXT:
        errs.append(
            (
                (*prefix, "components"),
                "MAX_COMPONENT_TEXT_LENGTH_EXCEEDED",
                f"Text Display content must be {MAX_V2_TEXT} or fewer in length across the message.",
            )
        )
    return errs


def check_legacy_layout(components: Any, prefix: tuple[str | int, ...] = ()) -> list[FieldError]:
    """Without IS_COMPONENTS_V2 only action rows may be sent at the top level."""
    if not isinstance(components, list):
        return []
    return [
        ((*prefix, "components", i, "type"), "COMPONENT_LAYOUT_V2_FLAG_REQUIRED", "Value must be one of (1,).")
        for i, c in enumerate(components)
        if isinstance(c, dict) and c.get("type") != 1
    ]


def check_v2_edit(stored_flags: int, stored: dict[str, Any], body: dict[str, Any]) -> list[FieldError]:
    """An edit of a message: the V2 flag cannot be taken off, and a V2 message keeps no legacy fields."""
    errs: list[FieldError] = []
    was_v2 = bool(stored_flags & MESSAGE_FLAG_IS_COMPONENTS_V2)
    flags = body.get("flags")
    will_be_v2 = was_v2 or bool(int(flags or 0) & MESSAGE_FLAG_IS_COMPONENTS_V2)
    if was_v2 and flags is not None and not int(flags) & MESSAGE_FLAG_IS_COMPONENTS_V2:
        errs.append((("flags",), "MESSAGE_CANNOT_REMOVE_COMPONENTS_V2_FLAG", "Cannot remove the IS_COMPONENTS_V2 flag"))
    if will_be_v2:
        merged = {key: body.get(key, stored.get(key)) for key in LEGACY_FIELDS}
        merged["components"] = body.get("components", stored.get("components"))
        errs += [e for e in check_v2_layout(merged) if e[0] and e[0][0] in LEGACY_FIELDS]
    else:
        errs += check_legacy_layout(body.get("components"))
    return errs


def message_is_empty(body: dict[str, Any], files: int = 0) -> bool:
    """https://discord.com/developers/docs/resources/message#create-message: "at least one of content,
    embeds, sticker_ids, components, files[n], or poll" (otherwise 50006 Cannot send an empty message)."""
    return not (
        (isinstance(body.get("content"), str) and body["content"].strip())
        or body.get("embeds")
        or body.get("sticker_ids")
        or body.get("components")
        or body.get("poll")
        or files
        or any(isinstance(a, dict) and "id" in a for a in body.get("attachments") or [])
    )


def check_modal(data: dict[str, Any], prefix: tuple[str | int, ...] = ("data",)) -> list[FieldError]:
    """Modal limits: title 1-45, 1-5 top-level components (action rows / labels), one text input per row."""
    errs: list[FieldError] = []
    title = data.get("title")
    if not isinstance(title, str) or not (1 <= len(title) <= MAX_MODAL_TITLE):
        errs.append(((*prefix, "title"), "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_MODAL_TITLE} in length."))
    comps = data.get("components") or []
    if not isinstance(comps, list) or not (1 <= len(comps) <= MAX_MODAL_COMPONENTS):
        errs.append(
            (
                (*prefix, "components"),
                "BASE_TYPE_BAD_LENGTH",
                f"Must be between 1 and {MAX_MODAL_COMPONENTS} in length.",
            )
        )
    for p, c in _walk_components(comps, (*prefix, "components")):
        if c.get("type") == _TEXT_INPUT:
            label = c.get("label")
            if isinstance(label, str) and len(label) > 45:
                errs.append(((*p, "label"), "BASE_TYPE_MAX_LENGTH", "Must be 45 or fewer in length."))
            mn, mx = c.get("min_length"), c.get("max_length")
            if isinstance(mn, int) and isinstance(mx, int) and mn > mx:
                errs.append(((*p, "min_length"), "BASE_TYPE_BAD_LENGTH", "min_length must be less than max_length"))
            value = c.get("value")
            if isinstance(value, str) and isinstance(mx, int) and len(value) > mx:
                errs.append(((*p, "value"), "BASE_TYPE_MAX_LENGTH", f"Must be {mx} or fewer in length."))
    errs += check_components(comps, prefix, v2=True)  # custom_id uniqueness and length
    return [e for e in errs if e[1] != "BASE_TYPE_MAX_LENGTH" or e[0][-1] != "components"]


# https://discord.com/developers/docs/interactions/application-commands#application-command-object-application-command-naming
# (CHAT_INPUT names: 1-32 chars, lowercase where a lowercase variant exists, letters/digits/-/_/')
_COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$", re.UNICODE)


def check_command(cmd: dict[str, Any], prefix: tuple[str | int, ...]) -> list[FieldError]:
    errs: list[FieldError] = []
    ctype = cmd.get("type", 1) or 1
    name = cmd.get("name")
    if isinstance(name, str):
        if ctype == 1 and (not _COMMAND_NAME.match(name) or name != name.lower()):
            errs.append(((*prefix, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"))
        elif not (1 <= len(name) <= 32):
            errs.append(((*prefix, "name"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length."))
    if ctype == 1:
        desc = cmd.get("description")
        if not isinstance(desc, str) or not (1 <= len(desc) <= 100):
            errs.append(((*prefix, "description"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."))
    errs += _check_options(cmd.get("options") or [], (*prefix, "options"))
    return errs


def _check_options(options: Any, prefix: tuple[str | int, ...]) -> list[FieldError]:
    errs: list[FieldError] = []
    if not isinstance(options, list):
        return errs
    if len(options) > 25:
        errs.append((prefix, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."))
    seen_optional = False
    names: set[str] = set()
    for i, o in enumerate(options):
        if not isinstance(o, dict):
            continue
        p = (*prefix, i)
        name = o.get("name")
        if isinstance(name, str) and (not _COMMAND_NAME.match(name) or name != name.lower()):
            errs.append(((*p, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"))
        if name in names:
            errs.append(
                ((*p, "name"), "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option names must be unique")
            )
        names.add(name)
        desc = o.get("description")
        if not isinstance(desc, str) or not (1 <= len(desc) <= 100):
            errs.append(((*p, "description"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."))
        if o.get("type") in (1, 2):
            errs += _check_options(o.get("options") or [], (*p, "options"))
            continue
        # "Required options must be listed before optional options"
        if o.get("required"):
            if seen_optional:
                errs.append(
                    (
                        (*p, "required"),
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    )
                )
        else:
            seen_optional = True
        choices = o.get("choices") or []
        if isinstance(choices, list) and len(choices) > 25:
            errs.append(((*p, "choices"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."))
        if choices and o.get("autocomplete"):
            errs.append(
                (
                    (*p, "autocomplete"),
                    "APPLICATION_COMMAND_AUTOCOMPLETE_CHOICES",
                    "Autocomplete cannot be used with choices",
                )
            )
    return errs


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def check_scheduled_event(body: dict[str, Any], *, create: bool, now: datetime | None = None) -> list[FieldError]:
    """https://discord.com/developers/docs/resources/guild-scheduled-event#create-guild-scheduled-event"""
    errs: list[FieldError] = []
    now = now or datetime.now(UTC)
    name = body.get("name")
    if (create or "name" in body) and (not isinstance(name, str) or not (1 <= len(name) <= MAX_EVENT_NAME)):
        errs.append((("name",), "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_EVENT_NAME} in length."))
    desc = body.get("description")
    if isinstance(desc, str) and len(desc) > MAX_EVENT_DESCRIPTION:
        errs.append((("description",), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_EVENT_DESCRIPTION} or fewer in length."))
    start = _parse_time(body.get("scheduled_start_time"))
    if "scheduled_start_time" in body:
        if start is None:
            errs.append((("scheduled_start_time",), "DATE_TIME_TYPE_PARSE", "Could not parse the date/time."))
        elif start <= now:
            errs.append(
                (
                    ("scheduled_start_time",),
                    "GUILD_SCHEDULED_EVENT_SCHEDULED_START_TIME_IN_PAST",
                    "Cannot schedule event in the past.",
                )
            )
    end = _parse_time(body.get("scheduled_end_time"))
    if start and end and end <= start:
        errs.append(
            (
                ("scheduled_end_time",),
                "GUILD_SCHEDULED_EVENT_END_BEFORE_START",
                "Cannot schedule event to end before starting.",
            )
        )
    # External events need a location and an end time (entity_type EXTERNAL field requirements table)
    if create and body.get("entity_type") == 3:
        meta = body.get("entity_metadata") or {}
        if not (isinstance(meta, dict) and meta.get("location")):
            errs.append((("entity_metadata", "location"), "BASE_TYPE_REQUIRED", "This field is required"))
        if not body.get("scheduled_end_time"):
            errs.append((("scheduled_end_time",), "BASE_TYPE_REQUIRED", "This field is required"))
    if create and body.get("entity_type") in (1, 2) and not body.get("channel_id"):
        errs.append((("channel_id",), "BASE_TYPE_REQUIRED", "This field is required"))
    rule = body.get("recurrence_rule")
    if isinstance(rule, dict):
        errs += check_recurrence_rule(rule)
    return errs


# https://discord.com/developers/docs/resources/guild-scheduled-event#guild-scheduled-event-recurrence-rule-object
# ("System limitations"): by_weekday only for DAILY/WEEKLY (WEEKLY: exactly one day, interval 1 or 2);
# by_n_weekday only for MONTHLY (one entry); by_month + by_month_day only for YEARLY (together, one each);
# by_year_day and count are set by the system and cannot be sent.
_DAILY, _WEEKLY, _MONTHLY, _YEARLY = 3, 2, 1, 0


def check_recurrence_rule(rule: dict[str, Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    p = ("recurrence_rule",)
    freq = rule.get("frequency")
    interval = rule.get("interval", 1) or 1
    if rule.get("start") is None:
        errs.append(((*p, "start"), "BASE_TYPE_REQUIRED", "This field is required"))
    if freq not in (0, 1, 2, 3):
        errs.append(((*p, "frequency"), "BASE_TYPE_CHOICES", "Value must be one of (0, 1, 2, 3)."))
        return errs
    by_weekday = rule.get("by_weekday")
    by_n_weekday = rule.get("by_n_weekday")
    by_month = rule.get("by_month")
    by_month_day = rule.get("by_month_day")
    if by_weekday and freq not in (_DAILY, _WEEKLY):
        errs.append(
            (
                (*p, "by_weekday"),
                "GUILD_SCHEDULED_EVENT_INVALID_RECURRENCE_RULE",
                "by_weekday is only valid for DAILY and WEEKLY",
            )
        )
    if freq == _WEEKLY:
        if not by_weekday or len(by_weekday) != 1:
            errs.append(
                (
                    (*p, "by_weekday"),
                    "GUILD_SCHEDULED_EVENT_INVALID_RECURRENCE_RULE",
                    "WEEKLY needs exactly one by_weekday",
                )
            )
        if interval not in (1, 2):
            errs.append(
                ((*p, "interval"), "GUILD_SCHEDULED_EVENT_INVALID_RECURRENCE_RULE", "WEEKLY interval must be 1 or 2")
            )
    elif interval != 1:
        errs.append(
            ((*p, "interval"), "GUILD_SCHEDULED_EVENT_INVALID_RECURRENCE_RULE", "interval must be 1 unless WEEKLY")
        )
    if by_n_weekday and (freq != _MONTHLY or len(by_n_weekday) != 1):
        errs.append(
            (
                (*p, "by_n_weekday"),
                "GUILD_SCHEDULED_EVENT_INVALID_RECURRENCE_RULE",
                "by_n_weekday is only valid for MONTHLY, with one entry",
            )
        )
    if freq == _MONTHLY and not by_n_weekday:
        errs.append(
            ((*p, "by_n_weekday"), "GUILD_SCHEDULED_EVENT_INVALID_RECURRENCE_RULE", "MONTHLY needs by_n_weekday")
        )
    if (by_month or by_month_day) and freq != _YEARLY:
        errs.append(
            (
                (*p, "by_month"),
                "GUILD_SCHEDULED_EVENT_INVALID_RECURRENCE_RULE",
                "by_month/by_month_day are only valid for YEARLY",
            )
        )
    if freq == _YEARLY and (not by_month or not by_month_day or len(by_month) != 1 or len(by_month_day) != 1):
        errs.append(
            (
                (*p, "by_month"),
                "GUILD_SCHEDULED_EVENT_INVALID_RECURRENCE_RULE",
                "YEARLY needs one by_month and one by_month_day",
            )
        )
    for key in ("by_year_day", "count"):
        if rule.get(key) is not None:
            errs.append(((*p, key), "GUILD_SCHEDULED_EVENT_INVALID_RECURRENCE_RULE", f"{key} cannot be set"))
    return errs


def check_role(body: dict[str, Any]) -> list[FieldError]:
    name = body.get("name")
    if isinstance(name, str) and len(name) > MAX_ROLE_NAME:
        return [(("name",), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_ROLE_NAME} or fewer in length.")]
    return []


# Route template -> hand-written checks (body, files count) -> errors.
Rule = Callable[[Any, int], list[FieldError]]


def _commands_rule(body: Any, files: int) -> list[FieldError]:
    errs: list[FieldError] = []
    if isinstance(body, list):
        names: set[tuple[int, str]] = set()
        for i, cmd in enumerate(body):
            if isinstance(cmd, dict):
                errs += check_command(cmd, (i,))
                key = (cmd.get("type", 1) or 1, cmd.get("name"))
                if key in names:
                    errs.append(
                        ((i, "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique")
                    )
                names.add(key)
    return errs


RULES: dict[tuple[str, str], Rule] = {
    ("POST", "/channels/{channel_id}/messages"): lambda b, f: check_message_body(b, create=True, files=f),
    ("PATCH", "/channels/{channel_id}/messages/{message_id}"): lambda b, f: check_message_body(
        b, create=False, files=f
    ),
    ("POST", "/webhooks/{webhook_id}/{webhook_token}"): lambda b, f: check_message_body(b, create=True, files=f),
    ("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/@original"): lambda b, f: check_message_body(
        b, create=False, files=f
    ),
    ("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"): lambda b, f: check_message_body(
        b, create=False, files=f
    ),
    ("POST", "/channels/{channel_id}/threads"): lambda b, f: (
        check_message_body(b["message"], create=True, files=f, prefix=("message",))
        if isinstance(b.get("message"), dict)
        else []
    ),
    ("POST", "/guilds/{guild_id}/scheduled-events"): lambda b, f: check_scheduled_event(b, create=True),
    ("PATCH", "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}"): lambda b, f: check_scheduled_event(
        b, create=False
    ),
    ("POST", "/guilds/{guild_id}/roles"): lambda b, f: check_role(b),
    ("PATCH", "/guilds/{guild_id}/roles/{role_id}"): lambda b, f: check_role(b),
    ("PUT", "/applications/{application_id}/commands"): _commands_rule,
    ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands"): _commands_rule,
    ("POST", "/applications/{application_id}/commands"): lambda b, f: check_command(b, ()),
    ("POST", "/applications/{application_id}/guilds/{guild_id}/commands"): lambda b, f: check_command(b, ()),
}


def check_interaction_callback(body: dict[str, Any], files: int = 0) -> list[FieldError]:
    t = body.get("type")
    data = body.get("data")
    errs: list[FieldError] = []
    if t in (4, 7) and isinstance(data, dict):
        errs += check_message_body(data, create=(t == 4), files=files, prefix=("data",))
    if t == 9 and isinstance(data, dict):
        errs += check_modal(data)
    if t == 8 and isinstance(data, dict):
        choices = data.get("choices") or []
        if len(choices) > 25:
            errs.append((("data", "choices"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."))
    return errs


RULES[("POST", "/interactions/{interaction_id}/{interaction_token}/callback")] = check_interaction_callback


def validate(
    method: str, template: str, body: Any, *, files: int = 0, content_type: str = "application/json"
) -> list[FieldError]:
    """All errors for a request body: the spec's schema first, then the hand-written rules.

    Remembered by the body's JSON text: the check is a pure function of the body, and a jsonschema pass over a
    card with components costs milliseconds, which the benchmarks (the fake shares the bot's process) charged to
    the bot every time a member got the same answer.
    """
    try:
        text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return _validate(method, template, body, files=files, content_type=content_type)
    return list(_validate_text(method, template, text, files, content_type))


@lru_cache(maxsize=4096)
def _validate_text(method: str, template: str, text: str, files: int, content_type: str) -> tuple[FieldError, ...]:
    return tuple(_validate(method, template, json.loads(text), files=files, content_type=content_type))


def _validate(method: str, template: str, body: Any, *, files: int, content_type: str) -> list[FieldError]:
    # hand-written rules first: where both flag a field (content > 4000), Discord's real limit wins
    errors: list[FieldError] = []
    rule = RULES.get((method.upper(), template))
    if rule is not None and isinstance(body, dict | list):
        # a malformed body the spec check reports anyway; the rule cannot run on it
        with contextlib.suppress(TypeError, AttributeError, KeyError):
            errors += rule(body, files)
    errors += validate_against_spec(method, template, body, content_type)
    # de-duplicate (the spec and a rule may both flag the same field)
    seen: set[tuple[tuple[str | int, ...], str]] = set()
    unique: list[FieldError] = []
    for path, code, message in errors:
        key = (tuple(str(p) for p in path), code if code != "BASE_TYPE_BAD_LENGTH" else "BASE_TYPE_MAX_LENGTH")
        if key in seen:
            continue
        seen.add(key)
        unique.append((path, code, message))
    return unique


@lru_cache(maxsize=1)
def warm() -> None:
    """Load the spec and compile the validators of the routes every test uses (optional)."""
    load_spec()
    for method, template in RULES:
        validator_for(method, template)
