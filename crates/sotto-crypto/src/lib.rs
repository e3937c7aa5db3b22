//! Sotto's end-to-end cryptography: the post-quantum hybrid key agreement and the
//! header-encrypted double ratchet (sans-IO: time and randomness are passed in).
