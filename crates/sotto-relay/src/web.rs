//! The web client's static files, served at `/` from `--web-dir`.
//!
//! - Files are served as they are, or their `.br` / `.gz` copies (written by the
//!   web build) to a browser that accepts them.
//! - The client routes in the page: `/invite`, `/contact` and any other path that
//!   is no file get `index.html` when a browser asks for a page (GET or HEAD
//!   accepting `text/html`); the invitation itself is in the URL fragment, which
//!   never reaches the relay. Other requests for missing files get 404.
//! - Every response carries the page's Content-Security-Policy (the one of its
//!   meta tag, plus `frame-ancestors`, which only a header can set) and headers
//!   that keep the page out of other sites' reach.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::body::Body;
use axum::handler::HandlerWithoutStateExt;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower_http::services::{ServeDir, ServeFile};

/// The policy of `web/index.html`'s meta tag; keep the two the same.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; \
    script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
    img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' ws: wss:; \
    worker-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; \
    object-src 'none'; frame-ancestors 'none'";

/// Paths the web client routes itself.
const CLIENT_ROUTES: [&str; 3] = ["/invite", "/contact", "/group"];

/// The router of the web client's files in `dir`.
pub fn router(dir: &Path) -> Router {
    let index = dir.join("index.html");
    let page = {
        let index = index.clone();
        move |request: Request<Body>| page_or_not_found(index.clone(), request)
    };
    let files = ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(page.clone().into_service());
    let mut router = Router::new();
    for route in CLIENT_ROUTES {
        let index = index.clone();
        router = router.route(
            route,
            axum::routing::get(move |request: Request<Body>| serve_index(index.clone(), request)),
        );
    }
    router
        .fallback_service(files)
        .layer(axum::middleware::map_response(security_headers))
}

/// `index.html` for a browser asking for a page, 404 otherwise.
async fn page_or_not_found(index: PathBuf, request: Request<Body>) -> Response {
    let is_read = matches!(*request.method(), Method::GET | Method::HEAD);
    if is_read && accepts_html(&request) {
        serve_index(index, request).await
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

async fn serve_index(index: PathBuf, request: Request<Body>) -> Response {
    let mut file = ServeFile::new(index)
        .precompressed_br()
        .precompressed_gzip();
    match file.try_call(request).await {
        Ok(response) => response.into_response(),
        Err(error) => {
            tracing::warn!(%error, "cannot read index.html");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Whether the request's Accept header names `text/html` (or is what browsers send
/// when navigating).
fn accepts_html(request: &Request<Body>) -> bool {
    request
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| {
            let media = item.split(';').next().unwrap_or_default().trim();
            media.eq_ignore_ascii_case("text/html")
        })
}

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(accept: Option<&str>) -> Request<Body> {
        let mut builder = Request::get("/somewhere");
        if let Some(accept) = accept {
            builder = builder.header(header::ACCEPT, accept);
        }
        builder.body(Body::empty()).unwrap()
    }

    #[test]
    fn pages_are_for_browsers_asking_for_html() {
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert!(accepts_html(&request(Some(browser))));
        assert!(accepts_html(&request(Some("Text/HTML; q=0.5"))));
        assert!(!accepts_html(&request(Some("application/json"))));
        assert!(!accepts_html(&request(Some("text/htmlx"))));
        assert!(!accepts_html(&request(None)));
    }

    #[test]
    fn the_policy_is_the_one_of_the_page() {
        let page = include_str!("../../../web/index.html");
        let meta = CONTENT_SECURITY_POLICY.trim_end_matches("; frame-ancestors 'none'");
        assert!(page.contains(&format!("content=\"{meta}\"")), "{meta}");
    }
}
