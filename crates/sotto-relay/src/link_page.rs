//! What a relay that serves no web client answers at `/invite`, `/contact` and
//! `/group`:
//! a short page that says what the link is and how to open it, instead of an
//! empty 404. The link's secret part is in the URL's fragment, which the
//! browser never sends, so the page cannot show it; it has no script and
//! loads nothing.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

/// Nothing but the page's own inline style may run or load.
const POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

/// The routes of the three pages.
pub fn router() -> Router {
    Router::new()
        .route("/invite", get(|| async { page(INVITATION) }))
        .route("/contact", get(|| async { page(CONTACT_ADDRESS) }))
        .route("/group", get(|| async { page(GROUP_LINK) }))
}

struct Kind {
    title: &'static str,
    what: &'static str,
    /// The command that uses the link.
    command: &'static str,
}

const INVITATION: Kind = Kind {
    title: "A Sotto invitation",
    what: "This is a one-time invitation to an end-to-end encrypted chat on Sotto. \
           It works once: the first person who uses it connects with whoever made it.",
    command: "sotto connect",
};

const CONTACT_ADDRESS: Kind = Kind {
    title: "A Sotto contact address",
    what: "This is someone's Sotto contact address. Using it sends them a contact \
           request, which they can accept or reject.",
    command: "sotto connect",
};

const GROUP_LINK: Kind = Kind {
    title: "A Sotto group link",
    what: "This is the link of a group on Sotto. Using it asks the group's admins to let \
           you in, under a name you choose for the group; nothing else of yours reaches it.",
    command: "sotto group join",
};

fn page(kind: Kind) -> Response {
    let Kind {
        title,
        what,
        command,
    } = kind;
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\"><title>{title}</title>\
         <style>body{{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:2rem auto;\
         padding:0 1rem}}code{{background:#eee;padding:0 .2rem}}</style></head><body>\
         <h1>{title}</h1><p>{what}</p>\
         <p>This relay does not serve the Sotto web client, so the link cannot be opened \
         here. To use it, copy this page's whole address (everything after <code>#</code> \
         included) and</p><ul>\
         <li>paste it into <em>New chat → Connect with a link</em> in the Sotto web client \
         of your own relay, or</li>\
         <li>run <code>{command} 'THE LINK'</code> with the Sotto command-line client.</li>\
         </ul><p>The part after <code>#</code> holds the link's key. Your browser never \
         sent it to this relay, and this page has no script that could read it.</p>\
         </body></html>\n"
    );
    let mut response = Html(html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
