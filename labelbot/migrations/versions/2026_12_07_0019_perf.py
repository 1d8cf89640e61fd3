"""Performance: an index that answers a gathering's RSVP counts from the index alone.

The card's counts group a gathering's answers by (answer, waitlisted), and a capacity check counts the Going
answers that hold a seat; with only (gathering_id, answer, answered_at) indexed, both read every answer's row.

Revision ID: 0019_perf
Revises: 0018_party_ratings
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019_perf"
down_revision: str | None = "0018_party_ratings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_gathering_rsvps_gathering_id_answer_waitlisted",
        "gathering_rsvps",
        ["gathering_id", "answer", "waitlisted"],
    )


def downgrade() -> None:
    op.drop_index("ix_gathering_rsvps_gathering_id_answer_waitlisted", table_name="gathering_rsvps")
