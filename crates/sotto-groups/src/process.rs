//! Messages read from the group log, in log order: application messages, proposals and
//! commits. The log's order decides which commit of an epoch wins: the first valid one.

use openmls::framing::errors::{MessageDecryptionError, SecretTreeError};
use openmls::prelude::{ProcessMessageError, ProcessedMessageContent, ValidationError};
use openmls_traits::OpenMlsProvider;

use crate::Error;
use crate::commit_policy::{review_commit, review_proposal};
use crate::event::GroupEvent;
use crate::group::Group;
use crate::member::MemberId;
use crate::messages::parse_group_message;

impl Group {
    /// Processes the next message of the group log.
    ///
    /// Our own pending commit coming back puts it in effect. Another member's commit for
    /// the current epoch is checked against the roles and, if allowed, put in effect; if
    /// we had a pending commit it lost the race and is discarded (see
    /// [`GroupEvent::CommitLost`]). A refused commit or proposal changes nothing.
    pub fn process(&mut self, bytes: &[u8]) -> Result<GroupEvent, Error> {
        if self
            .pending()
            .is_some_and(|pending| pending.commit.as_bytes() == bytes)
        {
            return self.confirm_commit();
        }
        let message = parse_group_message(bytes)?
            .try_into_protocol_message()
            .map_err(|_| Error::Malformed("group message"))?;
        if message.group_id() != self.mls.group_id() {
            return Err(Error::Rejected("message of another group"));
        }
        let (epoch, current) = (message.epoch().as_u64(), self.epoch());
        if epoch > current {
            return Err(Error::FutureEpoch);
        }
        // Application messages of recent past epochs still decrypt; commits and proposals
        // of a past epoch lost their race and are skipped.
        if epoch < current && message.is_handshake_message() {
            return Err(Error::PastEpoch);
        }
        if !self.mls.is_active() {
            return Err(Error::NotAMember);
        }
        let processed = self
            .mls
            .process_message(&self.provider, message)
            .map_err(reduce_process_error)?;
        let sender = processed.sender().clone();
        let sender_id = MemberId::of_credential(processed.credential())?;
        match processed.into_content() {
            ProcessedMessageContent::ApplicationMessage(message) => Ok(GroupEvent::Message {
                sender: sender_id,
                plaintext: message.into_bytes(),
            }),
            ProcessedMessageContent::ProposalMessage(queued) => {
                let proposer = review_proposal(&self.mls, &queued)?;
                self.mls
                    .store_pending_proposal(self.provider.storage(), *queued)
                    .map_err(|_| Error::Local("storing a proposal"))?;
                Ok(GroupEvent::ProposalQueued { proposer })
            }
            ProcessedMessageContent::StagedCommitMessage(staged) => {
                let summary = review_commit(&self.mls, &sender, &staged)?;
                let removed = staged.self_removed();
                let lost = self.discard_commit()?;
                self.mls
                    .merge_staged_commit(&self.provider, *staged)
                    .map_err(|_| Error::Local("merging a commit"))?;
                Ok(match (removed, lost) {
                    (true, _) => GroupEvent::Removed(summary),
                    (false, Some(lost)) => GroupEvent::CommitLost {
                        winner: summary,
                        lost,
                    },
                    (false, None) => GroupEvent::CommitApplied(summary),
                })
            }
            // Our own message coming back from the log (our sender ratchet only encrypts).
            ProcessedMessageContent::OwnPrivateMessage => Err(Error::OwnMessage),
            _ => Err(Error::Rejected("message from outside the group")),
        }
    }
}

/// OpenMLS's processing errors, reduced to what the caller acts on.
fn reduce_process_error<E>(error: ProcessMessageError<E>) -> Error {
    match error {
        ProcessMessageError::ValidationError(ValidationError::UnableToDecrypt(
            MessageDecryptionError::SecretTreeError(tree_error),
        )) => match tree_error {
            SecretTreeError::RatchetTypeError => Error::OwnMessage,
            SecretTreeError::SecretReuseError => Error::Duplicate,
            _ => Error::Rejected("group message"),
        },
        ProcessMessageError::ValidationError(ValidationError::WrongEpoch) => Error::PastEpoch,
        ProcessMessageError::ValidationError(ValidationError::NoPastEpochData) => Error::PastEpoch,
        _ => Error::Rejected("group message"),
    }
}
