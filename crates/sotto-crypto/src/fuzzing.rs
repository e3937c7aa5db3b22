//! Entry points for the fuzz targets into decoders that authenticated encryption hides
//! from outside input. Compiled only with the `fuzzing` feature; not API.

/// Decodes a ratchet header; re-encodes it if it parsed.
pub fn decode_header(bytes: &[u8]) -> Option<Vec<u8>> {
    crate::message::Header::decode(bytes)
        .ok()
        .map(|header| header.encode())
}

/// Decodes the plaintext state of a session pickle; re-encodes it if it parsed.
pub fn decode_session_state(bytes: &[u8]) -> Option<Vec<u8>> {
    crate::pickle::decode_session(bytes)
        .ok()
        .map(|session| crate::pickle::encode_session(&session).to_vec())
}
