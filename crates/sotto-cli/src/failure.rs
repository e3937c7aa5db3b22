//! Errors a user can act on, with a stable `kind` for `--json` output.

use std::fmt;

/// An error with a kind scripts can match on (see docs/cli.md).
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) kind: &'static str,
    message: String,
    /// The command's own output already carries it (`receive` prints what it
    /// received, and the relay error with it): only the exit status and
    /// stderr say it again.
    pub(crate) shown: bool,
}

impl Failure {
    pub(crate) fn new(kind: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
            shown: false,
        }
    }

    /// This failure, marked as part of the command's output already.
    pub(crate) fn shown(self) -> Failure {
        Failure {
            shown: true,
            ..self
        }
    }
}

/// Whether the command's output already carries this error.
pub(crate) fn shown(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| cause.downcast_ref::<Failure>().is_some_and(|f| f.shown))
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
        if let Some(error) = cause.downcast_ref::<sotto_client::ClientError>() {
            return match error {
                sotto_client::ClientError::LocalFile(_) => "storage",
                _ => "relay",
            };
        }
    }
    "error"
}
