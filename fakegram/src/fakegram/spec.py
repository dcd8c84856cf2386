"""The official Bot API spec (``bot-api-10.1.json``) and a validator driven by it.

Every call the bot makes is checked against the method's field list: required
fields, unknown fields, and the type of each value, recursively into object
types (``InlineKeyboardMarkup`` -> buttons -> ...).  Values arriving as strings
(form data, query strings) are coerced the way Telegram does: ``"42"`` is an
Integer, ``"true"`` a Boolean, a JSON string an object or array.  A handful of
rules the JSON cannot express (callback_data length, BotCommand syntax, exactly
one action per inline button, ...) are added as small hooks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from .objects import UploadedFile

__all__ = ["SPEC_FILE", "BotApiSpec", "FieldSpec", "MethodSpec", "ObjectSpec", "load_spec"]

SPEC_FILE = "bot-api-10.1.json"
# Object nesting validated before values are accepted as-is (arrays do not count).
MAX_DEPTH = 8
_INTEGER = re.compile(r"^-?\d+$")
_DISCRIMINATOR = re.compile(r"(?:must be|always) [\"“]?([A-Za-z0-9_]+)")
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_PARSE_MODES = frozenset({"", "html", "markdown", "markdownv2"})
# InlineKeyboardButton fields that are not the button's action.
_BUTTON_DECORATION = frozenset({"text", "icon_custom_emoji_id", "style"})


class SpecViolation(ValueError):
    """A value does not match the spec; ``path`` says where (used to pick the best error)."""

    def __init__(self, message: str, path: str, *, weak: bool = False) -> None:
        super().__init__(message)
        self.path = path
        # A "wrong subtype" mismatch: reported only if no alternative got further.
        self.weak = weak


@dataclass(frozen=True)
class FieldSpec:
    """One field of a method or object type."""

    name: str
    types: tuple[str, ...]
    required: bool


@dataclass(frozen=True)
class MethodSpec:
    """A Bot API method: its fields and return types."""

    name: str
    fields: Mapping[str, FieldSpec]
    returns: tuple[str, ...]


@dataclass(frozen=True)
class ObjectSpec:
    """A Bot API type.  Abstract types have ``subtypes`` instead of fields."""

    name: str
    fields: Mapping[str, FieldSpec]
    subtypes: tuple[str, ...]
    discriminator: tuple[str, str] | None
    required: tuple[str, ...]


def _fields(raw: Iterable[Mapping[str, Any]]) -> dict[str, FieldSpec]:
    """Parse a spec field list."""
    return {f["name"]: FieldSpec(f["name"], tuple(f["types"]), bool(f["required"])) for f in raw}


def _discriminator(raw: Mapping[str, Any]) -> tuple[str, str] | None:
    """(field, value) that identifies a subtype, from a description like 'always "creator"'."""
    for f in raw.get("fields", [])[:2]:
        match = _DISCRIMINATOR.search(f.get("description", ""))
        if match:
            return f["name"], match.group(1)
    return None


def _describe(value: Any) -> str:
    """Short description of a value for error messages."""
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


class BotApiSpec:
    """Methods and types of one Bot API version, with a validator."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.version: str = str(data.get("version", ""))
        self.methods: dict[str, MethodSpec] = {
            name: MethodSpec(name, _fields(m.get("fields", [])), tuple(m.get("returns", [])))
            for name, m in data["methods"].items()
        }
        subtypes = {sub for t in data["types"].values() for sub in t.get("subtypes", [])}
        self.types: dict[str, ObjectSpec] = {
            name: ObjectSpec(
                name,
                _fields(t.get("fields", [])),
                tuple(t.get("subtypes", [])),
                _discriminator(t) if name in subtypes else None,
                tuple(f["name"] for f in t.get("fields", []) if f["required"]),
            )
            for name, t in data["types"].items()
        }
        self._by_lower = {name.lower(): name for name in self.methods}

    def resolve_method(self, name: str) -> MethodSpec | None:
        """Look a method up case-insensitively, as Telegram does."""
        canonical = self._by_lower.get(name.lower())
        return self.methods[canonical] if canonical else None

    def validate_params(
        self, method: MethodSpec, params: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[str]]:
        """Check and coerce a call's parameters; returns (decoded params, error messages)."""
        errors: list[str] = []
        decoded: dict[str, Any] = {}
        params = {name: value for name, value in params.items() if value is not None}
        for name, value in params.items():
            spec = method.fields.get(name)
            if spec is None:
                errors.append(f"unknown field '{name}'")
                continue
            try:
                decoded[name] = self.coerce(value, spec.types, name, 0)
                _check_field_hook(name, decoded[name], name)
            except SpecViolation as exc:
                errors.append(str(exc))
        errors.extend(
            f"missing required field '{spec.name}'"
            for spec in method.fields.values()
            if spec.required and spec.name not in params
        )
        if not errors:
            hook = _METHOD_HOOKS.get(method.name)
            if hook is not None:
                errors.extend(hook(decoded))
        return decoded, errors

    def validate_object(self, value: Any, type_expr: str) -> list[str]:
        """Errors of ``value`` as an instance of ``type_expr`` (used to self-check responses)."""
        try:
            self.coerce(value, (type_expr,), type_expr, 0)
        except SpecViolation as exc:
            return [str(exc)]
        return []

    def coerce(self, value: Any, types: tuple[str, ...], path: str, depth: int) -> Any:
        """Coerce ``value`` to the first matching alternative of ``types`` or raise."""
        if len(types) == 1:
            return self._coerce_one(value, types[0], path, depth)
        failures: list[SpecViolation] = []
        for type_expr in types:
            try:
                return self._coerce_one(value, type_expr, path, depth)
            except SpecViolation as exc:
                failures.append(exc)
        relevant = [exc for exc in failures if not exc.weak] or failures
        deepest = max(relevant, key=lambda exc: len(exc.path))
        if deepest.path != path:
            raise deepest
        raise SpecViolation(
            f"field '{path}' must be {' or '.join(types)}, got {_describe(value)}", path
        )

    def _coerce_one(self, value: Any, type_expr: str, path: str, depth: int) -> Any:
        """Coerce ``value`` to one type expression ("Integer", "Array of X", "Message")."""
        if type_expr.startswith("Array of "):
            return self._coerce_array(value, type_expr[len("Array of ") :], path, depth)
        scalar = _SCALARS.get(type_expr)
        if scalar is not None:
            result = scalar(value)
            if result is _INVALID:
                raise SpecViolation(
                    f"field '{path}' must be {type_expr}, got {_describe(value)}", path
                )
            return result
        spec = self.types.get(type_expr)
        if spec is None:
            return value
        return self._coerce_object(value, spec, path, depth)

    def _coerce_array(self, value: Any, item_type: str, path: str, depth: int) -> list[Any]:
        """Coerce a list (or a JSON string holding one)."""
        value = _maybe_json(value)
        if not isinstance(value, list):
            raise SpecViolation(
                f"field '{path}' must be Array of {item_type}, got {_describe(value)}", path
            )
        return [
            self._coerce_one(item, item_type, f"{path}[{index}]", depth)
            for index, item in enumerate(value)
        ]

    def _coerce_object(self, value: Any, spec: ObjectSpec, path: str, depth: int) -> Any:
        """Coerce a dict (or a JSON string holding one) to an object type."""
        value = _maybe_json(value)
        if not isinstance(value, dict):
            raise SpecViolation(
                f"field '{path}' must be a {spec.name} object, got {_describe(value)}", path
            )
        if depth >= MAX_DEPTH:
            return value
        if spec.subtypes:
            return self._coerce_subtype(value, spec, path, depth)
        fields = spec.fields
        if fields and not fields.keys() >= value.keys():
            unknown = sorted(value.keys() - fields.keys())[0]
            raise SpecViolation(
                f"field '{path}' has unknown field '{unknown}' for {spec.name}", path
            )
        if spec.discriminator is not None:
            key, expected = spec.discriminator
            if key in value and value[key] != expected:
                raise SpecViolation(
                    f"field '{path}.{key}' must be {expected!r} for {spec.name}, "
                    f"got {_describe(value[key])}",
                    f"{path}.{key}",
                    weak=True,
                )
        for name in spec.required:
            if name not in value:
                raise SpecViolation(
                    f"field '{path}' misses required field '{name}' of {spec.name}", path
                )
        decoded: dict[str, Any] = {}
        for key, item in value.items():
            field = fields.get(key)
            decoded[key] = (
                item
                if field is None
                else self.coerce(item, field.types, f"{path}.{key}", depth + 1)
            )
        if "parse_mode" in decoded:
            _check_field_hook("parse_mode", decoded["parse_mode"], f"{path}.parse_mode")
        hook = _TYPE_HOOKS.get(spec.name)
        if hook is not None:
            problem = hook(decoded)
            if problem:
                raise SpecViolation(f"field '{path}': {problem}", path + ".")
        return decoded

    def _coerce_subtype(
        self, value: dict[str, Any], spec: ObjectSpec, path: str, depth: int
    ) -> Any:
        """Dispatch an abstract type (BotCommandScope, InputMedia...) to its concrete subtype."""
        candidates = [self.types.get(name) for name in spec.subtypes]
        discriminators = [c.discriminator if c else None for c in candidates]
        if all(discriminators) and len({d[0] for d in discriminators if d}) == 1:
            key = discriminators[0][0] if discriminators[0] else ""
            for candidate, disc in zip(candidates, discriminators, strict=True):
                if candidate is not None and disc is not None and value.get(key) == disc[1]:
                    return self._coerce_object(value, candidate, path, depth)
            allowed = ", ".join(repr(d[1]) for d in discriminators if d)
            raise SpecViolation(
                f"field '{path}.{key}' must be one of {allowed} for {spec.name}, "
                f"got {_describe(value.get(key))}",
                f"{path}.{key}",
            )
        return self.coerce(value, spec.subtypes, path, depth)


