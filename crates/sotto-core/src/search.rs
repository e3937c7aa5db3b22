//! Searching the text of every message of every chat, on this device only.
//!
//! The search reads the messages where they are kept (the encrypted database
//! natively, the sealed records in the browser) page by page and keeps the
//! newest matches in a bounded heap, so memory stays at one page and the
//! results, however common the word. Nothing is indexed, so nothing more is
//! written per message and nothing about the texts is stored in another form.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::chat_item::{ChatItem, ItemContent, MESSAGES};
use crate::chat_record::ChatRecord;
use crate::core::Core;
use crate::ids::{ChatId, MessageNumber};
use crate::time::UnixMillis;
use crate::view::ItemView;
use crate::{CoreError, Direction, KeyRange, Store};

/// The longest query, in bytes.
pub const MAX_QUERY_LEN: usize = 256;
/// Messages read from the store at a time.
const PAGE: usize = 1024;

/// A message that matched a search, as the results list shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SearchHit {
    /// The chat's name as the chat list shows it (the alias, else the peer's
    /// name).
    pub chat_name: String,
    /// The message; its `chat` and `number` open the chat at it.
    pub item: ItemView,
}

impl<S: Store> Core<S> {
    /// The newest `limit` messages of any chat whose text contains `query`
    /// (case and accents as typed are folded by Unicode lower case), newest
    /// first. Deleted messages and notices are not searched.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>, CoreError> {
        let query = query.trim();
        if query.is_empty() || query.len() > MAX_QUERY_LEN {
            return Err(CoreError::InvalidValue("search: 1 to 256 bytes of text"));
        }
        let needle = Folded::new(query);
        let mut newest: BinaryHeap<Reverse<(UnixMillis, ChatId, MessageNumber)>> =
            BinaryHeap::with_capacity(limit.saturating_add(1));
        let mut range = KeyRange::all();
        loop {
            let page = self
                .store
                .range(MESSAGES, &range, Direction::Forward, PAGE)?;
            for record in &page {
                let (chat, number) = ChatItem::parse_key(&record.key)?;
                let item = ChatItem::decode(chat, number, &record.value)
                    .map_err(|_| CoreError::CorruptRecord("message"))?;
                let ItemContent::Text { text, .. } = &item.content else {
                    continue;
                };
                if item.deleted || !needle.found_in(text) {
                    continue;
                }
                newest.push(Reverse((item.at, chat, number)));
                if newest.len() > limit {
                    newest.pop();
                }
            }
            match page.last() {
                Some(last) if page.len() == PAGE => range.start = successor(&last.key),
                _ => break,
            }
        }
        let mut hits = newest.into_sorted_vec();
        hits.truncate(limit);
        hits.into_iter()
            .map(|Reverse((_, chat, number))| {
                let record = ChatRecord::load(&self.store, chat)?;
                Ok(SearchHit {
                    chat_name: self.chat_view(&record)?.display_name().to_owned(),
                    item: self.message(chat, number)?,
                })
            })
            .collect()
    }
}

/// The smallest key after `key`.
fn successor(key: &[u8]) -> Vec<u8> {
    let mut next = key.to_vec();
    next.push(0);
    next
}

/// A query folded once, matched against texts folded the same way.
struct Folded {
    lower: String,
    /// Whether the query is ASCII, so a byte-wise comparison folds it.
    ascii: bool,
}

impl Folded {
    fn new(query: &str) -> Folded {
        Folded {
            lower: query.to_lowercase(),
            ascii: query.is_ascii(),
        }
    }

    fn found_in(&self, text: &str) -> bool {
        if self.ascii {
            // Most texts and queries: no allocation per message.
            let needle = self.lower.as_bytes();
            return text
                .as_bytes()
                .windows(needle.len())
                .any(|window| window.eq_ignore_ascii_case(needle));
        }
        text.to_lowercase().contains(&self.lower)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_finds_any_case() {
        let ascii = Folded::new("Lunch");
        assert!(ascii.found_in("see you at LUNCH?"));
        assert!(!ascii.found_in("see you at lunc"));
        let accented = Folded::new("ÉTÉ");
        assert!(accented.found_in("un bel été"));
        assert!(!accented.found_in("un bel ete"));
    }
}
