#!/usr/bin/env python3
"""Independent check of the answer in the vectors of docs/e2e-protocol.md, section 12.

Written from the specification alone, in Python, independent of the Rust code: it
plays the inviter of crates/sotto-crypto/tests/vectors/session_v2_answer_v2.json. From
the inviter's identity secret and invitation randomness it rebuilds the invitation
(4.1), parses the version-2 answer (4.2), opens the joiner's sealed identity key and
derives the session's first keys (section 5), then opens the first message's header
and payload as the inviter's first receiving chain (6.1, 6.2, 6.6), and compares every
intermediate value with the recorded ones.

    python3 -m venv venv && venv/bin/pip install 'cryptography>=45'
    venv/bin/python docs/e2e_vectors.py

ML-KEM-768 comes from `cryptography` (OpenSSL). XChaCha20-Poly1305 is built here from
HChaCha20 and ChaCha20-Poly1305, as draft-irtf-cfrg-xchacha describes, and checked
against that draft's vector (as in docs/relay_vectors.py).
"""

import hashlib
import hmac
import json
import pathlib
import struct

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey,
    X25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VECTORS = (
    pathlib.Path(__file__).resolve().parent.parent
    / "crates/sotto-crypto/tests/vectors/session_v2_answer_v2.json"
)
RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw

LABEL_PQXDH = b"Sotto v1 PQXDH"
LABEL_ANSWER_IDENTITY = b"Sotto v2 answer identity"
LABEL_ROOT = b"Sotto v1 root"
LABEL_PAYLOAD = b"Sotto v2 payload"
INVITER, JOINER = b"\x00", b"\x01"


# ---- primitives -----------------------------------------------------------------


def x25519_public(secret: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(secret).public_key().public_bytes(*RAW)


def x25519(secret: bytes, public: bytes) -> bytes:
    shared = X25519PrivateKey.from_private_bytes(secret).exchange(
        X25519PublicKey.from_public_bytes(public)
    )
    assert shared != bytes(32), "low-order key"
    return shared


def hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def sha256(*parts: bytes) -> bytes:
    return hashlib.sha256(b"".join(parts)).digest()


def _quarter_round(s, a, b, c, d):
    mask = 0xFFFFFFFF

    def rotl(v, n):
        return ((v << n) | (v >> (32 - n))) & mask

    s[a] = (s[a] + s[b]) & mask
    s[d] = rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & mask
    s[b] = rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & mask
    s[d] = rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & mask
    s[b] = rotl(s[b] ^ s[c], 7)


def hchacha20(key: bytes, nonce16: bytes) -> bytes:
    state = list(struct.unpack("<4I", b"expand 32-byte k"))
    state += list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce16))
    for _ in range(10):
        for a, b, c, d in ((0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15)):
            _quarter_round(state, a, b, c, d)
        for a, b, c, d in ((0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14)):
            _quarter_round(state, a, b, c, d)
    return struct.pack("<8I", *(state[0:4] + state[12:16]))


def xchacha20poly1305_open(key: bytes, nonce24: bytes, ad: bytes, sealed: bytes) -> bytes:
    subkey = hchacha20(key, nonce24[:16])
    return ChaCha20Poly1305(subkey).decrypt(bytes(4) + nonce24[16:], sealed, ad)


# draft-irtf-cfrg-xchacha-03, section 2.2.1.
assert hchacha20(
    bytes(range(32)), bytes.fromhex("000000090000004a0000000031415927")
).hex() == "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc"


# ---- the protocol -------------------------------------------------------------


def check(name: str, computed: bytes, recorded: str) -> None:
    assert computed.hex() == recorded, f"{name}: {computed.hex()} != {recorded}"
    print(f"{name:28} {recorded[:64]}{'…' if len(recorded) > 64 else ''}")


