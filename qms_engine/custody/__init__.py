"""Chain of custody of a register entry's item (case property, a file): where it is, since
when, and every hand-over.

Each hand-over is a signed ``custody.moved`` event (:mod:`.movements`), held to the places its
register type declared (:class:`qms_engine.registry.custody.Custody`, recorded in the type's
event) by the write path and by the verifier (:mod:`qms_engine.chain.custody_rules`).  May
import documents, people, the chain and storage; the CLI (``qms custody``, and plugin commands
such as ``qms malkhana``) calls only what this package exports.
"""

from qms_engine.custody.movements import (
    Movement,
    Whereabouts,
    move,
    out,
    out_overdue,
    recorded_custody,
    where,
)

__all__ = [
    "Movement",
    "Whereabouts",
    "move",
    "out",
    "out_overdue",
    "recorded_custody",
    "where",
]
