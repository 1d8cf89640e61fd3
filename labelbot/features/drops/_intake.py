"""Stock from the shop: `POST /hooks/drops`, signed like every webhook (labelbot/web/hooks.py), edits a drop's posts.

The body is `{"id": "<the shop's update id>", "drop": <drop number>, "stock": "40 left", "sold_out": false}`;
deliveries are idempotent by `id`, and an older update replayed after a newer one is refused (409) by the registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.db.base import utcnow
from labelbot.features.drops import _repository as repository
from labelbot.features.drops import _service as service
from labelbot.models.drops import NOTE_MAX
from labelbot.web.hooks import Delivery, HookRejected

if TYPE_CHECKING:
    from labelbot.client import LabelBot

HOOK = "drops"


class StockBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | int
    drop: int = Field(ge=1, le=2**53)
    stock: str | None = Field(default=None, max_length=NOTE_MAX)
    price: str | None = Field(default=None, max_length=NOTE_MAX)
    sold_out: bool | None = None


def intake(bot: LabelBot) -> Any:
    """The handler the webhook registry calls for `POST /hooks/drops`."""

    async def receive(session: AsyncSession, delivery: Delivery) -> dict[str, Any]:
        try:
            body = StockBody.model_validate(delivery.body)
        except ValidationError as error:
            raise HookRejected.from_validation(error) from None
        if body.stock is None and body.price is None and body.sold_out is None:
            raise HookRejected(["body: send stock, price or sold_out"])
        drop = await repository.drop(session, delivery.guild_id, body.drop)
        if drop is None:
            raise HookRejected([f"drop: there is no drop #{body.drop} in this server"])
        if body.stock is not None:
            drop.stock = service.check_note(body.stock, "stock")
        if body.price is not None:
            drop.price = service.check_note(body.price, "price")
        if body.sold_out is not None:
            drop.sold_out = body.sold_out
        await service.refresh_posts(bot, session, drop, utcnow())
        return {"drop": drop.id, "stock": drop.stock, "sold_out": drop.sold_out}

    return receive
