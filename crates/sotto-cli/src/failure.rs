//! Errors a user can act on, with a stable `kind` for `--json` output.

use std::fmt;

/// An error with a kind scripts can match on (see docs/cli.md).
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) kind: &'static str,
    message: String,
}

impl Failure {
    pub(crate) fn new(kind: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// The kind of any error: a [`Failure`]'s own, or one read from the error
/// types underneath.
pub(crate) fn kind(error: &anyhow::Error) -> &'static str {
    for cause in error.chain() {
        if let Some(failure) = cause.downcast_ref::<Failure>() {
            return failure.kind;
        }
        if let Some(error) = cause.downcast_ref::<sotto_core::ArchiveError>() {
            return match error {
                sotto_core::ArchiveError::WrongPassphrase => "wrong_passphrase",
                sotto_core::ArchiveError::ProfileMoved => "profile_moved",
                _ => "archive",
            };
        }
        if cause.downcast_ref::<sotto_client::ClientError>().is_some() {
            return "relay";
        }
    }
    "error"
}
