//! The MLS profile every Sotto group uses: ciphersuite, extension types, capabilities,
//! wire format, padding and size limits. Every member must use the same values, so they
//! live in one place and are specified in `docs/e2e-protocol.md` (MLS groups).

use openmls::prelude::{
    Capabilities, Ciphersuite, CredentialType, Extension, ExtensionType, Extensions, GroupContext,
    Lifetime, MlsGroupCreateConfig, MlsGroupCreateConfigBuilder, MlsGroupJoinConfig,
    PURE_CIPHERTEXT_WIRE_FORMAT_POLICY, ProtocolVersion, RequiredCapabilitiesExtension,
    SenderRatchetConfiguration, UnknownExtension,
};

use crate::Error;
use crate::group_profile::{GROUP_PROFILE_EXTENSION_TYPE, GroupProfile};
use crate::member_profile::MemberProfile;
use crate::role::RoleMap;

/// MLS_256_XWING_CHACHA20POLY1305_SHA256_Ed25519 (0x004D): X-Wing (ML-KEM-768 + X25519)
/// HPKE, ChaCha20-Poly1305, SHA-256, Ed25519.
pub const CIPHERSUITE: Ciphersuite = Ciphersuite::MLS_256_XWING_CHACHA20POLY1305_SHA256_Ed25519;

/// Group context extension holding the roles (private-use range of RFC 9420, 17.3).
pub const ROLES_EXTENSION_TYPE: u16 = 0xF5A0;
/// Leaf node extension holding the member's display name for the group.
pub const PROFILE_EXTENSION_TYPE: u16 = 0xF5A1;
/// Leaf node extension holding the member's picture for the group, in a leaf that has
/// one. Not among the group's required capabilities: a leaf made before it shows no
/// picture, and the group context of a group made before it stays as it was.
pub const MEMBER_PICTURE_EXTENSION_TYPE: u16 = 0xF5A3;

/// Private messages (application and handshake alike) are padded so that their
/// encrypted content is a multiple of this many bytes (RFC 9420, 6.3.1): every text
/// shorter than about 3.9 KiB gives one ciphertext size, longer ones show their length
/// only in 4 KiB steps, and a padded message still fits one 16 KiB relay block.
pub const PADDING_SIZE: usize = 4096;

/// Application secrets of this many past epochs are kept, so that a message sent just
/// before a commit still decrypts after it.
pub const MAX_PAST_EPOCHS: usize = 2;
/// Out-of-order tolerance and forward distance of the sender ratchets (messages per
/// sender per epoch that may be skipped).
const OUT_OF_ORDER_TOLERANCE: u32 = 32;
const MAXIMUM_FORWARD_DISTANCE: u32 = 1000;

/// Longest application plaintext.
pub const MAX_PLAINTEXT_LEN: usize = 64 * 1024;
/// Longest group message (commit, proposal or application message) accepted from the log.
pub const MAX_GROUP_MESSAGE_LEN: usize = 16 * 1024 * 1024;
/// Longest welcome accepted (it carries the ratchet tree: about 2.6 KiB per member).
pub const MAX_WELCOME_LEN: usize = 64 * 1024 * 1024;
/// Longest key package accepted.
pub const MAX_KEY_PACKAGE_LEN: usize = 16 * 1024;

/// Longest key package lifetime, in seconds (OpenMLS refuses leaf lifetimes whose range
/// exceeds 12 weeks and an hour; the hour is the clock-skew margin below).
pub const MAX_KEY_PACKAGE_LIFETIME_SECS: u64 = 12 * 7 * 24 * 60 * 60;
/// A key package is valid from this long before its creation (clock skew).
pub const KEY_PACKAGE_SKEW_MARGIN_SECS: u64 = 60 * 60;

/// The capabilities every member's leaf advertises: protocol MLS 1.0, the X-Wing
/// ciphersuite, basic credentials and Sotto's four extensions.
pub(crate) fn capabilities() -> Capabilities {
    Capabilities::new(
        Some(&[ProtocolVersion::Mls10]),
        Some(&[CIPHERSUITE]),
        Some(&[
            ExtensionType::Unknown(ROLES_EXTENSION_TYPE),
            ExtensionType::Unknown(PROFILE_EXTENSION_TYPE),
            ExtensionType::Unknown(GROUP_PROFILE_EXTENSION_TYPE),
            ExtensionType::Unknown(MEMBER_PICTURE_EXTENSION_TYPE),
        ]),
        Some(&[]),
        Some(&[CredentialType::Basic]),
    )
}

