#!/usr/bin/env python3
"""Reference computation of the test vectors of docs/protocol.md, section 14.

An implementation of the relay protocol (version 2) written from the
specification alone, in Python, independent of the Rust code: it rebuilds the
hellos, the key schedule, encrypted blocks for both cipher suites, an authorized
command and a delivered message sealed for each suite, and prints every value
under the name section 14 gives it.

    python3 -m venv venv && venv/bin/pip install cryptography blake3
    venv/bin/python docs/relay_vectors.py

XChaCha20-Poly1305 is built here from HChaCha20 and ChaCha20-Poly1305, as
draft-irtf-cfrg-xchacha describes, and checked against that draft's vector.
"""

import base64
import hashlib
import struct

import blake3
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey,
    X25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

BLOCK_SIZE = 16384
INNER_SIZE = BLOCK_SIZE - 16
MAGIC = b"SOTTOREL"
AES_256_GCM, CHACHA20_POLY1305 = 1, 2

RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


# ---- primitives -----------------------------------------------------------------


def x25519_public(secret: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(secret).public_key().public_bytes(*RAW)


def x25519(secret: bytes, public: bytes) -> bytes:
    shared = X25519PrivateKey.from_private_bytes(secret).exchange(
        X25519PublicKey.from_public_bytes(public)
    )
    assert shared != bytes(32), "low-order key"
    return shared


def hkdf(salt, ikm: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def hkdf_expand(prk: bytes, info: bytes) -> bytes:
    return HKDFExpand(algorithm=hashes.SHA256(), length=32, info=info).derive(prk)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


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


def xchacha20poly1305_seal(key: bytes, nonce24: bytes, plaintext: bytes) -> bytes:
    subkey = hchacha20(key, nonce24[:16])
    return ChaCha20Poly1305(subkey).encrypt(bytes(4) + nonce24[16:], plaintext, None)


def aead_seal(suite: int, key: bytes, nonce12: bytes, plaintext: bytes) -> bytes:
    cipher = AESGCM(key) if suite == AES_256_GCM else ChaCha20Poly1305(key)
    return cipher.encrypt(nonce12, plaintext, None)


# draft-irtf-cfrg-xchacha-03, section 2.2.1.
assert hchacha20(
    bytes(range(32)), bytes.fromhex("000000090000004a0000000031415927")
).hex() == "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc"


# ---- the protocol -------------------------------------------------------------


def padded(head: bytes, size: int) -> bytes:
    return head + bytes(size - len(head))


def client_hello(ephemeral_public: bytes, suites) -> bytes:
    head = MAGIC + b"\x01" + struct.pack(">HH", 2, 2) + ephemeral_public
    head += bytes([len(suites)]) + bytes(suites)
    return padded(head, BLOCK_SIZE)


def server_hello(identity_seed, session_secret, hello: bytes, suite: int) -> bytes:
    identity = Ed25519PrivateKey.from_private_bytes(identity_seed)
    session_public = x25519_public(session_secret)
    signed = (
        b"sotto-relay-handshake-v2"
        + sha256(hello)
        + struct.pack(">H", 2)
        + session_public
        + bytes([suite])
    )
    head = MAGIC + b"\x02" + struct.pack(">H", 2)
    head += identity.public_key().public_bytes(*RAW) + session_public
    head += identity.sign(signed) + bytes([suite])
    return padded(head, BLOCK_SIZE)


def block_nonce(counter: int) -> bytes:
    return bytes(4) + struct.pack(">Q", counter)


def inner_block(*transmissions: bytes) -> bytes:
    body = bytes([len(transmissions)])
    for transmission in transmissions:
        body += struct.pack(">H", len(transmission)) + transmission
    return padded(body, INNER_SIZE)


def transmission(corr_id: bytes, entity, tag: int, body=b"", authenticator=None) -> bytes:
    authenticated = corr_id
    authenticated += bytes([0]) if entity is None else bytes([24]) + entity
    authenticated += bytes([tag]) + body
    if authenticator is None:
        return b"\x00" + authenticated
    return bytes([32]) + authenticator + authenticated


def authorized(connection, secret: bytes, corr_id: bytes, entity: bytes, tag: int, body: bytes):
    """A transmission authorized by the auth key of `secret` on `connection`:
    (auth public key, command key, authenticator, transmission)."""
    public = x25519_public(secret)
    command_key = hkdf(
        connection["session_id"],
        x25519(secret, connection["relay_session_public"]),
        b"sotto-relay-v2 command-auth" + public,
    )
    unsigned = transmission(corr_id, entity, tag, body)
    # corr id, entity and tag; the body is the block's AEAD's to authenticate.
    authenticated = unsigned[1 : 1 + 8 + 1 + len(entity) + 1]
    authenticator = blake3.blake3(authenticated, key=command_key).digest()
    signed = transmission(corr_id, entity, tag, body, authenticator=authenticator)
    return public, command_key, authenticator, signed


def handshake(suites):
    client_secret, relay_secret = bytes([0x01] * 32), bytes([0x02] * 32)
    identity_seed = bytes([0x2A] * 32)
    hello = client_hello(x25519_public(client_secret), suites)
    suite = suites[0]  # the relay takes the first offered suite it has
    reply = server_hello(identity_seed, relay_secret, hello, suite)
    shared = x25519(client_secret, x25519_public(relay_secret))
    session_id = sha256(b"sotto-relay-session-v2" + hello + reply)
    k_c2s = hkdf(session_id, shared, b"sotto-relay-v2 client-to-relay")
    k_s2c = hkdf(session_id, shared, b"sotto-relay-v2 relay-to-client")
    identity_public = Ed25519PrivateKey.from_private_bytes(identity_seed).public_key()
    fingerprint = base64.urlsafe_b64encode(
        sha256(identity_public.public_bytes(*RAW))
    ).rstrip(b"=")
    return dict(
        hello=hello,
        reply=reply,
        suite=suite,
        shared=shared,
        session_id=session_id,
        k_c2s=k_c2s,
        k_s2c=k_s2c,
        relay_session_public=x25519_public(relay_secret),
        fingerprint=fingerprint.decode(),
    )


def main():
    ping = inner_block(transmission(bytes.fromhex("0102030405060708"), None, 0x09))

    # Handshake A: the client offers AES-256-GCM, then ChaCha20-Poly1305.
    a = handshake([AES_256_GCM, CHACHA20_POLY1305])
    first = aead_seal(a["suite"], a["k_c2s"], block_nonce(0), ping)
    later = aead_seal(a["suite"], a["k_c2s"], block_nonce(300), ping)
    print("A client hello (first 48 bytes):", a["hello"][:48].hex())
    print("A server hello (first 140 bytes):", a["reply"][:140].hex())
    print("fingerprint:", a["fingerprint"])
    print("shared:", a["shared"].hex())
    print("A session_id:", a["session_id"].hex())
    print("A k_c2s:", a["k_c2s"].hex())
    print("A k_s2c:", a["k_s2c"].hex())
    print("A block 0, last 32 bytes:", first[-32:].hex())
    print("A block 0, SHA-256:", sha256(first).hex())
    print("A block 300, last 32 bytes:", later[-32:].hex())
    print("A block 300, SHA-256:", sha256(later).hex())

    # Handshake B: the client (a browser) offers ChaCha20-Poly1305 only.
    b = handshake([CHACHA20_POLY1305])
    first = aead_seal(b["suite"], b["k_c2s"], block_nonce(0), ping)
    print("B client hello (first 47 bytes):", b["hello"][:47].hex())
    print("B server hello (first 140 bytes):", b["reply"][:140].hex())
    print("B session_id:", b["session_id"].hex())
    print("B k_c2s:", b["k_c2s"].hex())
    print("B k_s2c:", b["k_s2c"].hex())
    print("B block 0, last 32 bytes:", first[-32:].hex())
    print("B block 0, SHA-256:", sha256(first).hex())

    corr_id = bytes.fromhex("1112131415161718")

    # An authorized SUB on connection A.
    auth_public, command_key, authenticator, sub = authorized(
        a, bytes([0x0D] * 32), corr_id, bytes(range(0x20, 0x38)), 0x03, b""
    )
    print("queue auth public:", auth_public.hex())
    print("command key:", command_key.hex())
    print("authenticator:", authenticator.hex())
    print("SUB transmission:", sub.hex())

    # An authorized LSET on connection A: link id 60 61 .. 77, the 2048-byte blob
    # 00 01 02 .. ff 00 01 .. (byte i is i mod 256).
    blob = bytes(i % 256 for i in range(2048))
    link_public, link_key, authenticator, lset = authorized(
        a, bytes([0x0E] * 32), corr_id, bytes(range(0x60, 0x78)), 0x0B, blob
    )
    assert len(lset) == 67 + 2048 and lset[67:] == blob
    print("link auth public:", link_public.hex())
    print("link command key:", link_key.hex())
    print("LSET authenticator:", authenticator.hex())
    print("LSET transmission, first 67 bytes:", lset[:67].hex())

    # An authorized FPUT on connection A: upload id a0 a1 .. b7, offset 16256,
    # the 16256-byte piece whose byte i is i mod 251.
    piece = bytes(i % 251 for i in range(16256))
    fput_body = struct.pack(">IH", 16256, len(piece)) + piece
    upload_public, upload_key, authenticator, fput = authorized(
        a, bytes([0x0F] * 32), corr_id, bytes(range(0xA0, 0xB8)), 0x0F, fput_body
    )
    assert len(fput) == 73 + 16256 and fput[73:] == piece
    print("upload auth public:", upload_public.hex())
    print("upload command key:", upload_key.hex())
    print("FPUT authenticator:", authenticator.hex())
    print("FPUT transmission, first 73 bytes:", fput[:73].hex())
    chunk = bytes(i % 256 for i in range(65536))
    print("digest of the 64 KiB chunk:", blake3.blake3(chunk).digest().hex())

    # An authorized GAPP on connection A: write id c0 c1 .. d7, the 16000-byte
    # entry whose byte i is i mod 241; then a GREAD of entry 258 on the read id
    # e0 e1 .. f7, authorized by the read auth secret 11 .. 11.
    entry = bytes(i % 241 for i in range(16000))
    write_public, write_key, authenticator, gapp = authorized(
        a, bytes([0x10] * 32), corr_id, bytes(range(0xC0, 0xD8)), 0x16, entry
    )
    assert len(gapp) == 67 + 16000 and gapp[67:] == entry
    print("write auth public:", write_public.hex())
    print("write command key:", write_key.hex())
    print("GAPP authenticator:", authenticator.hex())
    print("GAPP transmission, first 67 bytes:", gapp[:67].hex())
    gread = authorized(
        a,
        bytes([0x11] * 32),
        corr_id,
        bytes(range(0xE0, 0xF8)),
        0x17,
        struct.pack(">Q", 258),
    )[3]
    print("GREAD transmission:", gread.hex())

    # A delivered message, sealed for each suite.
    relay_queue_secret, recipient_dh_secret = bytes([0x0C] * 32), bytes([0x0B] * 32)
    queue_key = hkdf(
        None,
        x25519(relay_queue_secret, x25519_public(recipient_dh_secret)),
        b"sotto-relay-v2 queue-message",
    )
    assert queue_key == hkdf(
        None,
        x25519(recipient_dh_secret, x25519_public(relay_queue_secret)),
        b"sotto-relay-v2 queue-message",
    )
    aes_key = hkdf_expand(queue_key, b"sotto-relay-v2 seal aes-256-gcm")
    xchacha_key = hkdf_expand(queue_key, b"sotto-relay-v2 seal xchacha20-poly1305")
    message_id = bytes(range(0x40, 0x58))
    message = struct.pack(">QBH", 1_800_000_000, 0, 5) + b"hello"
    print("relay queue public:", x25519_public(relay_queue_secret).hex())
    print("recipient DH public:", x25519_public(recipient_dh_secret).hex())
    print("queue key:", queue_key.hex())
    print("AES-256-GCM seal key:", aes_key.hex())
    print("XChaCha20-Poly1305 seal key:", xchacha_key.hex())
    print("sealed, AES-256-GCM:", AESGCM(aes_key).encrypt(message_id[:12], message, None).hex())
    print("sealed, XChaCha20-Poly1305:", xchacha20poly1305_seal(xchacha_key, message_id, message).hex())


if __name__ == "__main__":
    main()
