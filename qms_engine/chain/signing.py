"""Ed25519 signing keys: made per user, stored only encrypted, unlocked with a passphrase.

A private key is kept as PKCS#8 DER sealed with AES-256-GCM under a key derived from the
passphrase with scrypt (N=2^15, r=8, p=1: about 32 MiB and a tenth of a second, so guessing is
slow).  The envelope is JSON::

    {"format": "qms-key-1", "kdf": {"name": "scrypt", "n": 32768, "r": 8, "p": 1, "salt": b64},
     "cipher": {"name": "AES-256-GCM", "nonce": b64}, "sealed": b64}

The fingerprint is the SHA-256 of the raw 32-byte public key, in hex; it is also the AES-GCM
associated data, so an envelope cannot be swapped onto another key's row.

Passphrase rules (:func:`check_passphrase`, for every new passphrase): at least
``MIN_PASSPHRASE`` characters, not beginning or ending with white space (invisible in a
passphrase file, easily lost at a prompt).  A passphrase is compared after Unicode NFC
normalisation, so the same Devanagari typed on two keyboards is the same passphrase; it is
never stored.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import unicodedata
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from qms_engine.errors import InvalidInput, PermissionDenied

ENVELOPE_FORMAT = "qms-key-1"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
MIN_PASSPHRASE = 8


def fingerprint(public_key: bytes) -> str:
    """The key's identity: SHA-256 of the raw public key, hex."""
    return hashlib.sha256(public_key).hexdigest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def normal(passphrase: str) -> str:
    """The passphrase as it is compared (NFC): one text, however the keyboard composed it."""
    return unicodedata.normalize("NFC", passphrase)


class WrongPassphrase(PermissionDenied):
    """A passphrase did not open the key it was given for."""


def check_passphrase(
    passphrase: str, what: str = "a new passphrase", *, hint: str | None = None
) -> None:
    """Refuse a new passphrase that is too short, or begins or ends with white space (a usage
    error; ``what`` says which passphrase it is, ``hint`` how to give it)."""
    if len(normal(passphrase)) < MIN_PASSPHRASE:
        raise InvalidInput(
            f"{what} is too short: it needs at least {MIN_PASSPHRASE} characters", hint=hint
        )
    if passphrase != passphrase.strip():
        raise InvalidInput(
            f"{what} begins or ends with white space, which is easily lost: leave it out",
            hint=hint,
        )


@dataclass(frozen=True)
class NewKey:
    """A freshly generated key pair: the public half and the sealed private half."""

    public_key: bytes
    fingerprint: str
    envelope: str
    private_key: Ed25519PrivateKey = field(repr=False)


def generate_key(passphrase: str) -> NewKey:
    """A new Ed25519 key pair whose private half is sealed under ``passphrase``."""
    check_passphrase(passphrase)
    private_key = Ed25519PrivateKey.generate()
    public = private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    print_ = fingerprint(public)
    return NewKey(public, print_, seal(private_key, print_, passphrase), private_key)


def seal(private_key: Ed25519PrivateKey, key_fingerprint: str, passphrase: str) -> str:
    """The envelope of ``private_key`` under ``passphrase`` (a fresh salt and nonce)."""
    salt, nonce = os.urandom(16), os.urandom(12)
    pkcs8 = private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    sealed = AESGCM(_derive(normal(passphrase), salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)).encrypt(
        nonce, pkcs8, key_fingerprint.encode("ascii")
    )
    envelope = {
        "format": ENVELOPE_FORMAT,
        "kdf": {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt)},
        "cipher": {"name": "AES-256-GCM", "nonce": _b64(nonce)},
        "sealed": _b64(sealed),
    }
    return json.dumps(envelope, sort_keys=True)


def open_envelope(
    envelope: str, key_fingerprint: str, passphrase: str, owner: str
) -> Ed25519PrivateKey:
    """Unseal a private key; a wrong passphrase is refused without saying more.

    The passphrase is tried in NFC, then as given: a key sealed before passphrases were
    normalised may have been sealed under another form of the same text.
    """
    data = json.loads(envelope)
    if data.get("format") != ENVELOPE_FORMAT:
        raise PermissionDenied(f"{owner}'s signing key is in an unknown format")
    kdf, cipher = data["kdf"], data["cipher"]
    for form in dict.fromkeys((normal(passphrase), passphrase)):
        secret = _derive(form, base64.b64decode(kdf["salt"]), kdf["n"], kdf["r"], kdf["p"])
        try:
            pkcs8 = AESGCM(secret).decrypt(
                base64.b64decode(cipher["nonce"]),
                base64.b64decode(data["sealed"]),
                key_fingerprint.encode("ascii"),
            )
        except InvalidTag:
            continue
        key = serialization.load_der_private_key(pkcs8, password=None)
        assert isinstance(key, Ed25519PrivateKey)
        return key
    raise WrongPassphrase(f"wrong passphrase for {owner}'s signing key", hint="nothing was written")


@dataclass(frozen=True)
class Signer:
    """A user whose signing key is unlocked for this command: the engine's notion of "actor"."""

    username: str
    fingerprint: str
    private_key: Ed25519PrivateKey = field(repr=False)

    def sign(self, data: bytes) -> bytes:
        """An Ed25519 signature over ``data``."""
        return self.private_key.sign(data)


def verify_signature(public_key: bytes, signature: bytes, data: bytes) -> bool:
    """True if ``signature`` is ``public_key``'s signature over ``data``."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True