/// The group context extensions of a group with these roles and this profile: the
/// roles, the group's profile (when it has one) and the required capabilities (Sotto's
/// three extensions).
pub(crate) fn group_context_extensions(
    roles: &RoleMap,
    profile: Option<&GroupProfile>,
) -> Result<Extensions<GroupContext>, Error> {
    let required = RequiredCapabilitiesExtension::new(
        &[
            ExtensionType::Unknown(ROLES_EXTENSION_TYPE),
            ExtensionType::Unknown(PROFILE_EXTENSION_TYPE),
            ExtensionType::Unknown(GROUP_PROFILE_EXTENSION_TYPE),
        ],
        &[],
        &[CredentialType::Basic],
    );
    let mut extensions = vec![
        Extension::RequiredCapabilities(required),
        Extension::Unknown(ROLES_EXTENSION_TYPE, UnknownExtension(roles.to_bytes())),
    ];
    if let Some(profile) = profile {
        extensions.push(Extension::Unknown(
            GROUP_PROFILE_EXTENSION_TYPE,
            UnknownExtension(profile.to_bytes()),
        ));
    }
    Extensions::from_vec(extensions).map_err(|_| Error::Local("group context extensions"))
}

/// The group's profile held in group context extensions, if it has one.
pub(crate) fn profile_of(
    extensions: &Extensions<GroupContext>,
) -> Result<Option<GroupProfile>, Error> {
    extensions
        .unknown(GROUP_PROFILE_EXTENSION_TYPE)
        .map(|data| GroupProfile::from_bytes(&data.0))
        .transpose()
}

/// The roles held in group context extensions.
pub(crate) fn roles_of(extensions: &Extensions<GroupContext>) -> Result<RoleMap, Error> {
    let data = extensions
        .unknown(ROLES_EXTENSION_TYPE)
        .ok_or(Error::InvalidRoles)?;
    RoleMap::from_bytes(&data.0)
}

/// Group context extensions other than the roles and the group's profile, which no
/// commit may change.
pub(crate) fn fixed_extensions(extensions: &Extensions<GroupContext>) -> Vec<&Extension> {
    extensions
        .iter()
        .filter(|e| {
            e.extension_type() != ExtensionType::Unknown(ROLES_EXTENSION_TYPE)
                && e.extension_type() != ExtensionType::Unknown(GROUP_PROFILE_EXTENSION_TYPE)
        })
        .collect()
}

/// The configuration OpenMLS runs every group with, as its creator and as a joiner.
fn base_config() -> MlsGroupCreateConfigBuilder {
    MlsGroupCreateConfig::builder()
        .ciphersuite(CIPHERSUITE)
        .capabilities(capabilities())
        .wire_format_policy(PURE_CIPHERTEXT_WIRE_FORMAT_POLICY)
        .padding_size(PADDING_SIZE)
        .max_past_epochs(MAX_PAST_EPOCHS)
        .sender_ratchet_configuration(SenderRatchetConfiguration::new(
            OUT_OF_ORDER_TOLERANCE,
            MAXIMUM_FORWARD_DISTANCE,
        ))
        .use_ratchet_tree_extension(true)
}

/// The configuration of a new group: its creator's roles, profile and leaf lifetime,
/// and the group's profile.
pub(crate) fn create_config(
    roles: &RoleMap,
    member: &MemberProfile,
    lifetime: Lifetime,
    profile: Option<&GroupProfile>,
) -> Result<MlsGroupCreateConfig, Error> {
    Ok(base_config()
        .with_group_context_extensions(group_context_extensions(roles, profile)?)
        .with_leaf_node_extensions(member.leaf_extensions()?)
        .map_err(|_| Error::Local("leaf node extensions"))?
        .lifetime(lifetime)
        .build())
}

/// The configuration of a group joined by a welcome.
pub(crate) fn join_config() -> MlsGroupJoinConfig {
    base_config().build().join_config().clone()
}

/// The lifetime of a leaf made at `now` (seconds since the Unix epoch) to last
/// `lifetime_secs`; it starts an hour early for clock skew.
pub(crate) fn lifetime(now: u64, lifetime_secs: u64) -> Result<Lifetime, Error> {
    if lifetime_secs == 0 || lifetime_secs > MAX_KEY_PACKAGE_LIFETIME_SECS {
        return Err(Error::InvalidLifetime);
    }
    let not_after = now
        .checked_add(lifetime_secs)
        .ok_or(Error::InvalidLifetime)?;
    Ok(Lifetime::init(
        now.saturating_sub(KEY_PACKAGE_SKEW_MARGIN_SECS),
        not_after,
    ))
}
