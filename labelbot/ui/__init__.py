"""Shared interaction components: confirm prompts, paginators, views owned by one member."""
