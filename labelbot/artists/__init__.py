"""Artist profiles and the members who manage them, shared by every feature that names an artist."""
