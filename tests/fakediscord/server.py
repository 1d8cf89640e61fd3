"""The HTTP side: one aiohttp app serving REST v10 under /api/v10 and the gateway at /.

Every REST request goes through one pipeline (``handle_rest``), in this order:
route match (404 + ``unknown_routes``) -> auth (401) -> injected latency and slow routes -> injected failures
-> rate limits (headers; 429 when enforced) -> body parsing (JSON or multipart with
``payload_json``) -> validation (OpenAPI + hand rules, in a worker thread with ``check_bodies_in_thread``;
400/50035 + ``rejected_requests``) -> handler. Rate limits and the interaction deadline go by when a request reached
the rate-limit step, before its body was checked. Everything is recorded in ``fake.requests``; every non-2xx answer that was neither injected nor a
rate-limit 429, and every unknown route, also in ``fake.refusals`` (or ``fake.expected_refusals`` when the test
said it expects it with ``fake.expect_refusals``).

Handlers are registered with ``@route(METHOD, TEMPLATE)`` using the spec's own path templates,
so the validator finds the spec's schema for the route by the same key.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import validation

if TYPE_CHECKING:
    from .fake import FakeDiscord

API_PREFIX = "/api/v10"


class ApiError(Exception):
    """An error answer in Discord's shape: {"message", "code", "errors"?}."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            data["errors"] = self.errors
        return data


# https://discord.com/developers/docs/topics/opcodes-and-status-codes#json-json-error-codes
def unknown(kind: str) -> ApiError:
    codes = {
        "Channel": 10003, "Guild": 10004, "Member": 10007, "Message": 10008, "Role": 10011,
        "User": 10013, "Emoji": 10014, "Webhook": 10015, "interaction": 10062, "application command": 10063,
        "Guild Scheduled Event": 10070, "Application": 10002,
    }  # fmt: skip
    return ApiError(404, codes.get(kind, 0), f"Unknown {kind}")


def missing_permissions() -> ApiError:
    return ApiError(403, 50013, "Missing Permissions")


def form_error(errors: list[validation.FieldError]) -> ApiError:
    return ApiError(400, 50035, "Invalid Form Body", validation.nest_errors(errors))


@dataclass
class RecordedRequest:
    method: str
    path: str
    route: str | None
    json: Any
    query: dict[str, str]
    status: int
    headers: dict[str, str]
    time: float
    params: dict[str, str] = field(default_factory=dict)
    response: Any = None
    files: list[tuple[str, bytes]] = field(default_factory=list)
    error: dict[str, Any] | None = None
    response_headers: dict[str, str] = field(default_factory=dict)

    @property
    def body(self) -> Any:
        return self.json

    def __repr__(self) -> str:
        extra = f" error={json.dumps(self.error)[:300]}" if self.error else ""
        return f"<{self.method} {self.path} -> {self.status}{extra}>"


@dataclass
class Request:
    """What a handler gets."""

    fake: FakeDiscord
    method: str
    route: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    files: list[tuple[str, str, bytes, str | None]]  # (field name, filename, data, content type)
    headers: dict[str, str]
    authed: bool
    # When the request reached Discord (time.monotonic()): what its deadlines are judged by, not when a handler
    # got to it after the body was checked.
    received_at: float = 0.0

    def int_param(self, name: str, kind: str) -> int:
        raw = self.params[name]
        if not raw.isdigit():
            raise unknown(kind)
        return int(raw)


@dataclass
class Response:
    status: int = 200
    data: Any = None


Handler = Callable[[Request], Awaitable[Response | Any]]


@dataclass
class RouteDef:
    method: str
    template: str
    regex: re.Pattern[str]
    handler: Handler
    auth: bool  # needs "Authorization: Bot <token>" (webhook-token routes do not)
    major: str | None

    @property
    def params_count(self) -> int:
        return self.template.count("{")


ROUTES: list[RouteDef] = []


