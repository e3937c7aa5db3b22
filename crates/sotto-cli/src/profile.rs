//! A profile directory: its encrypted database, the passphrase that opens it,
//! and the relay the user chose at `init` (kept inside the database).

use std::path::{Path, PathBuf};

use anyhow::Context;
use sotto_core::{Core, CoreError, Passphrase, Profile, Store, StoreError, Table};
use sotto_store::SqlCipherStore;
use sotto_wire::RelayAddress;

use crate::failure::Failure;

/// The database's file name inside the profile directory.
const DATABASE: &str = "profile.db";

/// Release 0.1 kept the home relay in a table of the command line's own.
const CLI_SETTINGS: Table = Table::new("cli_settings");
const LEGACY_RELAY_KEY: &[u8] = b"relay";

/// Where the passphrase comes from.
#[derive(Debug, Clone)]
pub(crate) struct PassphraseSource {
    pub(crate) file: Option<PathBuf>,
}

impl PassphraseSource {
    /// The passphrase from `--passphrase-file`, `SOTTO_PASSPHRASE`, or a prompt
    /// without echo (asked twice when `confirm`).
    pub(crate) fn read(&self, prompt: &str, confirm: bool) -> anyhow::Result<Passphrase> {
        if let Some(file) = &self.file {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading the passphrase file {}", file.display()))?;
            return Ok(Passphrase::new(text.trim_end_matches(['\r', '\n'])));
        }
        if let Ok(text) = std::env::var("SOTTO_PASSPHRASE") {
            return Ok(Passphrase::new(text));
        }
        let first = rpassword::prompt_password(format!("{prompt}: "))
            .context("reading the passphrase from the terminal")?;
        if confirm {
            let second = rpassword::prompt_password(format!("{prompt} (again): "))
                .context("reading the passphrase from the terminal")?;
            if first != second {
                return Err(Failure::new("usage", "the two passphrases differ").into());
            }
        }
        Ok(Passphrase::new(first))
    }
}

/// `passphrase`, unless it is empty: a passphrase chosen for a profile must
/// protect something (an existing profile's is not checked, so one made empty
/// by an earlier version still opens).
pub(crate) fn chosen(passphrase: Passphrase) -> anyhow::Result<Passphrase> {
    match passphrase.check_chosen() {
        Ok(()) => Ok(passphrase),
        Err(_) => Err(empty_passphrase()),
    }
}

fn empty_passphrase() -> anyhow::Error {
    Failure::new(
        "empty_passphrase",
        "the passphrase is empty: choose one (it protects the profile on disk)",
    )
    .into()
}

/// The path of the database in `dir`.
pub(crate) fn database_path(dir: &Path) -> PathBuf {
    dir.join(DATABASE)
}

