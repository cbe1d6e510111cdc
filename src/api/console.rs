//! The web console: a single-page application (plain ES modules, no build step, no CDN)
//! embedded in the binary and served at `/` and `/console/*`.
//!
//! The console owns no state and needs no token to load: the login page asks for an API
//! token and every call it makes goes through the REST API and the WebSocket event
//! stream like any other client (contract: `GET /api/v1/openapi.json`). This module only
//! serves the files in `src/api/console/`, with their content type, an `ETag` (a hash
//! of the bytes fixed at compile time) so a reload revalidates with a `304`, and
//! headers that keep the pages to themselves: a Content-Security-Policy that allows only
//! same-origin scripts, styles and connections (so no inline script or handler can
//! run), `nosniff`, no framing and no referrer.
//!
//! Mount it beside the API: `Routes::api().router.merge(console::router())`.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// Name under `/console/` (`app.js`).
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
    /// FNV-1a 64 of `body`, computed at compile time.
    pub hash: u64,
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// FNV-1a, 64 bit: a stable fingerprint of an asset's bytes for its `ETag`.
pub const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    h
}

macro_rules! asset {
    ($name:literal, $ct:expr) => {{
        const BODY: &[u8] = include_bytes!(concat!("console/", $name));
        Asset {
            name: $name,
            content_type: $ct,
            body: BODY,
            hash: fnv1a(BODY),
        }
    }};
}

/// Every file of the console; `index.html` is also served at `/` and `/console/`.
pub const ASSETS: &[Asset] = &[
    asset!("index.html", HTML),
    asset!("style.css", CSS),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("chart.js", JS),
    asset!("login.js", JS),
    asset!("wallboard.js", JS),
    asset!("calls.js", JS),
    asset!("campaigns.js", JS),
    asset!("agent.js", JS),
];

/// Same-origin only: no inline script, style or event handler runs, no other host is
/// contacted (`'self'` covers the same-origin WebSocket in CSP Level 3 browsers).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The asset called `name`, if the console has one.
pub fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// The routes: `/`, `/console`, `/console/` (the page) and `/console/{file}`.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/console", get(index))
        .route("/console/", get(index))
        .route("/console/{*file}", get(file))
}

async fn index(headers: HeaderMap) -> Response {
    match find("index.html") {
        Some(a) => respond(a, &headers),
        None => not_found(),
    }
}

async fn file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    match find(&name) {
        Some(a) => respond(a, &headers),
        None => not_found(),
    }
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "no such console file\n",
    )
        .into_response()
}

/// `"<16 hex digits>"`.
pub fn etag(a: &Asset) -> String {
    format!("\"{:016x}\"", a.hash)
}

/// Does `If-None-Match` (a list of tags, or `*`) name this tag? Weak tags compare too.
fn matches(if_none_match: &str, tag: &str) -> bool {
    if_none_match
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == tag)
}

/// The asset with its headers, or `304 Not Modified` when the client holds this version.
pub fn respond(a: &'static Asset, request: &HeaderMap) -> Response {
    let tag = etag(a);
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| matches(v, &tag));
    let status = if fresh {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    let mut res = if fresh {
        status.into_response()
    } else {
        (status, a.body).into_response()
    };
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(a.content_type),
    );
    // Revalidate every time: a new binary must never run with a cached old app.js.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(inm: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(v) = inm {
            h.insert(header::IF_NONE_MATCH, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn every_asset_is_embedded_with_a_type_matching_its_extension() {
        for a in ASSETS {
            assert!(!a.body.is_empty(), "{} is empty", a.name);
            let want = match a.name.rsplit('.').next() {
                Some("html") => HTML,
                Some("js") => JS,
                Some("css") => CSS,
                other => panic!("unexpected extension {other:?}"),
            };
            assert_eq!(a.content_type, want, "{}", a.name);
        }
    }

    #[test]
    fn every_module_the_page_imports_is_served() {
        // `import … from './x.js'` and `<script src="/console/x.js">`: a file missing from
        // ASSETS would 404 in the browser and blank the console.
        for a in ASSETS {
            let text = std::str::from_utf8(a.body).unwrap();
            for part in text.split(['\'', '"']) {
                let name = part
                    .strip_prefix("./")
                    .or_else(|| part.strip_prefix("/console/"));
                if let Some(n) = name.filter(|n| n.ends_with(".js") || n.ends_with(".css")) {
                    assert!(find(n).is_some(), "{} refers to {n}, not embedded", a.name);
                }
            }
        }
    }

    #[test]
    fn no_inline_handlers_or_scripts_in_the_page() {
        let html = std::str::from_utf8(find("index.html").unwrap().body).unwrap();
        assert!(!html.contains(" onclick="), "inline handler");
        assert!(!html.contains("<script>"), "inline script");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "CDN"
        );
    }

    #[test]
    fn served_with_type_cache_and_security_headers() {
        let a = find("app.js").unwrap();
        let res = respond(a, &req(None));
        assert_eq!(res.status(), StatusCode::OK);
        let h = res.headers();
        assert_eq!(h[header::CONTENT_TYPE], JS);
        assert_eq!(h[header::CACHE_CONTROL], "no-cache");
        assert_eq!(h[header::ETAG], etag(a).as_str());
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(h[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("script-src 'self'"));
    }

    #[test]
    fn a_matching_etag_gets_304_and_a_stale_one_the_file() {
        let a = find("style.css").unwrap();
        let tag = etag(a);
        assert_eq!(
            respond(a, &req(Some(&tag))).status(),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(
            respond(a, &req(Some(&format!("\"0\", W/{tag}")))).status(),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(
            respond(a, &req(Some("*"))).status(),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(respond(a, &req(Some("\"0\""))).status(), StatusCode::OK);
    }

    #[test]
    fn etags_differ_between_files_and_follow_the_bytes() {
        assert_ne!(fnv1a(b"a"), fnv1a(b"b"));
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        let tags: std::collections::HashSet<_> = ASSETS.iter().map(etag).collect();
        assert_eq!(tags.len(), ASSETS.len());
    }
}