_INVALID = object()


def _maybe_json(value: Any) -> Any:
    """Decode a JSON-serialized object/array sent as a string (form data does that)."""
    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _as_integer(value: Any) -> Any:
    """Integer: an int, or a decimal string."""
    if isinstance(value, bool):
        return _INVALID
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.match(value.strip()):
        return int(value)
    return _INVALID


def _as_float(value: Any) -> Any:
    """Float: an int/float, or a numeric string."""
    if isinstance(value, bool):
        return _INVALID
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return _INVALID
        return number if number == number and abs(number) != float("inf") else _INVALID
    return _INVALID


def _as_string(value: Any) -> Any:
    """String: a str."""
    return value if isinstance(value, str) else _INVALID


def _as_boolean(value: Any) -> Any:
    """Boolean: a bool, 0/1, or "true"/"false" (any case) as form data sends it."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
    return _INVALID


def _as_input_file(value: Any) -> Any:
    """InputFile: a multipart file part."""
    return value if isinstance(value, UploadedFile) else _INVALID


_SCALARS: dict[str, Callable[[Any], Any]] = {
    "Integer": _as_integer,
    "Int": _as_integer,
    "Float": _as_float,
    "Float number": _as_float,
    "String": _as_string,
    "Boolean": _as_boolean,
    "True": _as_boolean,
    "False": _as_boolean,
    "InputFile": _as_input_file,
}


def _check_field_hook(name: str, value: Any, path: str) -> None:
    """Rules tied to a field name wherever it appears (parse_mode values)."""
    if name == "parse_mode" and isinstance(value, str) and value.lower() not in _PARSE_MODES:
        raise SpecViolation(
            f"field '{path}' must be HTML, MarkdownV2 or Markdown, got {value!r}", path + "."
        )


def _check_button(button: Mapping[str, Any]) -> str | None:
    """InlineKeyboardButton: exactly one action; callback_data of 1-64 bytes."""
    actions = sorted(set(button) - _BUTTON_DECORATION)
    if len(actions) != 1:
        label = button.get("text")
        if not actions:
            return f"inline button {label!r} needs exactly one action (callback_data, url, ...)"
        return f"inline button {label!r} has several actions {actions}; exactly one is allowed"
    data = button.get("callback_data")
    if data is not None:
        size = len(str(data).encode("utf-8"))
        if not 1 <= size <= 64:
            return f"callback_data of button {button.get('text')!r} is {size} bytes, must be 1-64"
    return None


def _check_command(command: Mapping[str, Any]) -> str | None:
    """BotCommand: command 1-32 chars of [a-z0-9_], description 1-256 chars."""
    name = str(command.get("command", ""))
    if not _COMMAND.match(name):
        return f"command {name!r} must be 1-32 characters of lowercase letters, digits, _"
    description = str(command.get("description", ""))
    if not 1 <= len(description) <= 256:
        return f"description of command {name!r} must be 1-256 characters"
    return None


def _check_force_reply(markup: Mapping[str, Any]) -> str | None:
    """ForceReply: force_reply must be True."""
    return None if markup.get("force_reply") is True else "force_reply must be true"


def _check_remove_keyboard(markup: Mapping[str, Any]) -> str | None:
    """ReplyKeyboardRemove: remove_keyboard must be True."""
    return None if markup.get("remove_keyboard") is True else "remove_keyboard must be true"


_TYPE_HOOKS: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    "InlineKeyboardButton": _check_button,
    "BotCommand": _check_command,
    "ForceReply": _check_force_reply,
    "ReplyKeyboardRemove": _check_remove_keyboard,
}


def _check_set_my_commands(params: Mapping[str, Any]) -> list[str]:
    """setMyCommands: at most 100 commands, no duplicates."""
    commands = params.get("commands") or []
    names = [str(c.get("command")) for c in commands if isinstance(c, dict)]
    errors = [] if len(commands) <= 100 else ["at most 100 commands can be specified"]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        errors.append(f"duplicate commands {duplicates}")
    return errors


def _check_delete_messages(params: Mapping[str, Any]) -> list[str]:
    """deleteMessages: 1-100 message identifiers."""
    count = len(params.get("message_ids") or [])
    return [] if 1 <= count <= 100 else [f"message_ids must hold 1-100 ids, got {count}"]


def _check_edit_target(params: Mapping[str, Any]) -> list[str]:
    """edit*: chat_id + message_id, or inline_message_id."""
    if "inline_message_id" in params or ("chat_id" in params and "message_id" in params):
        return []
    return ["chat_id and message_id (or inline_message_id) are required"]


_METHOD_HOOKS: dict[str, Callable[[Mapping[str, Any]], list[str]]] = {
    "setMyCommands": _check_set_my_commands,
    "deleteMessages": _check_delete_messages,
    "editMessageText": _check_edit_target,
    "editMessageCaption": _check_edit_target,
    "editMessageReplyMarkup": _check_edit_target,
    "editMessageMedia": _check_edit_target,
}


@cache
def load_spec() -> BotApiSpec:
    """Load the bundled spec once per process."""
    text = resources.files(__package__).joinpath(SPEC_FILE).read_text(encoding="utf-8")
    return BotApiSpec(json.loads(text))
