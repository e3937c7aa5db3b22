//! What the core asks the runtime to send to a relay.

use std::fmt;

use sotto_wire::{Command, QueueAuthSecret, RelayAddress};

/// Names one request until its response comes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestToken(pub(crate) u64);

/// One command to send to one relay. The runtime authorizes it with
/// `auth_key` on its connection (for instance with
/// `RelayConnection::request(&command, auth_key.as_ref())`), then hands the
/// relay's answer to [`crate::Core::handle_relay_response`] with `token`, or
/// reports [`crate::Core::handle_relay_failure`] if no answer came.
pub struct RelayRequest {
    /// Names this request in the answer.
    pub token: RequestToken,
    /// The relay to send it to.
    pub relay: RelayAddress,
    /// The command.
    pub command: Command,
    /// The queue secret that authorizes it; `None`: send without authenticator.
    pub auth_key: Option<QueueAuthSecret>,
}

impl fmt::Debug for RelayRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelayRequest")
            .field("token", &self.token)
            .field("relay", &self.relay.to_string())
            .field("command", &self.command.tag())
            .field("authorized", &self.auth_key.is_some())
            .finish()
    }
}
