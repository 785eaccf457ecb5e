"""Template versions (`email_template_versions`; not in the spec) and template names unique per
user.

Issue 11 makes a template's content immutable once saved: every content edit is version N+1, a
row here, and the spec's `email_templates.version` names the current one (its subject, body and
preview_text mirror that version). A campaign that records the version it sends is unaffected by
later edits. `html` and `text` are kept apart here (the spec's single `body` holds the HTML, or
the text of a text-only template); (template_id, version) is unique, which is also what refuses
two concurrent edits the same number. The versions go with their template (ON DELETE CASCADE);
`created_by` is who saved the version (a session's user or an API key's owner).

The spec's `name` UNIQUE is global: one user's template name would block every other user's and a
409 naming the existing id would leak another tenant's template. It becomes unique per user
(`uq_email_templates_created_by_name`), as issue 11 asks.

Revision 028 is reserved for the templates area; it follows 026 on this branch (the chain is
renumbered when the areas merge).

Revision ID: 028
Revises: 026
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "028"
down_revision: str | None = "027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint("email_templates_name_key", "email_templates", type_="unique")
    op.create_unique_constraint(
        "uq_email_templates_created_by_name", "email_templates", ["created_by", "name"]
    )
    op.create_table(
        "email_template_versions",
        sa.Column("id", sa.BigInteger(), nullable=False),  # BIGSERIAL
        sa.Column("template_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("preview_text", sa.String(255), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False
        ),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("email_template_versions_pkey")),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["email_templates.id"],
            name=op.f("email_template_versions_template_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("email_template_versions_created_by_fkey"),
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint(
            "template_id", "version", name=op.f("uq_email_template_versions_template_version")
        ),
    )
    # Templates saved before versions existed get their content as version `version`.
    op.execute(
        """
        INSERT INTO email_template_versions
            (template_id, version, subject, html, text, preview_text, created_at, created_by)
        SELECT id, COALESCE(version, 1), subject,
               CASE WHEN is_html IS NOT FALSE THEN body END,
               CASE WHEN is_html IS FALSE THEN body END,
               preview_text, updated_at, created_by
        FROM email_templates
        """
    )


def downgrade() -> None:
    op.drop_table("email_template_versions")
    op.drop_constraint("uq_email_templates_created_by_name", "email_templates", type_="unique")
    op.create_unique_constraint("email_templates_name_key", "email_templates", ["name"])
