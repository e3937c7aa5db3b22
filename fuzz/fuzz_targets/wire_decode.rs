//! Every relay-protocol decoder on arbitrary bytes: none may panic, and whatever
//! decodes must encode back to the same bytes (the codec is canonical, which the
//! command authenticators rely on). A client connection waiting for the relay's
//! hello takes the same bytes as a frame and must end cleanly, never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::time::Duration;

use sotto_wire::{
    BLOCK_SIZE, Block, ClientConnection, ClientHello, Command, ConnectionConfig, INNER_SIZE,
    InnerBlock, RelayAddress, RelayFingerprint, RelayIdentity, Response, ServerReply,
    Transmission,
};

/// The input zero-padded (or cut) to `len` bytes, so short inputs reach the
/// fixed-size decoders.
fn padded(data: &[u8], len: usize) -> Vec<u8> {
    let mut bytes = data.get(..len.min(data.len())).unwrap_or_default().to_vec();
    bytes.resize(len, 0);
    bytes
}

fn transmission(bytes: &[u8]) {
    let Ok(transmission) = Transmission::decode(bytes) else {
        return;
    };
    assert_eq!(transmission.encode(), bytes);
    if let Ok(command) = Command::from_transmission(&transmission) {
        let mut again = command.to_transmission(transmission.corr_id);
        again.authenticator = transmission.authenticator;
        assert_eq!(again, transmission);
    }
    if let Ok(response) = Response::from_transmission(&transmission) {
        assert_eq!(response.to_transmission(transmission.corr_id), transmission);
    }
}

fuzz_target!(|data: &[u8]| {
    transmission(data);

    let inner = padded(data, INNER_SIZE);
    if let Ok(batch) = InnerBlock::decode(&inner) {
        assert_eq!(batch.encode().ok(), Some(inner));
        for bytes in batch.transmissions() {
            transmission(bytes);
        }
    }

    if let Ok(block) = Block::from_vec(padded(data, BLOCK_SIZE)) {
        if let Ok(hello) = ClientHello::decode(&block) {
            assert_eq!(hello.encode(), block);
        }
        if let Ok(reply) = ServerReply::decode(&block) {
            assert_eq!(reply.encode(), block);
        }
    }

    let fingerprint = RelayIdentity::from_secret_bytes([7; 32]).fingerprint();
    let mut connection =
        ClientConnection::new(fingerprint, ConnectionConfig::default(), [1; 32], Duration::ZERO);
    let _hello = connection.poll_transmit(Duration::ZERO);
    connection.handle_frame(Duration::ZERO, &padded(data, BLOCK_SIZE));
    connection.handle_frame(Duration::ZERO, data);
    while connection.poll_event().is_some() {}

    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(address) = text.parse::<RelayAddress>() {
            assert_eq!(address.to_string().parse::<RelayAddress>(), Ok(address));
        }
        if let Ok(fingerprint) = text.parse::<RelayFingerprint>() {
            assert_eq!(fingerprint.to_string(), text);
        }
    }
});
