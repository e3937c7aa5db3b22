//! The state of the terminal UI and what each key does to it.
//!
//! [`App::handle_key`] changes only the UI's own state and returns the
//! [`Action`]s that reach the core (send, react, accept a request, …); the
//! runner applies them. What the store holds comes in as a [`Snapshot`], read
//! afresh before each frame, so keys and drawing can be tested without a
//! profile or a terminal.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use sotto_core::{
    ChatId, ChatView, GroupJoinRequestView, GroupMemberView, InvitationId, ItemView,
    MessageDirection, MessageNumber, RequestId, RequestView,
};
use zeroize::Zeroizing;

use super::compose::ComposeLine;

/// A contact's typing indicator is dropped after this long without news (a
/// contact that quit while typing sends no "stopped").
pub(crate) const TYPING_SHOWN_FOR: Duration = Duration::from_secs(30);

/// The disappearing-message timers to choose from (seconds; `None` is off).
pub(crate) const TIMER_CHOICES: [Option<u32>; 7] = [
    None,
    Some(30),
    Some(300),
    Some(3_600),
    Some(86_400),
    Some(7 * 86_400),
    Some(28 * 86_400),
];

/// The open chat's security code, as the verification screen shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShownCode {
    /// Thirty digits in groups of five.
    pub(crate) digits: String,
    /// What its QR code carries.
    pub(crate) qr_payload: Vec<u8>,
}

/// What the store holds, as the screens need it.
#[derive(Debug, Default, Clone)]
pub(crate) struct Snapshot {
    /// Every contact, most recently active first.
    pub(crate) contacts: Vec<ChatView>,
    /// The open chat's newest items, oldest first.
    pub(crate) history: Vec<ItemView>,
    /// Contact requests waiting for a decision.
    pub(crate) requests: Vec<RequestView>,
    /// The contact address's link, if there is one.
    pub(crate) address: Option<String>,
    /// Whether this profile sends typing indicators.
    pub(crate) typing_indicators: bool,
    /// Why the last attempt to reach a relay failed, until one succeeds.
    pub(crate) relay_problem: Option<String>,
    /// The open chat's security code, read for the verification screen; on
    /// the members screen, the chosen member's.
    pub(crate) security_code: Option<ShownCode>,
    /// The open chat's group profile, when it is a group's.
    pub(crate) group: Option<ShownGroup>,
}

/// The open group's profile, and its members on the members screen.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ShownGroup {
    /// Empty for none.
    pub(crate) description: String,
    /// The picture's size in bytes (0: none).
    pub(crate) picture_len: usize,
    /// In the group's order; read for the members screen only.
    pub(crate) members: Vec<GroupMemberView>,
    /// Requests to join through the group's link, oldest first; read for
    /// the members screen only.
    pub(crate) requests: Vec<GroupJoinRequestView>,
}

/// A change to the open group's profile (`/name`, `/description`,
/// `/picture`, `/no-picture`), made as `group edit` makes it, or to the name
/// and picture this profile shows in it (`/me`, `/me-picture`,
/// `/me-no-picture`), made as `group me` makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProfileChange {
    Name(String),
    /// Empty removes the description.
    Description(String),
    /// The path of a small image file.
    Picture(std::path::PathBuf),
    NoPicture,
    /// The name this profile shows in the group.
    OwnName(String),
    /// The path of the small image this profile shows in the group.
    OwnPicture(std::path::PathBuf),
    NoOwnPicture,
}

/// The screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Screen {
    /// Chat list, conversation and compose.
    Chats,
    /// A one-time invitation: its QR code and link.
    Invitation,
    /// Contact requests from the contact address.
    Requests,
    /// The contact address: its QR code and link.
    Address,
    /// The open chat's security code (digits and QR code), to mark it
    /// verified.
    Verify,
    /// The open group's profile and members, with the chosen member's
    /// security code.
    Members,
}

/// Where keys go on the chats screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Focus {
    /// Typing a message; Up/Down choose the chat.
    Compose,
    /// Choosing a message of the conversation to act on.
    Messages,
}

/// What Enter does with the compose line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Draft {
    /// A new message.
    Message,
    /// A reply to this message.
    Reply(MessageNumber),
    /// The new text of this (own) message.
    Edit(MessageNumber),
    /// A reaction to this message (empty removes it).
    React(MessageNumber),
}

/// Something for the core to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Leave the UI.
    Quit,
    /// Send a text, as a reply when `reply_to` is set.
    Send {
        contact: ChatId,
        text: String,
        reply_to: Option<MessageNumber>,
    },
    /// Replace the text of an own message.
    Edit {
        contact: ChatId,
        message: MessageNumber,
        text: String,
    },
    /// React to a message (an empty emoji removes the reaction).
    React {
        contact: ChatId,
        message: MessageNumber,
        emoji: String,
    },
    /// Delete an own message for everyone.
    Delete {
        contact: ChatId,
        message: MessageNumber,
    },
    /// Tell the contact this user started or stopped typing (the core sends
    /// it only when typing indicators are on).
    Typing { contact: ChatId, typing: bool },
    /// Turn sending typing indicators on or off.
    ToggleTypingIndicators,
    /// Show the invitation made earlier in this session while it is still
    /// unanswered, else create one.
    ShowInvitation,
    /// Create a one-time invitation.
    CreateInvitation,
    /// Create (or replace) the contact address.
    CreateAddress,
    /// Delete the contact address.
    DeleteAddress,
    /// Accept a contact request.
    Accept(RequestId),
    /// Reject a contact request.
    Reject(RequestId),
    /// Set the chat's disappearing-message timer (`None` turns it off).
    SetTimer {
        contact: ChatId,
        seconds: Option<u32>,
    },
    /// Mark the contact's security code as verified, or not.
    SetVerified { contact: ChatId, verified: bool },
    /// Save a file received in the chat into the current directory
    /// (`/save N`, or `/save` for the newest), downloading it first.
    SaveFile {
        contact: ChatId,
        message: Option<MessageNumber>,
    },
    /// Change the group's profile (owners and admins).
    EditGroup {
        group: ChatId,
        change: ProfileChange,
    },
    /// Approve (or decline) a request to join through the group's link.
    DecideJoin {
        group: ChatId,
        request: u64,
        approve: bool,
    },
}

