"""REST: gateway discovery, the bot user, the application, application commands.

https://discord.com/developers/docs/events/gateway#get-gateway-bot,
.../resources/application, .../interactions/application-commands
"""

from __future__ import annotations

from typing import Any

from .server import Request, Response, route, unknown


@route("GET", "/gateway", auth=False)
async def gateway(ctx: Request) -> Any:
    return {"url": ctx.fake.gateway_url.rstrip("/")}


@route("GET", "/gateway/bot")
async def gateway_bot(ctx: Request) -> Any:
    fake = ctx.fake
    return {
        "url": fake.gateway_url.rstrip("/"),
        "shards": fake.recommended_shards,
        "session_start_limit": {
            "total": 1000,
            "remaining": 1000 - fake.gateway.identify_count,
            "reset_after": 86_400_000,
            "max_concurrency": 1,
        },
    }


@route("GET", "/users/@me")
async def me(ctx: Request) -> Any:
    return {**ctx.fake.bot_user.to_json(), "verified": True, "mfa_enabled": False, "locale": "en-US", "email": None}


@route("GET", "/users/{user_id}")
async def user_get(ctx: Request) -> Any:
    raw = ctx.params["user_id"]
    user = ctx.fake._users.get(int(raw)) if raw.isdigit() else None
    if user is None:
        raise unknown("User")
    return user.to_json()


@route("GET", "/users/@me/guilds")
async def my_guilds(ctx: Request) -> Any:
    return [
        {
            "id": str(g.id),
            "name": g.name,
            "icon": None,
            "banner": None,
            "owner": False,
            "permissions": str(g.permissions_for(g.me)),
            "features": g.features,
        }
        for g in ctx.fake.guilds
    ]


def _application(ctx: Request) -> dict[str, Any]:
    fake = ctx.fake
    owner = next(iter(g.owner.user for g in fake.guilds), None) if fake.guilds else None
    return {
        "id": str(fake.application_id),
        "name": fake.bot_user.name,
        "icon": None,
        "description": "",
        "summary": "",
        "type": None,
        "bot_public": True,
        "bot_require_code_grant": False,
        "verify_key": "0" * 64,
        "flags": fake.application_flags,
        "flags_new": str(fake.application_flags),
        "role_connections_verification_url": None,
        "explicit_content_filter": 0,
        "eligible_oauth2_scopes": ["bot", "applications.commands"],
        "approximate_user_install_count": 0,
        "approximate_user_authorization_count": 0,
        "owner": (owner or fake.bot_user).to_json(),
        "team": None,
        "bot": fake.bot_user.to_json(),
        "hook": True,
        "is_monetized": False,
        "integration_types_config": {"0": {}},
        "approximate_guild_count": len(fake.guilds),
        "interactions_endpoint_url": None,
        "redirect_uris": [],
        "tags": [],
    }


@route("GET", "/oauth2/applications/@me")
async def oauth_app(ctx: Request) -> Any:
    return _application(ctx)


@route("GET", "/applications/@me")
async def app_me(ctx: Request) -> Any:
    return _application(ctx)


@route("PATCH", "/applications/@me")
async def app_edit(ctx: Request) -> Any:
    return _application(ctx)


# ---- application commands --------------------------------------------------------------------


def _app_check(ctx: Request) -> None:
    if ctx.params.get("application_id") != str(ctx.fake.application_id):
        raise unknown("Application")


def _store(ctx: Request) -> tuple[list[dict[str, Any]], int | None]:
    fake = ctx.fake
    gid_raw = ctx.params.get("guild_id")
    if gid_raw is None:
        return fake._global_commands, None
    if not gid_raw.isdigit() or int(gid_raw) not in fake._guilds:
        # syncing to a guild the bot is not in answers 403 Missing Access
        from .server import ApiError

        raise ApiError(403, 50001, "Missing Access")
    return fake._guild_commands.setdefault(int(gid_raw), []), int(gid_raw)


