//! What travels: key packages and welcomes over a pairwise connection, commits,
//! proposals and application messages on the group log. Each is an RFC 9420 `MLSMessage`
//! (key package, welcome, or private message), carried as opaque bytes.

use openmls::prelude::{
    KeyPackageIn, MlsMessageBodyIn, MlsMessageIn, MlsMessageOut, Welcome as MlsWelcome, WireFormat,
};
use tls_codec::DeserializeBytes;

use crate::Error;
use crate::group_config::{MAX_GROUP_MESSAGE_LEN, MAX_KEY_PACKAGE_LEN, MAX_WELCOME_LEN};

/// Declares a newtype over the encoded bytes of one kind of MLS message.
macro_rules! mls_bytes {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(Vec<u8>);

        impl $name {
            pub(crate) fn new(message: &MlsMessageOut) -> Result<Self, Error> {
                encode(message).map(Self)
            }

            /// The encoded `MLSMessage`.
            pub fn as_bytes(&self) -> &[u8] {
                &self.0
            }

            /// The encoded `MLSMessage`, owned.
            pub fn into_bytes(self) -> Vec<u8> {
                self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($name), "({} bytes)"), self.0.len())
            }
        }
    };
}

mls_bytes!(
    /// A member's key package: what an admin needs to add it. Made for one group only
    /// (its signature key and member id are that group's pseudonym).
    KeyPackage
);
mls_bytes!(
    /// A commit to append to the group log.
    Commit
);
mls_bytes!(
    /// A proposal to append to the group log (e.g. a member's own removal when it leaves).
    Proposal
);
mls_bytes!(
    /// A welcome for the members a commit adds, sent to each over a pairwise connection.
    Welcome
);
mls_bytes!(
    /// An encrypted application message to append to the group log.
    GroupMessage
);

impl KeyPackage {
    /// Reads a key package received from a contact (its signature is checked when it is
    /// added to a group).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        parse_key_package(bytes)?;
        Ok(Self(bytes.to_vec()))
    }

    /// The member id the key package's credential claims (unverified until the key
    /// package is added to a group).
    pub fn member_id(&self) -> Result<crate::MemberId, Error> {
        crate::MemberId::of_credential(&self.parse()?.unverified_credential().credential)
    }

    /// The display name the key package's leaf shows, once its signatures
    /// check out and its profile is valid (a picture too large is refused).
    pub fn display_name(&self) -> Result<crate::DisplayName, Error> {
        Ok(self.member_profile()?.name().clone())
    }

    /// The name and picture the key package's leaf shows, once its signatures
    /// check out.
    pub fn member_profile(&self) -> Result<crate::MemberProfile, Error> {
        let crypto = openmls_libcrux_crypto::CryptoProvider::new()
            .map_err(|_| Error::Local("random generator"))?;
        let key_package = self
            .parse()?
            .validate(&crypto, openmls::prelude::ProtocolVersion::Mls10)
            .map_err(|_| Error::Rejected("key package"))?;
        crate::MemberProfile::of_leaf(key_package.leaf_node())
    }

    /// The parsed, unverified key package.
    pub(crate) fn parse(&self) -> Result<KeyPackageIn, Error> {
        parse_key_package(&self.0)
    }
}

impl Commit {
    /// Our own pending commit as a pickle kept it (compared byte for byte with the log).
    pub(crate) fn from_stored(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }
}

impl Welcome {
    /// The welcome of our pending commit as a pickle kept it.
    pub(crate) fn from_stored(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }
}

/// Encodes an outgoing message.
fn encode(message: &MlsMessageOut) -> Result<Vec<u8>, Error> {
    message.to_bytes().map_err(|_| Error::Local("encoding"))
}

/// A key package of ours as the `MLSMessage` that carries it.
pub(crate) fn key_package_message(
    key_package: openmls::prelude::KeyPackage,
) -> Result<KeyPackage, Error> {
    KeyPackage::new(&MlsMessageOut::from(key_package))
}

/// Parses a whole `MLSMessage` of at most `max` bytes, refusing trailing bytes.
fn parse(bytes: &[u8], max: usize, what: &'static str) -> Result<MlsMessageIn, Error> {
    if bytes.len() > max {
        return Err(Error::TooLong {
            what,
            len: bytes.len(),
            max,
        });
    }
    let (message, rest) =
        MlsMessageIn::tls_deserialize_bytes(bytes).map_err(|_| Error::Malformed(what))?;
    if !rest.is_empty() {
        return Err(Error::Malformed(what));
    }
    Ok(message)
}

fn parse_key_package(bytes: &[u8]) -> Result<KeyPackageIn, Error> {
    match parse(bytes, MAX_KEY_PACKAGE_LEN, "key package")?.extract() {
        MlsMessageBodyIn::KeyPackage(key_package) => Ok(key_package),
        _ => Err(Error::Malformed("key package")),
    }
}

/// Parses a welcome received over a pairwise connection.
pub(crate) fn parse_welcome(bytes: &[u8]) -> Result<MlsWelcome, Error> {
    match parse(bytes, MAX_WELCOME_LEN, "welcome")?.extract() {
        MlsMessageBodyIn::Welcome(welcome) => Ok(welcome),
        _ => Err(Error::Malformed("welcome")),
    }
}

/// Parses a message read from the group log: only private messages are accepted (the
/// group's wire format policy), so the log learns nothing but group id, epoch and type.
pub(crate) fn parse_group_message(bytes: &[u8]) -> Result<MlsMessageIn, Error> {
    let message = parse(bytes, MAX_GROUP_MESSAGE_LEN, "group message")?;
    match message.wire_format() {
        WireFormat::PrivateMessage => Ok(message),
        _ => Err(Error::Malformed("group message")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_bytes_are_errors() {
        for bytes in [
            &[][..],
            &[0, 1],
            &[0, 1, 0, 5, 0xff, 0xff, 0xff, 0xff],
            &[0; 64],
        ] {
            assert!(KeyPackage::from_bytes(bytes).is_err());
            assert!(parse_welcome(bytes).is_err());
            assert!(parse_group_message(bytes).is_err());
        }
        let long = vec![0; MAX_KEY_PACKAGE_LEN + 1];
        assert!(matches!(
            KeyPackage::from_bytes(&long),
            Err(Error::TooLong { .. })
        ));
    }
}
