//! What the core asks the runtime to send to a relay.

use std::fmt;

use sotto_wire::ed25519_dalek::SigningKey;
use sotto_wire::{Command, RelayAddress};

/// Names one request until its response comes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestToken(pub(crate) u64);

/// One command to send to one relay. The runtime signs it with `signing_key`
/// over its connection's session id (for instance with
/// `RelayConnection::request(&command, signing_key.as_ref())`), then hands the
/// relay's answer to [`crate::Core::handle_relay_response`] with `token`, or
/// reports [`crate::Core::handle_relay_failure`] if no answer came.
pub struct RelayRequest {
    /// Names this request in the answer.
    pub token: RequestToken,
    /// The relay to send it to.
    pub relay: RelayAddress,
    /// The command.
    pub command: Command,
    /// The queue key that signs it; `None`: send unsigned.
    pub signing_key: Option<SigningKey>,
}

impl fmt::Debug for RelayRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelayRequest")
            .field("token", &self.token)
            .field("relay", &self.relay.to_string())
            .field("command", &self.command.tag())
            .field("signed", &self.signing_key.is_some())
            .finish()
    }
}
