"""What listening parties and community events share: RSVPs, capacity and waitlist, reminders, native events.

A feature describes its kind of gathering once (`GatheringFeature`: how its card looks, what its reminders say)
and calls `install(bot, feature)` from its cog's `cog_load`; that registers the feature's card-refresh and
reminder jobs (`<kind>.card`, `<kind>.remind`). Everything else is plain functions over a `Gathering` row.
"""

from labelbot.gatherings.feature import CardContent, GatheringFeature, feature_for
from labelbot.gatherings.jobs import install, uninstall
from labelbot.gatherings.models import Answer, Gathering, GatheringRsvp

__all__ = [
    "Answer",
    "CardContent",
    "Gathering",
    "GatheringFeature",
    "GatheringRsvp",
    "feature_for",
    "install",
    "uninstall",
]