/// The invitation the invitation screen shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShownInvitation {
    pub(crate) id: InvitationId,
    /// Set once the relay created its queue.
    pub(crate) link: Option<String>,
}

/// The UI's own state (no `Debug`: it holds what is typed to unlock).
pub(crate) struct App {
    pub(crate) screen: Screen,
    /// The open chat.
    pub(crate) chat: Option<ChatId>,
    pub(crate) focus: Focus,
    /// The chosen message while [`Focus::Messages`].
    pub(crate) message: Option<MessageNumber>,
    pub(crate) compose: ComposeLine,
    pub(crate) draft: Draft,
    /// What was typed in other chats, kept while moving between them.
    drafts: HashMap<ChatId, String>,
    /// Esc pressed once with an unsent draft: a second Esc quits.
    quit_armed: bool,
    /// A delete waiting for `y`.
    pub(crate) confirm_delete: Option<MessageNumber>,
    /// A contact-address deletion waiting for `y`.
    pub(crate) confirm_address_delete: bool,
    /// Choosing the open chat's timer: the index in [`TIMER_CHOICES`].
    pub(crate) timer_choice: Option<usize>,
    /// The chosen request on the requests screen.
    pub(crate) request: usize,
    /// The chosen member on the members screen.
    pub(crate) member: usize,
    /// The chosen request to join on the members screen, when its keys go
    /// there (Tab) rather than to the members.
    pub(crate) join_request: Option<usize>,
    pub(crate) invitation: Option<ShownInvitation>,
    /// The last outcome or error, shown above the help line.
    pub(crate) status: String,
    /// Contacts typing, since when they said so.
    pub(crate) typing: HashMap<ChatId, Instant>,
    /// The chat this user was last announced as typing in.
    typing_announced: Option<ChatId>,
    /// Locked: what has been typed towards the passphrase.
    pub(crate) locked: Option<Zeroizing<String>>,
}

impl App {
    pub(crate) fn new() -> App {
        App {
            screen: Screen::Chats,
            chat: None,
            focus: Focus::Compose,
            message: None,
            compose: ComposeLine::default(),
            draft: Draft::Message,
            drafts: HashMap::new(),
            quit_armed: false,
            confirm_delete: None,
            confirm_address_delete: false,
            timer_choice: None,
            request: 0,
            member: 0,
            join_request: None,
            invitation: None,
            status: String::new(),
            typing: HashMap::new(),
            typing_announced: None,
            locked: None,
        }
    }

    /// Keeps the open chat one that exists (the first when none is chosen)
    /// and the chosen message one of its items.
    pub(crate) fn settle(&mut self, snapshot: &Snapshot) {
        let exists = |id| snapshot.contacts.iter().any(|c| c.id == id);
        if !self.chat.is_some_and(exists) {
            self.chat = snapshot.contacts.first().map(|c| c.id);
        }
        self.request = self.request.min(snapshot.requests.len().saturating_sub(1));
        if self.screen == Screen::Members && !self.in_group(snapshot) {
            // The group went away (or is no longer one).
            self.screen = Screen::Chats;
        }
    }

    /// Keeps the chosen member one of the group's, and the chosen request
    /// one of its requests (none when none is left).
    pub(crate) fn settle_member(&mut self, group: &ShownGroup) {
        self.member = self.member.min(group.members.len().saturating_sub(1));
        self.join_request = match (self.join_request, group.requests.len()) {
            (_, 0) | (None, _) => None,
            (Some(chosen), count) => Some(chosen.min(count - 1)),
        };
    }

    /// The open chat is a group's.
    fn in_group(&self, snapshot: &Snapshot) -> bool {
        self.current(snapshot)
            .is_some_and(|chat| chat.members.is_some())
    }

    /// Opens the open group's members screen.
    fn show_members(&mut self) -> Vec<Action> {
        self.screen = Screen::Members;
        self.member = 0;
        self.join_request = None;
        self.leave_chat(Vec::new())
    }

    /// Keeps the chosen message one of the open chat's items (the newest
    /// message when it went away).
    pub(crate) fn settle_message(&mut self, history: &[ItemView]) {
        if self.focus != Focus::Messages {
            return;
        }
        if !self
            .message
            .is_some_and(|n| history.iter().any(|item| item.number == n))
        {
            self.message = history
                .iter()
                .rev()
                .find(|i| is_message(i))
                .map(|i| i.number);
        }
    }

