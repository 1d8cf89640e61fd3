"""Per-server and per-member settings that every feature reads."""
