"""District SOPs a station has adopted (``qms district sop adopt``), as readiness counts them:
the adoption is the station's own signed ``district.sop.adopted`` event (its last one for each
SOP), and the district's SOP is read from the tables of the shared database.  An adoption counts
for a required SOP while it is current: the revision the district has in force, with the same
file; one the district has since revised is behind."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select

from qms_engine.chain import events
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.documents.master_list import document_detail
from qms_engine.errors import NotFound
from qms_engine.runtime import Runtime
from qms_engine.storage.models import EVENT_TABLE


@dataclass(frozen=True)
class AdoptedSop:
    """A district SOP the station adopted, against what the district has in force now."""

    number: str
    titles: tuple[str, ...]
    """The title the station adopted, and the one in force at the district."""
    adopted: int
    """The revision the station adopted last."""
    in_force: int
    """The district's revision in force."""
    current: bool
    """The station adopted the revision in force, with the same file."""


def adopted_sops(runtime: Runtime, station: OfficeRef) -> list[AdoptedSop]:
    """The district SOPs ``station`` adopted that the district still has in force, by number."""
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            select(EVENT_TABLE.c.subject, EVENT_TABLE.c.payload)
            .where(
                EVENT_TABLE.c.office_id == station.id,
                EVENT_TABLE.c.action == events.SOP_ADOPTED.action,
            )
            .order_by(EVENT_TABLE.c.seq)
        ).all()
    last = {number: json.loads(payload) for number, payload in rows}
    found = []
    for number, payload in sorted(last.items()):
        try:
            detail = document_detail(runtime, number)
        except NotFound:  # the district is not in this database: nothing to compare with
            continue
        in_force = detail.summary.effective_revno
        if in_force is None:  # withdrawn by the district: no longer a district SOP to follow
            continue
        sha = next(r.sha256 for r in detail.revisions if r.revno == in_force)
        current = (payload["revno"], payload["sha256"]) == (in_force, sha)
        titles = (payload["title"], detail.summary.title)
        found.append(AdoptedSop(number, titles, payload["revno"], in_force, current))
    return found