    /// The open chat's summary.
    pub(crate) fn current<'s>(&self, snapshot: &'s Snapshot) -> Option<&'s ChatView> {
        let chat = self.chat?;
        snapshot.contacts.iter().find(|c| c.id == chat)
    }

    /// Whether the contact told us they are typing (recently enough).
    pub(crate) fn is_typing(&self, contact: ChatId, now: Instant) -> bool {
        self.typing
            .get(&contact)
            .is_some_and(|since| now.saturating_duration_since(*since) < TYPING_SHOWN_FOR)
    }

    /// A Typing event from the core.
    pub(crate) fn contact_typing(&mut self, contact: ChatId, typing: bool, now: Instant) {
        if typing {
            self.typing.insert(contact, now);
        } else {
            self.typing.remove(&contact);
        }
    }

    /// The invitation's queue exists.
    pub(crate) fn invitation_ready(&mut self, id: InvitationId, link: String) {
        if let Some(shown) = self.invitation.as_mut()
            && shown.id == id
        {
            shown.link = Some(link);
        }
    }

    /// Handles one key; returns what the core should do.
    pub(crate) fn handle_key(&mut self, key: KeyEvent, snapshot: &Snapshot) -> Vec<Action> {
        if key.kind != KeyEventKind::Press {
            return Vec::new();
        }
        let control = key.modifiers.contains(KeyModifiers::CONTROL);
        if control {
            self.confirm_delete = None;
            self.timer_choice = None;
            match key.code {
                KeyCode::Char('c') => return vec![Action::Quit],
                KeyCode::Char('n') => {
                    self.screen = Screen::Invitation;
                    return self.leave_chat(vec![Action::ShowInvitation]);
                }
                KeyCode::Char('r') => {
                    self.screen = Screen::Requests;
                    return self.leave_chat(Vec::new());
                }
                KeyCode::Char('a') => {
                    self.screen = Screen::Address;
                    self.confirm_address_delete = false;
                    return self.leave_chat(Vec::new());
                }
                KeyCode::Char('t') => return vec![Action::ToggleTypingIndicators],
                KeyCode::Char('d') => {
                    let Some(contact) = self.current(snapshot) else {
                        self.status = "No chat to set a timer for.".to_owned();
                        return Vec::new();
                    };
                    let current = TIMER_CHOICES
                        .iter()
                        .position(|choice| *choice == contact.timer_secs);
                    self.timer_choice = Some(current.unwrap_or(0));
                    self.screen = Screen::Chats;
                    self.focus = Focus::Compose;
                    self.confirm_address_delete = false;
                    return Vec::new();
                }
                KeyCode::Char('k') => {
                    if self.chat.is_none() {
                        self.status = "No chat: no security code to compare.".to_owned();
                        return Vec::new();
                    }
                    if self.in_group(snapshot) {
                        // A group has a code per member.
                        return self.show_members();
                    }
                    self.screen = Screen::Verify;
                    return self.leave_chat(Vec::new());
                }
                _ => return Vec::new(),
            }
        }
        match self.screen {
            Screen::Chats => self.chats_key(key, snapshot),
            Screen::Invitation => match key.code {
                KeyCode::Esc => self.back(),
                KeyCode::Char('n') => {
                    self.invitation = None;
                    vec![Action::CreateInvitation]
                }
                _ => Vec::new(),
            },
            Screen::Requests => self.requests_key(key, snapshot),
            Screen::Address => self.address_key(key, snapshot),
            Screen::Verify => match (key.code, self.chat) {
                (KeyCode::Esc, _) => self.back(),
                (KeyCode::Char(c @ ('v' | 'u')), Some(contact)) => vec![Action::SetVerified {
                    contact,
                    verified: c == 'v',
                }],
                _ => Vec::new(),
            },
            Screen::Members => self.members_key(key, snapshot),
        }
    }

    /// Up/Down choose a member, or with Tab a request to join, which `a`
    /// approves and `x` declines.
    fn members_key(&mut self, key: KeyEvent, snapshot: &Snapshot) -> Vec<Action> {
        let Some(group) = snapshot.group.as_ref() else {
            return self.back();
        };
        let last = |count: usize| count.saturating_sub(1);
        match (key.code, self.join_request) {
            (KeyCode::Esc, _) => return self.back(),
            (KeyCode::Tab, Some(_)) => self.join_request = None,
            (KeyCode::Tab, None) if !group.requests.is_empty() => self.join_request = Some(0),
            (KeyCode::Up, None) => self.member = self.member.saturating_sub(1),
            (KeyCode::Down, None) => self.member = (self.member + 1).min(last(group.members.len())),
            (KeyCode::Up, Some(chosen)) => self.join_request = Some(chosen.saturating_sub(1)),
            (KeyCode::Down, Some(chosen)) => {
                self.join_request = Some((chosen + 1).min(last(group.requests.len())));
            }
            (KeyCode::Char('a' | 'x') | KeyCode::Enter, Some(chosen)) => {
                let approve = key.code != KeyCode::Char('x');
                match (group.requests.get(chosen), self.chat) {
                    (Some(request), Some(chat)) if !(approve && request.approved) => {
                        return vec![Action::DecideJoin {
                            group: chat,
                            request: request.id,
                            approve,
                        }];
                    }
                    (Some(_), _) => self.status = "Approved already: joining…".to_owned(),
                    _ => {}
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// Back to the chats screen.
    fn back(&mut self) -> Vec<Action> {
        self.screen = Screen::Chats;
        self.confirm_address_delete = false;
        Vec::new()
    }

    /// Leaving the chats screen stops the typing indicator.
    fn leave_chat(&mut self, mut actions: Vec<Action>) -> Vec<Action> {
        if let Some(contact) = self.typing_announced.take() {
            actions.insert(
                0,
                Action::Typing {
                    contact,
                    typing: false,
                },
            );
        }
        actions
    }

    fn chats_key(&mut self, key: KeyEvent, snapshot: &Snapshot) -> Vec<Action> {
        if let Some(choice) = self.timer_choice {
            return self.timer_key(key, choice);
        }
        if let Some(message) = self.confirm_delete.take() {
            return match (key.code, self.chat) {
                (KeyCode::Char('y'), Some(contact)) => {
                    self.focus = Focus::Compose;
                    self.message = None;
                    vec![Action::Delete { contact, message }]
                }
                _ => {
                    self.status = "Not deleted.".to_owned();
                    Vec::new()
                }
            };
        }
        match self.focus {
            Focus::Compose => self.compose_key(key, snapshot),
            Focus::Messages => self.messages_key(key, snapshot),
        }
    }

    fn compose_key(&mut self, key: KeyEvent, snapshot: &Snapshot) -> Vec<Action> {
        let quit_armed = std::mem::take(&mut self.quit_armed);
        match key.code {
            KeyCode::Esc if self.draft != Draft::Message => {
                self.draft = Draft::Message;
                self.compose.clear();
                self.typing_changed()
            }
            KeyCode::Esc if quit_armed || !self.has_unsent_draft() => vec![Action::Quit],
            KeyCode::Esc => {
                self.quit_armed = true;
                self.status = "An unsent draft would be lost: Esc again quits.".to_owned();
                Vec::new()
            }
            KeyCode::Up | KeyCode::Down => {
                let actions = self.leave_chat(Vec::new());
                self.keep_draft();
                self.move_chat(snapshot, key.code == KeyCode::Up);
                self.draft = Draft::Message;
                let kept = self.chat.and_then(|chat| self.drafts.remove(&chat));
                self.compose.set(kept.unwrap_or_default());
                actions
            }
            KeyCode::Tab => {
                self.focus = Focus::Messages;
                self.message = None;
                self.settle_message(&snapshot.history);
                Vec::new()
            }
            KeyCode::Left => self.edited(ComposeLine::left),
            KeyCode::Right => self.edited(ComposeLine::right),
            KeyCode::Home => self.edited(ComposeLine::home),
            KeyCode::End => self.edited(ComposeLine::end),
            KeyCode::Delete => self.edited(ComposeLine::delete),
            KeyCode::Backspace => self.edited(ComposeLine::backspace),
            KeyCode::Enter => self.submit(snapshot),
            KeyCode::Char(c) => self.edited(|line| line.insert(c)),
            _ => Vec::new(),
        }
    }

    /// A paste (bracketed paste: the whole text at once, line breaks
    /// included) goes into the compose line, to be sent with Enter.
    pub(crate) fn paste(&mut self, text: &str) -> Vec<Action> {
        if self.screen != Screen::Chats || self.focus != Focus::Compose || self.locked.is_some() {
            return Vec::new();
        }
        self.quit_armed = false;
        self.edited(|line| line.paste(text))
    }

    fn edited(&mut self, edit: impl FnOnce(&mut ComposeLine)) -> Vec<Action> {
        edit(&mut self.compose);
        self.typing_changed()
    }

    /// Keeps the open chat's new message for when the user comes back.
    fn keep_draft(&mut self) {
        if let Some(chat) = self.chat
            && self.draft == Draft::Message
            && !self.compose.is_empty()
        {
            self.drafts.insert(chat, self.compose.take());
        }
    }

    /// Whether leaving would lose something typed and not sent.
    fn has_unsent_draft(&self) -> bool {
        !self.compose.as_str().trim().is_empty()
            || self.drafts.values().any(|draft| !draft.trim().is_empty())
    }

    /// Announces typing when the compose line of a new message or reply
    /// becomes non-empty, and its end when it becomes empty again.
    fn typing_changed(&mut self) -> Vec<Action> {
        let typing = !self.compose.is_empty()
            && matches!(self.draft, Draft::Message | Draft::Reply(_))
            && self.chat.is_some();
        match (typing, self.typing_announced, self.chat) {
            (true, None, Some(contact)) => {
                self.typing_announced = Some(contact);
                vec![Action::Typing {
                    contact,
                    typing: true,
                }]
            }
            (false, Some(contact), _) => {
                self.typing_announced = None;
                vec![Action::Typing {
                    contact,
                    typing: false,
                }]
            }
            _ => Vec::new(),
        }
    }

    fn submit(&mut self, snapshot: &Snapshot) -> Vec<Action> {
        let Some(contact) = self.chat else {
            self.status = "No chat yet: Ctrl-N creates an invitation.".to_owned();
            return Vec::new();
        };
        let text = self.compose.as_str().trim().to_owned();
        if self.draft == Draft::Message
            && let Some(actions) = self.slash_command(contact, &text, snapshot)
        {
            return actions;
        }
        let action = match self.draft {
            Draft::Message | Draft::Reply(_) if text.is_empty() => return Vec::new(),
            Draft::Edit(_) if text.is_empty() => return Vec::new(),
            Draft::Message => Action::Send {
                contact,
                text,
                reply_to: None,
            },
            Draft::Reply(message) => Action::Send {
                contact,
                text,
                reply_to: Some(message),
            },
            Draft::Edit(message) => Action::Edit {
                contact,
                message,
                text,
            },
            Draft::React(message) => Action::React {
                contact,
                message,
                emoji: text,
            },
        };
        self.compose.clear();
        self.draft = Draft::Message;
        // Sending ends typing on the other side by itself.
        self.typing_announced = None;
        vec![action]
    }

    /// A slash command typed as a message (`/save`, and in a group
    /// `/members`, `/name`, `/description`, `/picture`, `/no-picture`, `/me`,
    /// `/me-picture`, `/me-no-picture`); `None`
    /// when the text is none (it is sent).
    fn slash_command(
        &mut self,
        contact: ChatId,
        text: &str,
        snapshot: &Snapshot,
    ) -> Option<Vec<Action>> {
        let (command, argument) = text.split_once(' ').unwrap_or((text, ""));
        let argument = argument.trim();
        let group_only = matches!(
            command,
            "/members"
                | "/name"
                | "/description"
                | "/picture"
                | "/no-picture"
                | "/me"
                | "/me-picture"
                | "/me-no-picture"
        );
        if group_only && !self.in_group(snapshot) {
            self.status = format!("{command} is for groups; this chat is with one contact.");
            return Some(Vec::new());
        }
        let change = match command {
            "/save" => {
                let message = match argument {
                    "" => None,
                    number => match number.parse() {
                        Ok(number) => Some(MessageNumber(number)),
                        Err(_) => {
                            self.status =
                                "/save N saves file N of this chat (/save: the newest).".to_owned();
                            return Some(Vec::new());
                        }
                    },
                };
                self.compose.clear();
                return Some(vec![Action::SaveFile { contact, message }]);
            }
            "/members" => {
                self.compose.clear();
                return Some(self.show_members());
            }
            "/name" if argument.is_empty() => {
                self.status = "/name NAME renames the group.".to_owned();
                return Some(Vec::new());
            }
            "/name" => ProfileChange::Name(argument.to_owned()),
            "/description" => ProfileChange::Description(argument.to_owned()),
            "/picture" if argument.is_empty() => {
                self.status =
                    "/picture PATH sets the group's picture (/no-picture removes it).".to_owned();
                return Some(Vec::new());
            }
            "/picture" => ProfileChange::Picture(argument.into()),
            "/no-picture" => ProfileChange::NoPicture,
            "/me" if argument.is_empty() => {
                self.status = "/me NAME changes the name you show in this group.".to_owned();
                return Some(Vec::new());
            }
            "/me" => ProfileChange::OwnName(argument.to_owned()),
            "/me-picture" if argument.is_empty() => {
                self.status = "/me-picture PATH sets the picture you show in this group \
                               (/me-no-picture removes it)."
                    .to_owned();
                return Some(Vec::new());
            }
            "/me-picture" => ProfileChange::OwnPicture(argument.into()),
            "/me-no-picture" => ProfileChange::NoOwnPicture,
            _ => return None,
        };
        self.compose.clear();
        self.typing_announced = None;
        Some(vec![Action::EditGroup {
            group: contact,
            change,
        }])
    }

    fn move_chat(&mut self, snapshot: &Snapshot, up: bool) {
        let position = self
            .chat
            .and_then(|chat| snapshot.contacts.iter().position(|c| c.id == chat))
            .unwrap_or(0);
        let next = if up {
            position.saturating_sub(1)
        } else {
            (position + 1).min(snapshot.contacts.len().saturating_sub(1))
        };
        self.chat = snapshot.contacts.get(next).map(|c| c.id).or(self.chat);
    }

    fn messages_key(&mut self, key: KeyEvent, snapshot: &Snapshot) -> Vec<Action> {
        let messages: Vec<&ItemView> = snapshot
            .history
            .iter()
            .filter(|item| is_message(item))
            .collect();
        let position = self
            .message
            .and_then(|n| messages.iter().position(|item| item.number == n));
        let chosen = position.and_then(|p| messages.get(p).copied());
        match key.code {
            KeyCode::Esc | KeyCode::Tab => {
                self.focus = Focus::Compose;
                self.message = None;
            }
            KeyCode::Up => {
                let p = position.map_or(0, |p| p.saturating_sub(1));
                self.message = messages.get(p).map(|item| item.number).or(self.message);
            }
            KeyCode::Down => {
                let p = position.map_or(0, |p| (p + 1).min(messages.len().saturating_sub(1)));
                self.message = messages.get(p).map(|item| item.number).or(self.message);
            }
            KeyCode::Char('r') => {
                if let Some(item) = chosen.filter(|item| !item.deleted) {
                    self.draft = Draft::Reply(item.number);
                    self.compose.clear();
                    self.focus = Focus::Compose;
                }
            }
            KeyCode::Char('+') => {
                if let Some(item) = chosen.filter(|item| !item.deleted) {
                    self.draft = Draft::React(item.number);
                    self.compose.set("👍");
                    self.focus = Focus::Compose;
                }
            }
            KeyCode::Char('e') => match chosen {
                Some(item) if own_live(item) => {
                    self.draft = Draft::Edit(item.number);
                    self.compose.set(item.text.clone().unwrap_or_default());
                    self.focus = Focus::Compose;
                }
                Some(_) => self.status = "Only your own messages can be edited.".to_owned(),
                None => {}
            },
            KeyCode::Char('d') => match chosen {
                Some(item) if own_live(item) => {
                    self.confirm_delete = Some(item.number);
                    self.status = format!("Delete message {} for everyone? y/n", item.number.0);
                }
                Some(_) => self.status = "Only your own messages can be deleted.".to_owned(),
                None => {}
            },
            _ => {}
        }
        Vec::new()
    }

    /// Left/Right (or Up/Down) choose a timer, Enter sets it, Esc cancels.
    fn timer_key(&mut self, key: KeyEvent, choice: usize) -> Vec<Action> {
        let last = TIMER_CHOICES.len() - 1;
        match key.code {
            KeyCode::Left | KeyCode::Up => self.timer_choice = Some(choice.saturating_sub(1)),
            KeyCode::Right | KeyCode::Down => self.timer_choice = Some((choice + 1).min(last)),
            KeyCode::Esc => self.timer_choice = None,
            KeyCode::Enter => {
                self.timer_choice = None;
                if let (Some(contact), Some(seconds)) = (self.chat, TIMER_CHOICES.get(choice)) {
                    return vec![Action::SetTimer {
                        contact,
                        seconds: *seconds,
                    }];
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn requests_key(&mut self, key: KeyEvent, snapshot: &Snapshot) -> Vec<Action> {
        let chosen = snapshot.requests.get(self.request).map(|r| r.id);
        match key.code {
            KeyCode::Esc => return self.back(),
            KeyCode::Up => self.request = self.request.saturating_sub(1),
            KeyCode::Down => {
                self.request = (self.request + 1).min(snapshot.requests.len().saturating_sub(1));
            }
            KeyCode::Char('a') | KeyCode::Enter => {
                if let Some(request) = chosen {
                    return vec![Action::Accept(request)];
                }
            }
            KeyCode::Char('x') | KeyCode::Delete => {
                if let Some(request) = chosen {
                    return vec![Action::Reject(request)];
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn address_key(&mut self, key: KeyEvent, snapshot: &Snapshot) -> Vec<Action> {
        if self.confirm_address_delete {
            self.confirm_address_delete = false;
            if key.code == KeyCode::Char('y') {
                return vec![Action::DeleteAddress];
            }
            self.status = "The contact address stays.".to_owned();
            return Vec::new();
        }
        match key.code {
            KeyCode::Esc => self.back(),
            KeyCode::Char('c') => vec![Action::CreateAddress],
            KeyCode::Char('d') if snapshot.address.is_some() => {
                self.confirm_address_delete = true;
                self.status =
                    "Delete the contact address? No request can come through it then. y/n"
                        .to_owned();
                Vec::new()
            }
            _ => Vec::new(),
        }
    }
}

/// A message (not a notice).
pub(crate) fn is_message(item: &ItemView) -> bool {
    item.direction != MessageDirection::Notice
}

/// An own message that is not deleted.
fn own_live(item: &ItemView) -> bool {
    item.direction == MessageDirection::Outgoing && !item.deleted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::fixtures::{group_snapshot, snapshot};

    fn press(app: &mut App, snapshot: &Snapshot, code: KeyCode) -> Vec<Action> {
        app.handle_key(KeyEvent::from(code), snapshot)
    }

    fn control(app: &mut App, snapshot: &Snapshot, c: char) -> Vec<Action> {
        app.handle_key(
            KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL),
            snapshot,
        )
    }

    fn type_text(app: &mut App, snapshot: &Snapshot, text: &str) -> Vec<Action> {
        text.chars()
            .flat_map(|c| press(app, snapshot, KeyCode::Char(c)))
            .collect()
    }

    #[test]
    fn typing_a_message_announces_typing_once_and_enter_sends_it() {
        let snapshot = snapshot();
        let mut app = App::new();
        app.settle(&snapshot);
        let bob = ChatId(1);
        assert_eq!(
            type_text(&mut app, &snapshot, "hi"),
            vec![Action::Typing {
                contact: bob,
                typing: true
            }]
        );
        assert_eq!(
            press(&mut app, &snapshot, KeyCode::Enter),
            vec![Action::Send {
                contact: bob,
                text: "hi".into(),
                reply_to: None
            }]
        );
        assert!(app.compose.is_empty());
        // Erasing what was typed says the typing stopped.
        type_text(&mut app, &snapshot, "x");
        assert_eq!(
            press(&mut app, &snapshot, KeyCode::Backspace),
            vec![Action::Typing {
                contact: bob,
                typing: false
            }]
        );
    }

    #[test]
    fn up_and_down_choose_the_chat() {
        let snapshot = snapshot();
        let mut app = App::new();
        app.settle(&snapshot);
        assert_eq!(app.chat, Some(ChatId(1)));
        press(&mut app, &snapshot, KeyCode::Down);
        assert_eq!(app.chat, Some(ChatId(2)));
        press(&mut app, &snapshot, KeyCode::Down);
        assert_eq!(app.chat, Some(ChatId(2)));
        press(&mut app, &snapshot, KeyCode::Up);
        assert_eq!(app.chat, Some(ChatId(1)));
    }

    #[test]
    fn reply_react_edit_and_delete_act_on_the_chosen_message() {
        let snapshot = snapshot();
        let mut app = App::new();
        app.settle(&snapshot);
        let bob = ChatId(1);
        // Tab chooses the newest message (own message 4); Up goes to 3.
        press(&mut app, &snapshot, KeyCode::Tab);
        assert_eq!(app.message, Some(MessageNumber(4)));
        press(&mut app, &snapshot, KeyCode::Up);
        assert_eq!(app.message, Some(MessageNumber(3)));
        press(&mut app, &snapshot, KeyCode::Char('r'));
        assert_eq!(app.draft, Draft::Reply(MessageNumber(3)));
        assert_eq!(app.focus, Focus::Compose);
        type_text(&mut app, &snapshot, "yes");
        assert_eq!(
            press(&mut app, &snapshot, KeyCode::Enter),
            vec![Action::Send {
                contact: bob,
                text: "yes".into(),
                reply_to: Some(MessageNumber(3))
            }]
        );

        press(&mut app, &snapshot, KeyCode::Tab);
        press(&mut app, &snapshot, KeyCode::Up);
        press(&mut app, &snapshot, KeyCode::Char('+'));
        assert_eq!(app.draft, Draft::React(MessageNumber(3)));
        assert_eq!(
            press(&mut app, &snapshot, KeyCode::Enter),
            vec![Action::React {
                contact: bob,
                message: MessageNumber(3),
                emoji: "👍".into()
            }]
        );

        // An incoming message cannot be edited or deleted.
        press(&mut app, &snapshot, KeyCode::Tab);
        press(&mut app, &snapshot, KeyCode::Up);
        press(&mut app, &snapshot, KeyCode::Char('e'));
        assert_eq!(app.draft, Draft::Message);
        assert!(app.status.contains("own"), "{}", app.status);

        press(&mut app, &snapshot, KeyCode::Down);
        press(&mut app, &snapshot, KeyCode::Char('e'));
        assert_eq!(app.draft, Draft::Edit(MessageNumber(4)));
        assert_eq!(app.compose.as_str(), "see you at 6");
        press(&mut app, &snapshot, KeyCode::Backspace);
        type_text(&mut app, &snapshot, "7");
        assert_eq!(
            press(&mut app, &snapshot, KeyCode::Enter),
            vec![Action::Edit {
                contact: bob,
                message: MessageNumber(4),
                text: "see you at 7".into()
            }]
        );

        press(&mut app, &snapshot, KeyCode::Tab);
        assert!(press(&mut app, &snapshot, KeyCode::Char('d')).is_empty());
        assert!(app.status.contains("y/n"));
        assert_eq!(
            press(&mut app, &snapshot, KeyCode::Char('y')),
            vec![Action::Delete {
                contact: bob,
                message: MessageNumber(4)
            }]
        );
        assert_eq!(app.focus, Focus::Compose);
        // Any other key than y keeps the message.
        press(&mut app, &snapshot, KeyCode::Tab);
        press(&mut app, &snapshot, KeyCode::Char('d'));
        assert!(press(&mut app, &snapshot, KeyCode::Char('n')).is_empty());
    }

    #[test]
    fn screens_open_with_control_keys_and_esc_goes_back() {
        let snapshot = snapshot();
        let mut app = App::new();
        app.settle(&snapshot);
        type_text(&mut app, &snapshot, "draft");
        // Leaving the chat while typing says the typing stopped.
        assert_eq!(
            control(&mut app, &snapshot, 'n'),
            vec![
                Action::Typing {
                    contact: ChatId(1),
                    typing: false
                },
                Action::ShowInvitation
            ]
        );
        assert_eq!(app.screen, Screen::Invitation);
        assert_eq!(
            press(&mut app, &snapshot, KeyCode::Char('n')),
            vec![Action::CreateInvitation]
        );
        press(&mut app, &snapshot, KeyCode::Esc);
        assert_eq!(app.screen, Screen::Chats);

        control(&mut app, &snapshot, 'r');
        assert_eq!(app.screen, Screen::Requests);
        press(&mut app, &snapshot, KeyCode::Down);
        assert_eq!(
            press(&mut app, &snapshot, KeyCode::Char('a')),
            vec![Action::Accept(RequestId(8))]
        );
        assert_eq!(
            press(&mut app, &snapshot, KeyCode::Char('x')),
            vec![Action::Reject(RequestId(8))]
        );
        press(&mut app, &snapshot, KeyCode::Esc);

        control(&mut app, &snapshot, 'a');
        assert_eq!(app.screen, Screen::Address);
        assert_eq!(
            press(&mut app, &snapshot, KeyCode::Char('c')),
            vec![Action::CreateAddress]
        );
        press(&mut app, &snapshot, KeyCode::Char('d'));
        assert_eq!(
            press(&mut app, &snapshot, KeyCode::Char('y')),
            vec![Action::DeleteAddress]
        );
        assert_eq!(
            control(&mut app, &snapshot, 't'),
            vec![Action::ToggleTypingIndicators]
        );
        assert_eq!(control(&mut app, &snapshot, 'c'), vec![Action::Quit]);
    }

    #[test]
    fn ctrl_d_sets_the_open_chats_timer_and_ctrl_k_marks_it_verified() {
        let snapshot = snapshot();
        let mut app = App::new();
        app.settle(&snapshot);
        let bob = ChatId(1);
        // Bob's chat disappears after 5 min: the chooser starts there.
        control(&mut app, &snapshot, 'd');
        assert_eq!(app.timer_choice, Some(2));
        press(&mut app, &snapshot, KeyCode::Right);
        assert_eq!(
            press(&mut app, &snapshot, KeyCode::Enter),
            vec![Action::SetTimer {
                contact: bob,
                seconds: Some(3_600)
            }]
        );
        assert_eq!(app.timer_choice, None);
        control(&mut app, &snapshot, 'd');
        for _ in 0..5 {
            press(&mut app, &snapshot, KeyCode::Left);
        }
        assert_eq!(
            press(&mut app, &snapshot, KeyCode::Enter),
            vec![Action::SetTimer {
                contact: bob,
                seconds: None
            }]
        );
        // Esc leaves the chooser without a change (and does not quit).
        control(&mut app, &snapshot, 'd');
        for _ in 0..9 {
            press(&mut app, &snapshot, KeyCode::Down);
        }
        assert_eq!(app.timer_choice, Some(TIMER_CHOICES.len() - 1));
        assert_eq!(app.chat, Some(bob));
        assert!(press(&mut app, &snapshot, KeyCode::Esc).is_empty());
        assert_eq!(app.timer_choice, None);
        // Typing goes to the compose line again.
        type_text(&mut app, &snapshot, "x");
        assert_eq!(app.compose.as_str(), "x");

        // The security code screen: v marks, u unmarks, Esc goes back.
        let actions = control(&mut app, &snapshot, 'k');
        assert_eq!(
            actions,
            vec![Action::Typing {
                contact: bob,
                typing: false
            }]
        );
        assert_eq!(app.screen, Screen::Verify);
        assert_eq!(
            press(&mut app, &snapshot, KeyCode::Char('v')),
            vec![Action::SetVerified {
                contact: bob,
                verified: true
            }]
        );
        assert_eq!(
            press(&mut app, &snapshot, KeyCode::Char('u')),
            vec![Action::SetVerified {
                contact: bob,
                verified: false
            }]
        );
        press(&mut app, &snapshot, KeyCode::Esc);
        assert_eq!(app.screen, Screen::Chats);

        // Without a chat there is no timer and no code.
        let empty = Snapshot::default();
        let mut app = App::new();
        app.settle(&empty);
        assert!(control(&mut app, &empty, 'd').is_empty());
        assert_eq!(app.timer_choice, None);
        control(&mut app, &empty, 'k');
        assert_eq!(app.screen, Screen::Chats);
        assert!(app.status.contains("No chat"), "{}", app.status);
    }

    #[test]
    fn slash_commands_open_a_groups_members_and_change_its_profile() {
        let snapshot = group_snapshot();
        let mut app = App::new();
        app.settle(&snapshot);
        let group = ChatId(1);
        let command = |app: &mut App, text: &str| {
            type_text(app, &snapshot, text);
            press(app, &snapshot, KeyCode::Enter)
        };
        // Leaving the chat says the typing stopped (the runner sends no
        // typing indicator to a group).
        assert_eq!(
            command(&mut app, "/members"),
            vec![Action::Typing {
                contact: group,
                typing: false
            }]
        );
        assert_eq!(app.screen, Screen::Members);
        assert!(app.compose.is_empty());
        press(&mut app, &snapshot, KeyCode::Esc);
        assert_eq!(app.screen, Screen::Chats);
        for (text, change) in [
            (
                "/name Climbing club",
                ProfileChange::Name("Climbing club".into()),
            ),
            (
                "/description Sundays too",
                ProfileChange::Description("Sundays too".into()),
            ),
            ("/description", ProfileChange::Description(String::new())),
            (
                "/picture wall.png",
                ProfileChange::Picture("wall.png".into()),
            ),
            ("/no-picture", ProfileChange::NoPicture),
            (
                "/me Ann the climber",
                ProfileChange::OwnName("Ann the climber".into()),
            ),
            (
                "/me-picture me.png",
                ProfileChange::OwnPicture("me.png".into()),
            ),
            ("/me-no-picture", ProfileChange::NoOwnPicture),
        ] {
            assert_eq!(
                command(&mut app, text),
                vec![Action::EditGroup { group, change }],
                "{text}"
            );
            assert!(app.compose.is_empty());
        }
        // Without what it needs, a command says how it is used.
        assert!(command(&mut app, "/picture").is_empty());
        assert!(app.status.contains("/picture PATH"), "{}", app.status);
        app.compose.clear();
        assert!(command(&mut app, "/name  ").is_empty());
        assert!(app.status.contains("/name NAME"), "{}", app.status);
        app.compose.clear();
        assert!(command(&mut app, "/me").is_empty());
        assert!(app.status.contains("/me NAME"), "{}", app.status);
        app.compose.clear();
        // Another slash is a message.
        assert_eq!(
            command(&mut app, "/shrug"),
            vec![Action::Send {
                contact: group,
                text: "/shrug".into(),
                reply_to: None
            }]
        );

        // In a chat with one contact they are refused, and Ctrl-K shows the
        // contact's code.
        let snapshot = crate::chat::fixtures::snapshot();
        let mut app = App::new();
        app.settle(&snapshot);
        type_text(&mut app, &snapshot, "/name Bobby");
        assert!(press(&mut app, &snapshot, KeyCode::Enter).is_empty());
        assert!(app.status.contains("for groups"), "{}", app.status);
        control(&mut app, &snapshot, 'k');
        assert_eq!(app.screen, Screen::Verify);
    }

    #[test]
    fn the_members_screen_approves_and_declines_requests_to_join() {
        let mut snapshot = group_snapshot();
        let mut app = App::new();
        app.settle(&snapshot);
        let group = ChatId(1);
        control(&mut app, &snapshot, 'k');
        assert_eq!(app.screen, Screen::Members);
        // Up/Down choose a member until Tab goes to the requests.
        press(&mut app, &snapshot, KeyCode::Down);
        assert_eq!(app.member, 1);
        assert!(press(&mut app, &snapshot, KeyCode::Char('a')).is_empty());
        press(&mut app, &snapshot, KeyCode::Tab);
        assert_eq!(app.join_request, Some(0));
        assert_eq!(
            press(&mut app, &snapshot, KeyCode::Char('a')),
            vec![Action::DecideJoin {
                group,
                request: 4,
                approve: true
            }]
        );
        assert_eq!(
            press(&mut app, &snapshot, KeyCode::Enter),
            vec![Action::DecideJoin {
                group,
                request: 4,
                approve: true
            }]
        );
        // Eli's is approved already: it can still be declined.
        press(&mut app, &snapshot, KeyCode::Down);
        press(&mut app, &snapshot, KeyCode::Down);
        assert_eq!(app.join_request, Some(1));
        assert!(press(&mut app, &snapshot, KeyCode::Char('a')).is_empty());
        assert!(app.status.contains("Approved already"), "{}", app.status);
        assert_eq!(
            press(&mut app, &snapshot, KeyCode::Char('x')),
            vec![Action::DecideJoin {
                group,
                request: 5,
                approve: false
            }]
        );
        // Once the requests are gone, the keys are the members' again.
        let group_view = snapshot.group.as_mut().unwrap();
        group_view.requests.clear();
        app.settle_member(group_view);
        assert_eq!(app.join_request, None);
        press(&mut app, &snapshot, KeyCode::Tab);
        assert_eq!(app.join_request, None);
        press(&mut app, &snapshot, KeyCode::Up);
        assert_eq!(app.member, 0);
    }

    #[test]
    fn esc_cancels_a_reply_before_it_quits() {
        let snapshot = snapshot();
        let mut app = App::new();
        app.settle(&snapshot);
        app.draft = Draft::Reply(MessageNumber(3));
        press(&mut app, &snapshot, KeyCode::Esc);
        assert_eq!(app.draft, Draft::Message);
        assert_eq!(press(&mut app, &snapshot, KeyCode::Esc), vec![Action::Quit]);
    }

    #[test]
    fn a_typing_indicator_fades_without_news() {
        let mut app = App::new();
        let start = Instant::now();
        app.contact_typing(ChatId(1), true, start);
        assert!(app.is_typing(ChatId(1), start));
        assert!(!app.is_typing(ChatId(1), start + TYPING_SHOWN_FOR));
        app.contact_typing(ChatId(1), false, start);
        assert!(!app.is_typing(ChatId(1), start));
    }

    #[test]
    fn a_draft_survives_moving_between_chats_and_quitting_asks_first() {
        let snapshot = snapshot();
        let mut app = App::new();
        app.settle(&snapshot);
        type_text(&mut app, &snapshot, "for Bob");
        press(&mut app, &snapshot, KeyCode::Down);
        assert_eq!(app.chat, Some(ChatId(2)));
        assert!(app.compose.is_empty());
        type_text(&mut app, &snapshot, "for Carol");
        press(&mut app, &snapshot, KeyCode::Up);
        assert_eq!(app.compose.as_str(), "for Bob");
        press(&mut app, &snapshot, KeyCode::Down);
        assert_eq!(app.compose.as_str(), "for Carol");
        // Esc with a draft asks; any other key forgets the question.
        assert!(press(&mut app, &snapshot, KeyCode::Esc).is_empty());
        assert!(app.status.contains("Esc again"), "{}", app.status);
        press(&mut app, &snapshot, KeyCode::End);
        assert!(press(&mut app, &snapshot, KeyCode::Esc).is_empty());
        assert_eq!(press(&mut app, &snapshot, KeyCode::Esc), vec![Action::Quit]);
    }

    #[test]
    fn editing_keys_work_at_the_cursor_and_a_paste_stays_one_message() {
        let snapshot = snapshot();
        let mut app = App::new();
        app.settle(&snapshot);
        type_text(&mut app, &snapshot, "helo");
        press(&mut app, &snapshot, KeyCode::Left);
        type_text(&mut app, &snapshot, "l");
        press(&mut app, &snapshot, KeyCode::Home);
        press(&mut app, &snapshot, KeyCode::Delete);
        type_text(&mut app, &snapshot, "H");
        assert_eq!(app.compose.as_str(), "Hello");
        press(&mut app, &snapshot, KeyCode::End);
        app.paste("\nline two\r\nline three");
        assert_eq!(
            press(&mut app, &snapshot, KeyCode::Enter),
            vec![Action::Send {
                contact: ChatId(1),
                text: "Hello\nline two\nline three".into(),
                reply_to: None,
            }]
        );
        assert!(app.compose.is_empty());
    }
}
