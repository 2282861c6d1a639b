"""Ed25519 signing keys: made per user, stored only encrypted, unlocked with a passphrase.

A private key is kept as PKCS#8 DER sealed with AES-256-GCM under a key derived from the
passphrase with scrypt (N=2^15, r=8, p=1: about 32 MiB and a tenth of a second, so guessing is
slow).  The envelope is JSON::

    {"format": "qms-key-1", "kdf": {"name": "scrypt", "n": 32768, "r": 8, "p": 1, "salt": b64},
     "cipher": {"name": "AES-256-GCM", "nonce": b64}, "sealed": b64}

The fingerprint is the SHA-256 of the raw 32-byte public key, in hex; it is also the AES-GCM
associated data, so an envelope cannot be swapped onto another key's row.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from qms_engine.errors import PermissionDenied, RuleViolation

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


def check_passphrase(passphrase: str) -> None:
    """Refuse passphrases too short to protect a signing key."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise RuleViolation(f"a passphrase needs at least {MIN_PASSPHRASE} characters")


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
    salt, nonce = os.urandom(16), os.urandom(12)
    pkcs8 = private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    sealed = AESGCM(_derive(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)).encrypt(
        nonce, pkcs8, print_.encode("ascii")
    )
    envelope = {
        "format": ENVELOPE_FORMAT,
        "kdf": {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt)},
        "cipher": {"name": "AES-256-GCM", "nonce": _b64(nonce)},
        "sealed": _b64(sealed),
    }
    return NewKey(public, print_, json.dumps(envelope, sort_keys=True), private_key)


def open_envelope(
    envelope: str, key_fingerprint: str, passphrase: str, owner: str
) -> Ed25519PrivateKey:
    """Unseal a private key; a wrong passphrase is refused without saying more."""
    data = json.loads(envelope)
    if data.get("format") != ENVELOPE_FORMAT:
        raise PermissionDenied(f"{owner}'s signing key is in an unknown format")
    kdf, cipher = data["kdf"], data["cipher"]
    secret = _derive(passphrase, base64.b64decode(kdf["salt"]), kdf["n"], kdf["r"], kdf["p"])
    try:
        pkcs8 = AESGCM(secret).decrypt(
            base64.b64decode(cipher["nonce"]),
            base64.b64decode(data["sealed"]),
            key_fingerprint.encode("ascii"),
        )
    except InvalidTag:
        raise PermissionDenied(
            f"wrong passphrase for {owner}'s signing key", hint="nothing was written"
        ) from None
    key = serialization.load_der_private_key(pkcs8, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


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
