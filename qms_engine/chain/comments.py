"""What the chain holds of a citizen's comment: a salted digest, never the words.

A signed chain cannot forget, and a comment must be erasable when the form's ``keep_days``
have passed, so a ``feedback.received`` event states each comment only as
``comment_sha256`` = SHA-256(salt ‖ comment in UTF-8), with a random 16-byte salt per response.
The comment and its salt are kept in the ``feedback_response`` table alone: while they are
there, the tables' comparison (:mod:`qms_engine.audit.capa_projection`) checks that they hash
to the chain's digest, so a comment changed in the table is caught; once a signed
``feedback.comments.erased`` blanks both, nothing in the chain or the database can give the
words back.  The salt also keeps a short comment ("ok", "धन्यवाद") from being confirmed by
hashing guesses while it is kept.
"""

from __future__ import annotations

import hashlib
import secrets

SALT_BYTES = 16


def new_salt() -> str:
    """A fresh random salt, as the table keeps it (32 hex digits)."""
    return secrets.token_hex(SALT_BYTES)


def comment_sha256(salt: str, comment: str) -> str:
    """The digest a ``feedback.received`` event states for ``comment`` kept with ``salt``
    (hex); ValueError if ``salt`` is not hex."""
    return hashlib.sha256(bytes.fromhex(salt) + comment.encode("utf-8")).hexdigest()
