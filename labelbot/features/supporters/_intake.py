"""Proof of purchase from a shop or relay: `POST /hooks/purchases`, signed like every webhook (labelbot/web/hooks.py).

The body names the order (`order_id`, the sender's id: deliveries are idempotent by it), its `kind`, the `perk` it
earns and, when the shop collected it, the buyer's Discord `user_id`. With a member the perk is granted at once;
without one the answer carries a single-use `claim_code` for the buyer to type into /claim. A later delivery of the
same order with kind `refund` takes back what the order granted. Nothing else about the buyer is accepted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.db.base import utcnow
from labelbot.features.supporters import _parsing as parsing
from labelbot.features.supporters import _repository as repository
from labelbot.features.supporters import _service as service
from labelbot.models.supporters import ClaimCode, EarnedBy, OrderKind, SupporterOrder, SupporterPerk
from labelbot.web.hooks import Delivery, HookRejected
from labelbot.web.requests import parse_snowflake

if TYPE_CHECKING:
    from labelbot.client import LabelBot

HOOK = "purchases"
CLAIM_CODE = "claim_code"


class PurchaseBody(BaseModel):
    """What a shop posts; no names, emails or addresses (extra fields are refused, so none slip in)."""

    model_config = ConfigDict(extra="forbid")

    order_id: str | int
    kind: OrderKind
    perk: str | None = Field(default=None, max_length=200)
    user_id: str | int | None = None

    @field_validator("user_id")
    @classmethod
    def _snowflake(cls, value: str | int | None) -> str | int | None:
        if value is not None and parse_snowflake(str(value)) is None:
            raise ValueError("must be a Discord user id")
        return value


def _result(perk: SupporterPerk, order: SupporterOrder, user_id: int | None, code: str | None) -> dict[str, Any]:
    result: dict[str, Any] = {"perk": perk.name, "kind": order.kind}
    if order.refunded_at is not None:
        result["refunded"] = True
    if user_id is not None:
        result["user_id"] = str(user_id)
    if code is not None:
        result[CLAIM_CODE] = code
    return result


def intake(bot: LabelBot) -> Any:
    """The handler the webhook registry calls for `POST /hooks/purchases`."""

    async def receive(session: AsyncSession, delivery: Delivery) -> dict[str, Any]:
        try:
            body = PurchaseBody.model_validate(delivery.body)
        except ValidationError as error:
            raise HookRejected.from_validation(error) from None
        guild_id, order_id, now = delivery.guild_id, delivery.external_id, utcnow()
        order = await repository.order(session, guild_id, order_id)
        if body.kind is OrderKind.REFUND:
            if order is None:
                raise HookRejected([f"order_id: there is no order {order_id!r} to refund"])
            perk = await session.get(SupporterPerk, order.perk_id)
            assert perk is not None
            await service.refund(bot, session, order, now)
            grant = await repository.grant_of_order(session, order.id)
            return _result(perk, order, grant.user_id if grant else None, None)

        if body.perk is None:
            raise HookRejected(["perk: name the perk this order earns"])
        perk = await repository.perk_by_name(session, guild_id, body.perk)
        if perk is None:
            raise HookRejected([f"perk: there is no supporter perk called {body.perk!r} in this server"])
        if EarnedBy(perk.earned_by) not in service.EARNED_BY_ORDER[body.kind]:
            words = service.EARNED_BY_WORDS[perk.earned_by]
            raise HookRejected([f"kind: the perk {perk.name!r} is earned by {words}, not a {body.kind.value}"])
        user_id = parse_snowflake(str(body.user_id)) if body.user_id is not None else None

        if order is not None:
            if order.refunded_at is not None:
                raise HookRejected([f"order_id: order {order_id!r} was refunded; send a new order under a new id"])
            if order.perk_id != perk.id:
                raise HookRejected(["perk: an order's perk can't change; send it under a new id"])
        else:
            order = SupporterOrder(guild_id=guild_id, order_id=order_id, kind=body.kind.value, perk_id=perk.id)
            session.add(order)
            await session.flush()

        grant = await repository.grant_of_order(session, order.id)
        if grant is not None:
            return _result(perk, order, grant.user_id, None)
        if user_id is not None:
            # Its unclaimed code (an earlier delivery named nobody) is void once the order names its buyer.
            await service.void_order_codes(session, order, now)
            await service.give(bot, session, perk, user_id, now, order=order)
            return _result(perk, order, user_id, None)
        code = parsing.order_code(await repository.code_key(session, guild_id), guild_id, order_id)
        digest = parsing.hash_of(code)
        if await repository.code_by_hash(session, guild_id, digest) is None:
            session.add(
                ClaimCode(
                    guild_id=guild_id,
                    perk_id=perk.id,
                    code_sha256=digest,
                    order_row_id=order.id,
                    created_by=bot.user.id if bot.user else 0,
                )
            )
            await session.flush()
        return _result(perk, order, None, code)

    return receive
