"""Members' data is theirs: forgetting a member in a server, and purging a server the bot has left."""

from labelbot.privacy.columns import (
    ANONYMISE,
    ERASE,
    FORGOTTEN_MEMBER_ID,
    MEMBER_DATA,
    NO_MEMBER_IDS,
    MemberData,
    member_columns,
)
from labelbot.privacy.service import AfterCommit, ForgetHook, Privacy, forget_member, purge_guild

__all__ = [
    "ANONYMISE",
    "ERASE",
    "FORGOTTEN_MEMBER_ID",
    "MEMBER_DATA",
    "NO_MEMBER_IDS",
    "AfterCommit",
    "ForgetHook",
    "MemberData",
    "Privacy",
    "forget_member",
    "member_columns",
    "purge_guild",
]