/// Creates the directory and an empty database in it.
pub(crate) fn create_store(dir: &Path, passphrase: &Passphrase) -> anyhow::Result<SqlCipherStore> {
    let path = database_path(dir);
    if path.exists() {
        return Err(Failure::new(
            "profile_exists",
            format!("a profile already exists in {}", dir.display()),
        )
        .into());
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the profile directory {}", dir.display()))?;
    SqlCipherStore::create(&path, passphrase).map_err(|error| store_failure(error, dir))
}

/// Opens the database in `dir`.
pub(crate) fn open_store(dir: &Path, passphrase: &Passphrase) -> anyhow::Result<SqlCipherStore> {
    let path = database_path(dir);
    if !path.exists() {
        return Err(Failure::new(
            "no_profile",
            format!(
                "no profile in {} (create one with `sotto --profile {} init`)",
                dir.display(),
                dir.display()
            ),
        )
        .into());
    }
    SqlCipherStore::open(&path, passphrase).map_err(|error| store_failure(error, dir))
}

/// Opens the profile's core.
pub(crate) fn open_core(
    dir: &Path,
    passphrase: &Passphrase,
) -> anyhow::Result<(Core<SqlCipherStore>, RelayAddress)> {
    let store = open_store(dir, passphrase)?;
    let mut core = Core::open(store).map_err(core_failure)?;
    let relay = home_relay(&mut core)?;
    Ok((core, relay))
}

/// The profile's home relay (the first in the core's account). A profile
/// made by release 0.1 kept it in the command line's own table: it moves
/// into the account the first time it is read.
pub(crate) fn home_relay(core: &mut Core<SqlCipherStore>) -> anyhow::Result<RelayAddress> {
    if let Some(relay) = core.home_relays().first() {
        return Ok(relay.clone());
    }
    let Some(bytes) = core.store().get(CLI_SETTINGS, LEGACY_RELAY_KEY)? else {
        return Err(Failure::new("no_profile", "the profile has no relay address").into());
    };
    let text = String::from_utf8(bytes).context("the stored relay address")?;
    let relay: RelayAddress = text
        .parse()
        .map_err(|error| anyhow::anyhow!("the stored relay address does not parse: {error}"))?;
    // The old record stays (unread from now on): the account is the truth.
    core.set_home_relays(vec![relay.clone()])
        .map_err(core_failure)?;
    Ok(relay)
}

/// A storage error in the words a user needs.
pub(crate) fn store_failure(error: StoreError, dir: &Path) -> anyhow::Error {
    match &error {
        StoreError::WrongPassphrase => {
            Failure::new("wrong_passphrase", "wrong passphrase for this profile").into()
        }
        StoreError::EmptyPassphrase => empty_passphrase(),
        StoreError::Unavailable(reason) if reason.contains("locked") || reason.contains("busy") => {
            Failure::new(
                "profile_in_use",
                format!(
                    "the profile in {} is in use by another sotto process",
                    dir.display()
                ),
            )
            .into()
        }
        _ => anyhow::Error::new(error),
    }
}

/// A core error in the words a user needs.
pub(crate) fn core_failure(error: CoreError) -> anyhow::Error {
    match error {
        CoreError::ProfileMoved => Failure::new(
            "profile_moved",
            "this profile was exported and moved to another device; use the imported copy",
        )
        .into(),
        CoreError::Store(StoreError::WrongPassphrase) => {
            Failure::new("wrong_passphrase", "wrong passphrase for this profile").into()
        }
        CoreError::Store(StoreError::Unavailable(reason))
            if reason.contains("locked") || reason.contains("busy") =>
        {
            Failure::new(
                "profile_in_use",
                "the profile is in use by another sotto process",
            )
            .into()
        }
        CoreError::UnknownContact => Failure::new("unknown_contact", "no such contact").into(),
        CoreError::UnknownMessage => Failure::new("unknown_message", "no such message").into(),
        CoreError::UnknownRequest => {
            Failure::new("unknown_request", "no such contact request").into()
        }
        CoreError::UnknownInvitation => {
            Failure::new("unknown_invitation", "no such group invitation").into()
        }
        CoreError::NotConnected => {
            Failure::new("not_connected", "the contact is not connected yet").into()
        }
        CoreError::AlreadyContact { chat } => crate::commands::already_contact(chat),
        CoreError::Group(error @ sotto_groups::Error::Forbidden { .. }) => {
            Failure::new("forbidden", format!("in this group, {error}")).into()
        }
        other => anyhow::Error::new(other),
    }
}

/// Creates a profile: the database, the relay and the core's account.
pub(crate) fn init(
    dir: &Path,
    passphrase: &Passphrase,
    name: &str,
    bio: Option<&str>,
    relay: &RelayAddress,
) -> anyhow::Result<Core<SqlCipherStore>> {
    let profile = Profile::new(name, bio).map_err(core_failure)?;
    let store = create_store(dir, passphrase)?;
    let mut core = Core::create(store, &mut rand::rngs::OsRng, profile).map_err(core_failure)?;
    core.set_home_relays(vec![relay.clone()])
        .map_err(core_failure)?;
    Ok(core)
}
