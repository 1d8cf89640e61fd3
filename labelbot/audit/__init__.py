"""The audit trail: every change the bot makes on someone's behalf, and its posts to the mod log."""
