"""Tables of the web side that the model registry must see.

The registry imports only `models`/`_models` modules; the webhook deliveries table lives beside the code that uses
it (bot/web/hooks.py), so it is named here to be found.
"""

from bot.web.hooks import WebhookDelivery

__all__ = ["WebhookDelivery"]