def main() -> None:
    vectors = json.loads(VECTORS.read_text())
    recorded = vectors["key_agreement"]
    unhex = bytes.fromhex

    # 4.1: the invitation, from the inviter's secrets (section 3: one-time X25519
    # secret, then the 64-byte ML-KEM seed d || z).
    ik_i = unhex(vectors["inviter_identity_secret"])
    randomness = unhex(vectors["invitation_randomness"])
    opk_i, kem_i = randomness[:32], MLKEM768PrivateKey.from_seed_bytes(randomness[32:96])
    invitation = (
        b"\x01\x01"
        + x25519_public(ik_i)
        + x25519_public(opk_i)
        + kem_i.public_key().public_bytes_raw()
    )
    check("invitation", invitation, vectors["invitation"])

    # 4.2: the version-2 answer.
    answer = unhex(vectors["answer"])
    assert len(answer) == 15828 and answer[:2] == b"\x02\x02"
    ek_j, ct_pqxdh = answer[2:34], answer[34:1122]
    sealed_identity, message = answer[1122:1170], answer[1170:]
    joiner_public = unhex(vectors["joiner_identity_public"])
    assert joiner_public not in answer, "the joiner's identity key is in clear"

    # Section 5, inviter accepting.
    dh2, dh3 = x25519(ik_i, ek_j), x25519(opk_i, ek_j)
    ss = kem_i.decapsulate(ct_pqxdh)
    check("SS", ss, recorded["kem_shared_secret"])
    sealing_hash = sha256(invitation, answer[:1122])
    check("H_s", sealing_hash, recorded["sealing_hash"])
    sealing_key = hkdf(
        bytes(32), b"\xff" * 32 + dh2 + dh3 + ss, LABEL_ANSWER_IDENTITY + sealing_hash, 32
    )
    check("K_s", sealing_key, recorded["sealing_key"])
    ik_j = xchacha20poly1305_open(sealing_key, bytes(24), sealing_hash, sealed_identity)
    check("IK_j (opened from S)", ik_j, vectors["joiner_identity_public"])
    dh1 = x25519(opk_i, ik_j)
    check("DH1 || DH2 || DH3", dh1 + dh2 + dh3, recorded["dh"])
    transcript = sha256(invitation, answer[:1170])
    check("T", transcript, recorded["transcript_hash"])
    okm = hkdf(
        bytes(32), b"\xff" * 32 + dh1 + dh2 + dh3 + ss, LABEL_PQXDH + transcript, 96
    )
    check("OKM = RK0 || HK_j || HK_i", okm, recorded["agreed_keys"])
    root_key, joiner_header_key = okm[:32], okm[32:64]
    ad = x25519_public(ik_i) + ik_j

    # 6.6: the first message opens with HK_j (the inviter's NHKr) and starts the
    # inviter's first receiving chain.
    assert len(message) == 14658 and message[:2] == b"\x02\x03"
    header_nonce = message[2:26]
    header = xchacha20poly1305_open(
        joiner_header_key, header_nonce, ad + JOINER + b"\x02\x03", message[26:1172]
    )
    ratchet_key, ratchet_ct = header[:32], header[32:1120]
    previous, number, descriptor = struct.unpack(">IIH", header[1120:1130])
    assert (previous, number) == (0, 0) and descriptor & 0x8000
    payload_len = descriptor & 0x7FFF
    step = hkdf(
        root_key, x25519(opk_i, ratchet_key) + kem_i.decapsulate(ratchet_ct), LABEL_ROOT, 96
    )
    chain_key = step[32:64]
    message_key = hmac.new(chain_key, b"\x01", hashlib.sha256).digest()
    expanded = hkdf(header_nonce, message_key, LABEL_PAYLOAD, 56)
    payload = xchacha20poly1305_open(
        expanded[:32],
        expanded[32:56],
        ad + JOINER + message[:1172],
        message[1172 : 1172 + payload_len + 16],
    )
    check("first plaintext", payload[1184:], vectors["answer_plaintext"])
    print("the answer checks out")


if __name__ == "__main__":
    main()
