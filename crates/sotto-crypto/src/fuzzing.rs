//! Entry points for the fuzz targets into decoders that authenticated encryption hides
//! from outside input. Compiled only with the `fuzzing` feature; not API.

/// Decodes a (version-2) ratchet header; re-encodes it if it parsed.
pub fn decode_header(bytes: &[u8]) -> Option<Vec<u8>> {
    crate::message::Header::decode(bytes)
        .ok()
        .map(|header| header.encode())
}

/// Decodes a version-1 ratchet header (read only: it is never re-encoded); `true` if it
/// parsed.
pub fn decode_header_v1(bytes: &[u8]) -> bool {
    crate::message::v1::decode_header(bytes).is_ok()
}

/// Decodes the plaintext inside a version-1 padded body; the plaintext if it parsed.
pub fn unpad_v1(bytes: &[u8]) -> Option<Vec<u8>> {
    crate::message::v1::unpad(bytes).ok().map(<[u8]>::to_vec)
}

/// Decodes the plaintext state of a session pickle; re-encodes it if it parsed.
pub fn decode_session_state(bytes: &[u8]) -> Option<Vec<u8>> {
    crate::pickle::decode_session(bytes)
        .ok()
        .map(|session| crate::pickle::encode_session(&session).to_vec())
}
