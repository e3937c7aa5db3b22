//! Sotto's relay wire protocol: fixed-size blocks, the relay handshake and the
//! queue commands, as a sans-IO codec (no sockets, no clock, no RNG calls).

