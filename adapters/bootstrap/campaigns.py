"""Templates and campaigns bound to their adapters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openmailer.adapters.crypto.secret_box import AesGcmSecretBox
from openmailer.adapters.db.campaign_audience import SqlAlchemyCampaignAudience
from openmailer.adapters.db.campaigns import (
    SqlAlchemyCampaignRepository,
    SqlAlchemyCampaignTemplates,
)
from openmailer.adapters.db.contacts import SqlAlchemyContactRepository
from openmailer.adapters.db.domains import SqlAlchemyDomainRepository
from openmailer.adapters.db.providers import SqlAlchemyProviderRepository
from openmailer.adapters.db.segments import SqlAlchemyAudienceQuery, SqlAlchemySegmentRepository
from openmailer.adapters.db.templates import SqlAlchemyTemplateRepository
from openmailer.adapters.native.sender import SenderRsMessageRenderer
from openmailer.core.campaigns.service import CampaignsPorts, CampaignsService
from openmailer.core.campaigns.services.campaigns import References
from openmailer.core.registry import Registry
from openmailer.core.segments.operators import SegmentOperator
from openmailer.core.templates.service import TemplatesPorts, TemplatesService

if TYPE_CHECKING:
    pass


from openmailer.adapters.bootstrap.resources import (
    DatabaseResources,
    SystemClock,
)

# --- templates -----------------------------------------------------------------------------


def build_templates(database: DatabaseResources) -> TemplatesService:
    """Templates and their versions on PostgreSQL, compiled and previewed by sender_rs."""
    engine = database.engine
    return TemplatesService(
        TemplatesPorts(
            templates=SqlAlchemyTemplateRepository(engine),
            contacts=SqlAlchemyContactRepository(engine),
            renderer=SenderRsMessageRenderer(threads=1),
            base_url=database.settings.base_url,
        )
    )


# --- campaigns -----------------------------------------------------------------------------


def build_campaigns(
    database: DatabaseResources, operators: Registry[SegmentOperator]
) -> CampaignsService:
    """Campaigns on PostgreSQL. Templates are read through the campaigns area's own narrow
    port (`SqlAlchemyCampaignTemplates`); bind the templates area's repository there once it
    exists."""
    engine = database.engine
    return CampaignsService(
        CampaignsPorts(
            campaigns=SqlAlchemyCampaignRepository(engine),
            refs=References(
                templates=SqlAlchemyCampaignTemplates(engine),
                lists=SqlAlchemyAudienceQuery(engine, operators),
                segments=SqlAlchemySegmentRepository(engine),
                domains=SqlAlchemyDomainRepository(engine),
                providers=SqlAlchemyProviderRepository(engine),
            ),
            audience=SqlAlchemyCampaignAudience(
                engine, operators, AesGcmSecretBox(database.settings.secret_keys)
            ),
            operators=operators,
            clock=SystemClock(),
        )
    )
