//! `sotto`: Sotto's command line. Every operation is one command on a profile
//! directory, with text output for people and `--json` for scripts
//! (docs/cli.md documents both).
//!
//! Modules:
//! - `commands`: what each command does, over the client runtime.
//! - `chat`: the interactive terminal UI (`sotto chat`).
//! - `profile`: the profile directory, its database and passphrase.
//! - `json`: the `--json` shapes.
//! - `terminal_text`: what a contact or relay sent, made safe to print.
//! - `failure`: errors with a stable kind.

mod chat;
mod clock_text;
mod commands;
mod control;
mod failure;
mod group_watch;
mod json;
mod profile;
mod terminal_text;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Sotto: an end-to-end encrypted messenger whose relays know no user.
///
/// Each command opens the profile, does its work with the relays (connecting
/// only as long as needed) and exits. The passphrase comes from
/// --passphrase-file, the SOTTO_PASSPHRASE variable, or a prompt.
#[derive(Debug, Parser)]
#[command(name = "sotto", version)]
struct Cli {
    /// The profile directory.
    #[arg(
        long,
        global = true,
        env = "SOTTO_PROFILE",
        default_value = "sotto-profile"
    )]
    profile: PathBuf,
    /// Read the passphrase from this file (a trailing newline is dropped).
    #[arg(long, global = true, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// Print one JSON object on stdout instead of text (shapes in docs/cli.md).
    #[arg(long, global = true)]
    json: bool,
    /// Connect to relays through this SOCKS5 proxy (for instance Tor at 127.0.0.1:9050).
    #[arg(long, global = true, value_name = "HOST:PORT")]
    socks5: Option<String>,
    /// Seconds to wait for relays before giving up (what is not sent stays queued).
    #[arg(long, global = true, default_value_t = 30)]
    timeout: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a profile in the profile directory.
    Init {
        /// Your display name, sent only to your contacts.
        #[arg(long)]
        name: String,
        /// A short bio, sent only to your contacts.
        #[arg(long)]
        bio: Option<String>,
        /// Your relay: where your receiving queues are (sotto://FINGERPRINT@HOST:PORT).
        #[arg(long)]
        relay: String,
    },
    /// Create a one-time invitation: prints its link and a QR code.
    Invite {
        /// Print only the link, no QR code.
        #[arg(long)]
        no_qr: bool,
    },
    /// Connect to someone through their invitation or contact-address link.
    Connect {
        /// The link.
        link: String,
        /// Connect this existing contact again (who lost their device, say):
        /// the chat is kept, and if their keys changed it says so.
        #[arg(long, value_name = "CONTACT")]
        contact: Option<String>,
    },
    /// List contacts, most recently active first.
    Contacts,
    /// Pin a chat (listed first), or unpin it with --undo.
    Pin {
        /// The contact's name or id.
        contact: String,
        /// Unpin.
        #[arg(long)]
        undo: bool,
    },
    /// Archive a chat (kept out of the chat list), or bring it back with --undo.
    Archive {
        /// The contact's name or id.
        contact: String,
        /// Bring it back.
        #[arg(long)]
        undo: bool,
    },
    /// Name a contact on this device only (without NAME: show their own name again).
    Alias {
        /// The contact's name, alias or id.
        contact: String,
        /// The name to show, 1 to 64 bytes.
        name: Option<String>,
    },
    /// Block a contact: their queue is deleted, nothing more arrives from them
    /// (contact requests included), and they are told nothing. --undo lifts it.
    Block {
        /// The contact's name or id.
        contact: String,
        /// Unblock (talking again then takes a new link: `connect --contact`).
        #[arg(long)]
        undo: bool,
    },
    /// Delete every message of a chat on this device; the chat stays.
    Clear {
        /// The contact's name or id.
        contact: String,
    },
    /// Delete a chat on this device: its history, its connection (the queue is
    /// deleted on the relay) and the contact. The contact is told nothing.
    DeleteChat {
        /// The contact's name or id.
        contact: String,
    },
    /// Send a text.
    Send {
        /// The contact's (or group's) name or id.
        contact: String,
        /// The text.
        text: String,
        /// In a group: mention this member (id or name; repeat for more).
        #[arg(long = "mention")]
        mentions: Vec<String>,
    },
    /// Reply to a message.
    Reply {
        /// The contact's name or id.
        contact: String,
        /// The number of the message replied to (see `history`).
        message: u64,
        /// The text.
        text: String,
        /// In a group: mention this member (id or name; repeat for more).
        #[arg(long = "mention")]
        mentions: Vec<String>,
    },
    /// React to a message (an empty emoji removes your reaction).
    React {
        /// The contact's name or id.
        contact: String,
        /// The message's number.
        message: u64,
        /// The emoji.
        emoji: String,
    },
    /// Edit one of your messages.
    Edit {
        /// The contact's name or id.
        contact: String,
        /// The message's number.
        message: u64,
        /// The new text.
        text: String,
    },
    /// Delete one of your messages for everyone (or, with --for-me, any
    /// message on this device only).
    Delete {
        /// The contact's name or id.
        contact: String,
        /// The message's number.
        message: u64,
        /// Delete it on this device only; the contact keeps their copy.
        #[arg(long)]
        for_me: bool,
    },
    /// Mute a chat's notifications (`sotto chat` and the web client): for a
    /// time such as 8h or 1w, or always; --undo unmutes.
    Mute {
        /// The contact's name or id.
        contact: String,
        /// How long: minutes, hours, days or weeks (30m, 8h, 2d, 1w), or `always`.
        #[arg(long = "for", default_value = "always", value_name = "TIME")]
        duration: String,
        /// Unmute.
        #[arg(long)]
        undo: bool,
    },
    /// Fetch and process what waits on the relays, then exit. Unfinished
    /// file transfers go on, and files under the auto-download size download.
    Receive,
    /// Send a file (any type, images too): encrypted once, uploaded to your
    /// relay in chunks, then offered in the chat. An interrupted upload goes
    /// on at the next `sotto receive`.
    SendFile {
        /// The contact's name or id.
        contact: String,
        /// The file.
        path: PathBuf,
    },
    /// Download a file received (`sotto download CONTACT NUMBER`, the number
    /// as `history` shows it) or every file waiting (--all), and save it in
    /// plain form into the current directory (or --dir). An existing file is
    /// never overwritten: a name that is taken gets " (2)", " (3)", ….
    Download {
        /// The contact's name or id.
        #[arg(required_unless_present = "all")]
        contact: Option<String>,
        /// The file's message number.
        #[arg(required_unless_present = "all")]
        number: Option<u64>,
        /// Every file received and not downloaded yet.
        #[arg(long, conflicts_with_all = ["contact", "number"])]
        all: bool,
        /// Save into this directory instead of the current one.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Files up to SIZE download as they arrive (kept encrypted in the
    /// profile until `sotto download` saves them): 500K, 5M, 1G, or `off`
    /// (the default). Without SIZE, show the setting.
    AutoDownload {
        /// A size (bytes, or with K, M, G, KiB, MiB, GiB), or `off`.
        setting: Option<String>,
    },
    /// A chat's media settings: automatic downloads in this chat (`on`:
    /// every file, `off`: none, `default`: the profile's limit), and
    /// blocking the saving and exporting of its media for both sides (sent
    /// to the contact). Without options, show them.
    Media {
        /// The contact's name or id.
        contact: String,
        /// `on`, `off` or `default`.
        #[arg(long, value_name = "on|off|default")]
        auto_download: Option<String>,
        /// `on` or `off`.
        #[arg(long, value_name = "on|off")]
        block_saving: Option<String>,
    },
    /// Stay connected (every queue subscribed, reconnecting when a relay is
    /// lost) and print each event as it happens, until interrupted.
    Listen,
    /// The interactive terminal UI: chats, conversations and compose.
    Chat {
        /// Lock the screen after this many seconds without a key press
        /// (unlock with the passphrase); 0 never locks.
        #[arg(long, default_value_t = 300)]
        lock_after: u64,
    },
    /// Search the text of every message of every chat (on this device only),
    /// newest first.
    Search {
        /// The text to look for (any case).
        text: String,
        /// At most this many results.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Show a chat's messages, oldest first.
    History {
        /// The contact's name or id.
        contact: String,
        /// At most this many of the newest items.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Mark the chat as read (sends read receipts if they are on).
        #[arg(long)]
        mark_read: bool,
    },
    /// Set a chat's disappearing-message timer: 30 to 2419200 seconds, or `off`.
    Timer {
        /// The contact's name or id.
        contact: String,
        /// Seconds, or `off`.
        seconds: String,
    },
    /// Read receipts: globally, or for one chat with --contact.
    Receipts {
        /// `on` or `off` (or `default` for a chat: follow the global setting);
        /// without it, show the setting.
        setting: Option<String>,
        /// The chat (name or id).
        #[arg(long)]
        contact: Option<String>,
    },
    /// Typing indicators (off by default): without a setting, show it.
    TypingIndicators {
        /// `on` or `off`.
        setting: Option<String>,
    },
    /// Who can add you to groups: `contacts` (the default: a contact's
    /// invitation joins at once) or `nobody` (every invitation waits, see
    /// `group invitations`); without a setting, show it.
    GroupAdds {
        /// `contacts` or `nobody`.
        setting: Option<String>,
    },
    /// Tell a contact that you are typing (or, with --stop, that you stopped);
    /// nothing is sent while typing indicators are off.
    Typing {
        /// The contact's name or id.
        contact: String,
        /// Say that you stopped typing.
        #[arg(long)]
        stop: bool,
    },
    /// Show your profile, or change it: the change goes to every connected
    /// contact (and only to them).
    Profile {
        /// A new display name.
        #[arg(long)]
        name: Option<String>,
        /// A new bio (an empty one removes it).
        #[arg(long)]
        bio: Option<String>,
    },
    /// Show a contact's security code, or mark it verified.
    Verify {
        /// The contact's name or id.
        contact: String,
        /// Mark the code as verified (after comparing it with the contact).
        #[arg(long, conflicts_with = "unmark")]
        mark: bool,
        /// Mark the code as not verified.
        #[arg(long)]
        unmark: bool,
    },
    /// Groups: create, invite contacts, list, promote and remove members, leave.
    /// `send GROUP TEXT` writes to a group; `receive` reads every group.
    Group {
        #[command(subcommand)]
        action: GroupAction,
    },
    /// The long-term contact address.
    Address {
        #[command(subcommand)]
        action: AddressAction,
    },
    /// Contact requests that came through the contact address.
    Requests {
        #[command(subcommand)]
        action: Option<RequestsAction>,
    },
    /// Write an encrypted archive of the whole profile (under its passphrase);
    /// this copy is then retired.
    Export {
        /// The archive file to write.
        file: PathBuf,
    },
    /// Create this profile from an archive (the passphrase is the archive's).
    Import {
        /// The archive file.
        file: PathBuf,
    },
    /// Change the profile's passphrase.
    Passphrase {
        /// Read the new passphrase from this file instead of a prompt.
        #[arg(long, value_name = "FILE")]
        new_passphrase_file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum GroupAction {
    /// Create a group on your relay, with you as its owner.
    Create {
        /// The group's name (1 to 64 bytes).
        name: String,
        /// What the group is about (up to 512 bytes).
        #[arg(long, value_name = "TEXT")]
        description: Option<String>,
        /// The group's picture: a small image file (up to 8192 bytes).
        #[arg(long, value_name = "FILE")]
        picture: Option<std::path::PathBuf>,
    },
    /// The group's name, description, picture, members and your role.
    Info {
        /// The group's name or id.
        group: String,
    },
    /// Change the group's name, description or picture (owners and admins):
    /// every member sees the change.
    Edit {
        /// The group's name or id.
        group: String,
        /// A new name.
        #[arg(long)]
        name: Option<String>,
        /// A new description (`""` for none).
        #[arg(long, value_name = "TEXT")]
        description: Option<String>,
        /// A new picture: a small image file (up to 8192 bytes).
        #[arg(long, value_name = "FILE", conflicts_with = "no_picture")]
        picture: Option<std::path::PathBuf>,
        /// Remove the picture.
        #[arg(long)]
        no_picture: bool,
    },
    /// Change the name or picture you show in this group (any member): every
    /// member sees the change. Without options, shows them.
    Me {
        /// The group's name or id.
        group: String,
        /// The name you show in this group.
        #[arg(long)]
        name: Option<String>,
        /// Your picture in this group: a small image file (up to 2048 bytes,
        /// e.g. a 64×64 JPEG or WebP).
        #[arg(long, value_name = "FILE", conflicts_with = "no_picture")]
        picture: Option<std::path::PathBuf>,
        /// Remove your picture in this group.
        #[arg(long)]
        no_picture: bool,
    },
    /// Invite a contact: they join once both of you run `sotto receive`.
    Invite {
        /// The group's name or id.
        group: String,
        /// The contact's name or id.
        contact: String,
    },
    /// List the members.
    Members {
        /// The group's name or id.
        group: String,
    },
    /// Remove a member: they read nothing written after, and cannot write.
    Remove {
        /// The group's name or id.
        group: String,
        /// The member's id or name (see `group members`).
        member: String,
    },
    /// Give a member a role (owners and admins; an admin names no owner).
    Promote {
        /// The group's name or id.
        group: String,
        /// The member's id or name (see `group members`).
        member: String,
        /// `admin` or `member` (an owner may also name an `owner`).
        role: String,
    },
    /// Block a member for you: their messages are not shown on this
    /// device (dropped as they arrive); no one is told.
    Block {
        /// The group's name or id.
        group: String,
        /// The member's id or name (see `group members`).
        member: String,
    },
    /// Unblock a member: their messages show again from now on.
    Unblock {
        /// The group's name or id.
        group: String,
        /// The member's id or name (see `group members`).
        member: String,
    },
    /// Leave the group.
    Leave {
        /// The group's name or id.
        group: String,
    },
    /// Delete the group for everyone (owners): every member's client stops
    /// reading and writing it (the history stays), and its log is deleted
    /// from the relay.
    Delete {
        /// The group's name or id.
        group: String,
    },
    /// The group's link (admins): prints it, made on your relay the first
    /// time; people ask to join with `group join LINK`. Only this device
    /// sees and decides the requests.
    Link {
        /// The group's name or id.
        group: String,
        /// Also print a QR code.
        #[arg(long)]
        qr: bool,
        /// Make a new link: the old one stops working.
        #[arg(long, conflicts_with = "delete")]
        replace: bool,
        /// Delete the link: no more requests can arrive through it.
        #[arg(long)]
        delete: bool,
        /// Who lets people in: `admin` (an admin approves each request, the
        /// default) or `automatic`.
        #[arg(long, value_name = "WHO")]
        approval: Option<String>,
    },
    /// Ask to join a group through its link; you join once an admin's
    /// client approves and you run `sotto receive`.
    Join {
        /// The group's link.
        link: String,
        /// The name you show in this group (your display name if not given);
        /// nothing else of your profile reaches the group.
        #[arg(long)]
        name: Option<String>,
        /// Your picture in this group: a small image file (up to 2048 bytes,
        /// e.g. a 64×64 JPEG or WebP).
        #[arg(long, value_name = "FILE")]
        picture: Option<std::path::PathBuf>,
    },
    /// Your requests to join through links that wait for an answer.
    Joins {
        /// Give up this join (its id): a later answer is not read.
        #[arg(long, value_name = "ID")]
        cancel: Option<u64>,
    },
    /// Requests to join through the group's link.
    Requests {
        /// The group's name or id.
        group: String,
    },
    /// Approve a request to join: the requester is added.
    Approve {
        /// The group's name or id.
        group: String,
        /// The request's id (see `group requests`).
        request: u64,
    },
    /// Decline a request to join: the requester is told.
    Decline {
        /// The group's name or id.
        group: String,
        /// The request's id (see `group requests`).
        request: u64,
    },
    /// Invitations waiting for your decision (`group-adds nobody`).
    Invitations {
        #[command(subcommand)]
        action: Option<InvitationsAction>,
    },
}

#[derive(Debug, Subcommand)]
enum InvitationsAction {
    /// List the invitations waiting (the default).
    List,
    /// Accept an invitation: you join once both of you run `sotto receive`.
    Accept {
        /// The invitation's id.
        invitation: u64,
    },
    /// Decline an invitation: it is forgotten and nothing is sent.
    Decline {
        /// The invitation's id.
        invitation: u64,
    },
}

#[derive(Debug, Subcommand)]
enum AddressAction {
    /// Create (or replace) the contact address and print its link.
    Create,
    /// Print the contact address link.
    Show,
    /// Delete the contact address: no more requests can arrive through it.
    Delete,
}

#[derive(Debug, Subcommand)]
enum RequestsAction {
    /// List the requests waiting (the default).
    List,
    /// Accept a request: the requester becomes a contact.
    Accept {
        /// The request's id.
        request: u64,
    },
    /// Reject a request: nothing of it is kept.
    Reject {
        /// The request's id.
        request: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    // Two workers: a file transfer's relay connection and the command's own
    // work run side by side.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("sotto: starting the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let kind = failure::kind(&error);
            if json && !failure::shown(&error) {
                let value = serde_json::json!({
                    "error": { "kind": kind, "message": format!("{error:#}") }
                });
                let _ = json::write_line(&mut std::io::stdout().lock(), &value);
            }
            // An error may quote a relay or a file.
            eprintln!("sotto: {}", terminal_text::one_line(&format!("{error:#}")));
            ExitCode::FAILURE
        }
    }
}
