"""Contacts, lists, segments and CSV imports bound to their adapters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openmailer.adapters.addresses import EmailValidatorAddresses
from openmailer.adapters.crypto.secret_box import AesGcmSecretBox
from openmailer.adapters.db.audience_uow import SqlAlchemyAudienceUnitOfWork
from openmailer.adapters.db.contact_erasure import SqlAlchemyContactErasures
from openmailer.adapters.db.contact_export import SqlAlchemyContactExports
from openmailer.adapters.db.contact_lists import SqlAlchemyContactListRepository
from openmailer.adapters.db.contacts import SqlAlchemyContactRepository
from openmailer.adapters.db.imports import SqlAlchemyImportStore
from openmailer.adapters.db.segments import SqlAlchemyAudienceQuery, SqlAlchemySegmentRepository
from openmailer.core.audience.service import AudiencePorts, AudienceService
from openmailer.core.imports.service import ImportsPorts, ImportsService
from openmailer.core.ports.imports import ImportQueue
from openmailer.core.registry import Registry
from openmailer.core.segments.operators import SegmentOperator
from openmailer.core.segments.service import SegmentsPorts, SegmentsService

if TYPE_CHECKING:
    pass


from openmailer.adapters.bootstrap.resources import (
    DatabaseResources,
    SystemClock,
)

# --- segments ------------------------------------------------------------------------------


def build_segments(
    resources: DatabaseResources, operators: Registry[SegmentOperator]
) -> SegmentsService:
    """Segments on PostgreSQL, with the operators the plugins registered at start-up."""
    engine = resources.engine
    return SegmentsService(
        SegmentsPorts(
            segments=SqlAlchemySegmentRepository(engine),
            audience=SqlAlchemyAudienceQuery(engine, operators),
            operators=operators,
            clock=SystemClock(),
        )
    )


# --- audience ------------------------------------------------------------------------------


def build_audience(database: DatabaseResources) -> AudienceService:
    """Contacts, lists and memberships on PostgreSQL (no Redis needed)."""
    engine = database.engine
    return AudienceService(
        AudiencePorts(
            contacts=SqlAlchemyContactRepository(engine),
            lists=SqlAlchemyContactListRepository(engine),
            addresses=EmailValidatorAddresses(),
            clock=SystemClock(),
            unit_of_work=lambda: SqlAlchemyAudienceUnitOfWork(engine),
            erasures=SqlAlchemyContactErasures(
                engine, AesGcmSecretBox(database.settings.secret_keys)
            ),
            exports=SqlAlchemyContactExports(engine),
        )
    )


# --- imports -------------------------------------------------------------------------------


def build_imports(database: DatabaseResources, queue: ImportQueue | None = None) -> ImportsService:
    """CSV imports on PostgreSQL; jobs go to the workers through the Redis broker, unless
    `queue` says otherwise (the import command runs them itself)."""
    from openmailer.adapters.workers.import_queue import DramatiqImportQueue, NoQueue

    engine = database.engine
    settings = database.settings
    if queue is None:
        queue = NoQueue() if settings.redis_url is None else DramatiqImportQueue(settings.redis_url)
    return ImportsService(
        ImportsPorts(
            store=SqlAlchemyImportStore(engine),
            queue=queue,
            addresses=EmailValidatorAddresses(),
            erasures=SqlAlchemyContactErasures(engine, AesGcmSecretBox(settings.secret_keys)),
            clock=SystemClock(),
            max_upload_bytes=settings.import_max_bytes,
        )
    )
