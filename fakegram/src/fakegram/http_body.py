"""Read Bot API request parameters the four ways Telegram accepts them.

Query string, ``application/json``, ``application/x-www-form-urlencoded`` and
``multipart/form-data`` (python-telegram-bot uses form-urlencoded normally and
multipart when it uploads files).  File parts become :class:`UploadedFile`.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import BodyPartReader, web

from .objects import UploadedFile

__all__ = ["BodyError", "read_params"]


class BodyError(ValueError):
    """The request body cannot be decoded."""


async def read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Parameters (query string merged with body, body wins) and uploaded files by part name."""
    params: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if not request.body_exists:
        return params, files
    content_type = request.content_type
    if content_type == "application/json":
        params.update(await _read_json(request))
    elif content_type == "multipart/form-data":
        await _read_multipart(request, params, files)
    elif content_type == "application/x-www-form-urlencoded":
        params.update(await request.post())
    else:
        body = await request.read()
        if body.strip():
            raise BodyError(f"unsupported Content-Type {content_type!r}")
    return params, files


async def _read_json(request: web.Request) -> dict[str, Any]:
    """A JSON object body (empty body = no parameters)."""
    body = await request.read()
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise BodyError(f"request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BodyError("JSON request body must be an object")
    return data


async def _read_multipart(
    request: web.Request, params: dict[str, Any], files: dict[str, UploadedFile]
) -> None:
    """Split a multipart body into string fields and file parts."""
    reader = await request.multipart()
    while True:
        part = await reader.next()
        if part is None:
            return
        if not isinstance(part, BodyPartReader) or part.name is None:
            raise BodyError("unsupported nested or unnamed multipart part")
        if part.filename is not None:
            data = bytes(await part.read())
            files[part.name] = UploadedFile(
                part.name, part.filename, part.headers.get("Content-Type"), data
            )
        else:
            params[part.name] = await part.text()