def _normalise(
    ctx: Request, cmd: dict[str, Any], guild_id: int | None, existing: dict[str, Any] | None
) -> dict[str, Any]:
    fake = ctx.fake
    ctype = cmd.get("type") or 1
    out: dict[str, Any] = {
        "id": existing["id"] if existing else str(fake._ids.next()),
        "application_id": str(fake.application_id),
        "version": str(fake._ids.next()),
        "type": ctype,
        "name": cmd["name"],
        "name_localizations": cmd.get("name_localizations") or None,
        "description": cmd.get("description") or "" if ctype == 1 else "",
        "description_localizations": cmd.get("description_localizations") or None,
        "default_member_permissions": (
            str(cmd["default_member_permissions"]) if cmd.get("default_member_permissions") is not None else None
        ),
        "nsfw": bool(cmd.get("nsfw", False)),
        "options": cmd.get("options") or [],
    }
    if guild_id is not None:
        out["guild_id"] = str(guild_id)
    else:
        out["dm_permission"] = cmd.get("dm_permission", True) if cmd.get("dm_permission") is not None else True
        out["contexts"] = cmd.get("contexts")
        out["integration_types"] = cmd.get("integration_types") or [0]
    return out


@route("GET", "/applications/{application_id}/commands")
@route("GET", "/applications/{application_id}/guilds/{guild_id}/commands")
async def commands_list(ctx: Request) -> Any:
    _app_check(ctx)
    store, _ = _store(ctx)
    return list(store)


@route("PUT", "/applications/{application_id}/commands")
@route("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")
async def commands_bulk(ctx: Request) -> Any:
    _app_check(ctx)
    store, gid = _store(ctx)
    body = ctx.body or []
    old = {(c["type"], c["name"]): c for c in store}
    new = [_normalise(ctx, c, gid, old.get((c.get("type") or 1, c["name"]))) for c in body]
    store[:] = new
    ctx.fake._notify()
    return new


@route("POST", "/applications/{application_id}/commands")
@route("POST", "/applications/{application_id}/guilds/{guild_id}/commands")
async def command_create(ctx: Request) -> Any:
    _app_check(ctx)
    store, gid = _store(ctx)
    body = ctx.body or {}
    key = (body.get("type") or 1, body["name"])
    existing = next((c for c in store if (c["type"], c["name"]) == key), None)
    cmd = _normalise(ctx, body, gid, existing)
    if existing is not None:
        store[store.index(existing)] = cmd
        ctx.fake._notify()
        return cmd
    store.append(cmd)
    ctx.fake._notify()
    return Response(201, cmd)


def _find(ctx: Request) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    store, _ = _store(ctx)
    cid = ctx.params["command_id"]
    cmd = next((c for c in store if c["id"] == cid), None)
    if cmd is None:
        raise unknown("application command")
    return store, cmd


@route("GET", "/applications/{application_id}/commands/{command_id}")
@route("GET", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}")
async def command_get(ctx: Request) -> Any:
    _app_check(ctx)
    return _find(ctx)[1]


@route("PATCH", "/applications/{application_id}/commands/{command_id}")
@route("PATCH", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}")
async def command_edit(ctx: Request) -> Any:
    _app_check(ctx)
    store, cmd = _find(ctx)
    merged = {**cmd, **(ctx.body or {})}
    new = _normalise(ctx, merged, int(ctx.params["guild_id"]) if "guild_id" in ctx.params else None, cmd)
    store[store.index(cmd)] = new
    ctx.fake._notify()
    return new


@route("DELETE", "/applications/{application_id}/commands/{command_id}")
@route("DELETE", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}")
async def command_delete(ctx: Request) -> Any:
    _app_check(ctx)
    store, cmd = _find(ctx)
    store.remove(cmd)
    ctx.fake._notify()
    return Response(204)


@route("GET", "/applications/{application_id}/guilds/{guild_id}/commands/permissions")
async def command_permissions(ctx: Request) -> Any:
    _app_check(ctx)
    return []
