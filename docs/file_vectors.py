#!/usr/bin/env python3
"""Reference computation of the file format's test vector (client-protocol.md,
"Files"): a file encrypted with STREAM over XChaCha20-Poly1305, cut into
chunks, the last one filled out, written from the specification alone.

    python3 -m venv venv && venv/bin/pip install cryptography blake3
    venv/bin/python docs/file_vectors.py

XChaCha20 comes from relay_vectors.py (HChaCha20, checked there against
draft-irtf-cfrg-xchacha).
"""

import struct

import blake3
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from relay_vectors import hchacha20

SEGMENT = 65536
CHUNK_SIZES = [4 << 20, 1 << 20, 256 << 10, 64 << 10]


def expand(key: bytes, info: bytes) -> bytes:
    return HKDFExpand(hashes.SHA256(), 32, info).derive(key)


def xchacha_seal(key: bytes, nonce24: bytes, plaintext: bytes, aad: bytes) -> bytes:
    subkey = hchacha20(key, nonce24[:16])
    return ChaCha20Poly1305(subkey).encrypt(bytes(4) + nonce24[16:], plaintext, aad)


def plan(length: int):
    sizes = []
    while length > CHUNK_SIZES[0]:
        sizes.append(CHUNK_SIZES[0])
        length -= CHUNK_SIZES[0]
    while length > 0:
        size = next((s for s in CHUNK_SIZES if s <= length), CHUNK_SIZES[-1])
        sizes.append(size)
        length = max(0, length - size)
    return sizes


def encrypt(key: bytes, nonce19: bytes, data: bytes):
    stream_key = expand(key, b"sotto-file-v1 stream")
    aad = b"sotto-file-v1" + struct.pack(">Q", len(data))
    full = len(data) // SEGMENT
    stream = b""
    for index in range(full + 1):
        last = index == full
        segment = data[index * SEGMENT : (index + 1) * SEGMENT] if not last else data[full * SEGMENT :]
        nonce = nonce19 + struct.pack(">I", index) + bytes([1 if last else 0])
        stream += xchacha_seal(stream_key, nonce, segment, aad)
    sizes = plan(len(stream))
    filler_seed = expand(key, b"sotto-file-v1 filler")
    keystream = Cipher(algorithms.ChaCha20(filler_seed, bytes(16)), mode=None).encryptor()
    stream += keystream.update(bytes(sum(sizes) - len(stream)))
    chunks, at = [], 0
    for size in sizes:
        chunks.append(stream[at : at + size])
        at += size
    return stream, chunks


def main():
    data = bytes(i % 256 for i in range(65547))
    stream, chunks = encrypt(bytes([0x01] * 32), bytes([0x02] * 19), data)
    assert [len(c) for c in chunks] == [65536, 65536]
    print("segment 0, tag:", stream[65536:65552].hex())
    print("segment 1, sealed:", stream[65552:65579].hex())
    print("filler, first 16 bytes:", stream[65579:65595].hex())
    print("chunk 0 digest:", blake3.blake3(chunks[0]).digest().hex())
    print("chunk 1 digest:", blake3.blake3(chunks[1]).digest().hex())


if __name__ == "__main__":
    main()
