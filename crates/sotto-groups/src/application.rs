//! Application messages: encrypted for the group's current epoch, padded so that their
//! size shows the text's length only in [`crate::PADDING_SIZE`] steps.

use crate::Error;
use crate::group::Group;
use crate::group_config::MAX_PLAINTEXT_LEN;
use crate::messages::GroupMessage;

impl Group {
    /// Encrypts an application message for the group log.
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<GroupMessage, Error> {
        if plaintext.len() > MAX_PLAINTEXT_LEN {
            return Err(Error::PlaintextTooLong {
                len: plaintext.len(),
                max: MAX_PLAINTEXT_LEN,
            });
        }
        if !self.mls.is_active() {
            return Err(Error::NotAMember);
        }
        if self.mls.has_pending_proposals() {
            return Err(Error::ProposalsPending);
        }
        let message = self
            .mls
            .create_message(&self.provider, &self.signer, plaintext)
            .map_err(|_| Error::Local("encrypting"))?;
        GroupMessage::new(&message)
    }
}