def route(method: str, template: str, *, auth: bool = True) -> Callable[[Handler], Handler]:
    pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
    major = next(
        (p for p in ("channel_id", "guild_id", "webhook_id", "interaction_id") if "{" + p + "}" in template), None
    )

    def deco(fn: Handler) -> Handler:
        ROUTES.append(RouteDef(method, template, re.compile(pattern), fn, auth, major))
        # literal segments (@me, @original) must win over {params}: fewer params first
        ROUTES.sort(key=lambda r: (r.params_count, -len(r.template)))
        return fn

    return deco


def match(method: str, path: str) -> tuple[RouteDef | None, dict[str, str], bool]:
    """(route, params, path_known). path_known is True when the path exists for another method."""
    path_known = False
    for r in ROUTES:
        m = r.regex.match(path)
        if m is None:
            continue
        if r.method != method:
            path_known = True
            continue
        return r, {k: urllib.parse.unquote(v) for k, v in m.groupdict().items()}, True
    return None, {}, path_known


def json_response(status: int, data: Any, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py parses JSON only when Content-Type is exactly "application/json" (no charset)
    hdrs = {"Content-Type": "application/json"}
    if headers:
        hdrs.update(headers)
    return web.Response(status=status, body=json.dumps(data).encode(), headers=hdrs)


async def _parse_body(request: web.Request) -> tuple[Any, list[tuple[str, str, bytes, str | None]], str]:
    ctype = request.content_type
    if ctype == "multipart/form-data":
        reader = await request.multipart()
        body: Any = None
        files: list[tuple[str, str, bytes, str | None]] = []
        form: dict[str, str] = {}
        while True:
            part = await reader.next()
            if part is None:
                break
            name = part.name or ""
            if part.filename is not None:
                data = await part.read(decode=False)
                files.append((name, part.filename, bytes(data), part.headers.get("Content-Type")))
            elif name == "payload_json":
                text = await part.text()
                try:
                    body = json.loads(text)
                except ValueError as exc:
                    raise ApiError(400, 50109, "The request body contains invalid JSON.") from exc
            else:
                form[name] = await part.text()
        if body is None and form:
            body = form
        return body, files, ctype
    raw = await request.read()
    if not raw:
        return None, [], ctype
    if ctype in ("application/json", "") or ctype.endswith("+json"):
        try:
            return json.loads(raw), [], "application/json"
        except ValueError as exc:
            raise ApiError(400, 50109, "The request body contains invalid JSON.") from exc
    if ctype == "application/x-www-form-urlencoded":
        return dict(urllib.parse.parse_qsl(raw.decode())), [], ctype
    return None, [], ctype


async def handle_rest(fake: FakeDiscord, request: web.Request) -> web.StreamResponse:
    started = time.monotonic()
    method = request.method
    raw_path = request.raw_path.split("?", 1)[0]
    path = raw_path[len(API_PREFIX) :] if raw_path.startswith(API_PREFIX) else raw_path
    # discord.py never sends a trailing slash; Discord treats "/x/" like "/x"
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    query = {k: v for k, v in request.query.items()}
    headers = {k: v for k, v in request.headers.items()}
    rec = RecordedRequest(method, path, None, None, query, 0, headers, started)

    def finish(
        resp: web.Response, data: Any = None, error: dict[str, Any] | None = None, *, asked_for: bool = False
    ) -> web.Response:
        """Record the answer. ``asked_for``: the test injected it, or it is Discord pacing a correct client (429)."""
        rec.status = resp.status
        rec.response = data
        rec.response_headers = {k: v for k, v in resp.headers.items()}
        rec.error = error
        fake.requests.append(rec)
        if resp.status == 400:
            fake.rejected_requests.append(rec)
        if not 200 <= resp.status < 300 and not asked_for:
            fake._record_refusal(rec)
        if resp.status == 429:
            fake.count_429 += 1
        fake._notify()
        return resp

    if not raw_path.startswith(API_PREFIX):
        fake.unknown_routes.append(rec)
        return finish(json_response(404, {"message": "404: Not Found", "code": 0}), error={"code": 0})

    rdef, params, path_known = match(method, path)
    if rdef is None:
        fake.unknown_routes.append(rec)
        if path_known:
            return finish(json_response(405, {"message": "405: Method Not Allowed", "code": 0}), error={"code": 0})
        return finish(json_response(404, {"message": "404: Not Found", "code": 0}), error={"code": 0})
    rec.route = rdef.template
    rec.params = params

    authed = request.headers.get("Authorization") == f"Bot {fake.token}"
    if rdef.auth and not authed:
        return finish(json_response(401, {"message": "401: Unauthorized", "code": 0}), error={"code": 0})

    if fake.latency:
        await asyncio.sleep(fake.latency)
    delay = fake._take_delay(method, path, rdef.template)
    if delay:
        await asyncio.sleep(delay)

    injected = fake._take_failure(method, path, rdef.template)
    if injected is not None:
        body = {"message": injected.message, "code": 0}
        return finish(json_response(injected.status, body), body, body, asked_for=True)

    major = params.get(rdef.major, "") if rdef.major else ""
    received_at = time.monotonic()
    decision = fake.ratelimiter.check(method, rdef.template, path, major)
    if not decision.allowed:
        body = {
            "message": "You are being rate limited.",
            "retry_after": round(decision.retry_after, 3),
            "global": decision.is_global,
        }
        if decision.is_global:
            body["code"] = 0
        return finish(json_response(429, body, decision.headers), body, body, asked_for=True)
    rl_headers = decision.headers

    try:
        body, files, ctype = await _parse_body(request)
        rec.json = body
        rec.files = [(f[1], f[2]) for f in files]
        if body is not None and method in ("POST", "PUT", "PATCH"):
            if fake.check_bodies_in_thread:
                # Off the event loop: checking a body against the spec takes tens of ms of CPU on a busy machine,
                # and meanwhile the loop must go on taking requests as they arrive, since the rate limits count
                # them then (a loop that fell behind counted a backlog the client had paced as one burst).
                errors = await asyncio.to_thread(
                    validation.validate, method, rdef.template, body, files=len(files), content_type=ctype
                )
            else:
                errors = validation.validate(method, rdef.template, body, files=len(files), content_type=ctype)
            if errors:
                raise form_error(errors)
        ctx = Request(fake, method, rdef.template, path, params, query, body, files, headers, authed, received_at)
        result = await rdef.handler(ctx)
    except ApiError as exc:
        data = exc.body()
        return finish(json_response(exc.status, data, rl_headers), data, data)

    if isinstance(result, Response):
        status, data = result.status, result.data
    else:
        status, data = 200, result
    if status == 204 or data is None:
        resp = web.Response(status=204, headers=rl_headers)
        return finish(resp, None)
    if fake.check_responses:
        for problem in validation.validate_response(method, rdef.template, status, data):
            fake.response_violations.append((method, rdef.template, problem))
    return finish(json_response(status, data, rl_headers), data)


def build_app(fake: FakeDiscord) -> web.Application:
    # importing the handler modules registers their routes
    from . import interactions, rest_channels, rest_guilds, rest_misc  # noqa: F401

    app = web.Application(client_max_size=64 * 1024 * 1024)

    async def gateway(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await fake.gateway.handle(request)
        return await handle_rest(fake, request)

    async def rest(request: web.Request) -> web.StreamResponse:
        return await handle_rest(fake, request)

    async def cdn(request: web.Request) -> web.StreamResponse:
        # Files members attach to command options, fetched by the bot as it would from Discord's CDN.
        found = fake.uploads.get(int(request.match_info["attachment_id"]))
        if found is None or found.filename != request.match_info["filename"]:
            return web.Response(status=404)
        return web.Response(body=found.data, content_type=found.content_type or "application/octet-stream")

    app.router.add_route("GET", "/", gateway)
    app.router.add_route("GET", "/attachments/{channel_id}/{attachment_id:[0-9]+}/{filename}", cdn)
    app.router.add_route("*", "/{tail:.*}", rest)
    return app
