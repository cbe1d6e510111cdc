//! The web console as the real switch serves it (`runtime::start` on loopback): the page
//! at `/` without a token, every embedded file under `/console/` with its type, `ETag`
//! revalidation, the same-origin CSP, 404 for unknown files, and the API's own JSON 404
//! left intact beside it. The browser tests (tests/browser/run.sh) drive the pages.

mod api_support;

use reqwest::header;
use switchboard::api::console::{self, ASSETS};

#[tokio::test]
async fn the_page_is_served_at_root_without_a_token() {
    let h = api_support::start().await;
    for path in ["/", "/console", "/console/"] {
        let r = h.client.get(h.url(path)).send().await.expect("HTTP");
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-cache");
        let csp = r.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("ascii");
        assert_eq!(csp, console::CONTENT_SECURITY_POLICY);
        let body = r.text().await.expect("body");
        assert!(
            body.contains("<title>Switchboard console</title>"),
            "{path}"
        );
        assert!(body.contains("src=\"/console/app.js\""), "{path}");
    }
    h.stop().await;
}

#[tokio::test]
async fn every_file_is_served_with_its_type_and_revalidates_with_304() {
    let h = api_support::start().await;
    for a in ASSETS {
        let url = h.url(&format!("/console/{}", a.name));
        let r = h.client.get(&url).send().await.expect("HTTP");
        assert_eq!(r.status(), 200, "{}", a.name);
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            a.content_type,
            "{}",
            a.name
        );
        assert_eq!(r.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let tag = r.headers()[header::ETAG]
            .to_str()
            .expect("ascii")
            .to_string();
        assert_eq!(
            r.bytes().await.expect("body").as_ref(),
            a.body,
            "{}",
            a.name
        );

        let again = h
            .client
            .get(&url)
            .header(header::IF_NONE_MATCH, &tag)
            .send()
            .await
            .expect("HTTP");
        assert_eq!(again.status(), 304, "{}", a.name);
        assert!(again.bytes().await.expect("body").is_empty());
    }
    h.stop().await;
}

#[tokio::test]
async fn unknown_files_are_404_and_api_routes_keep_their_json_404() {
    let h = api_support::start().await;
    for path in [
        "/console/nope.js",
        "/console/../Cargo.toml",
        "/console/%2e%2e/Cargo.toml",
        "/console/app.js/x",
    ] {
        let r = h.client.get(h.url(path)).send().await.expect("HTTP");
        assert_eq!(r.status(), 404, "{path}");
    }
    let r = h
        .get("/api/v1/no-such-route", api_support::ADMIN)
        .send()
        .await
        .expect("HTTP");
    assert_eq!(r.status(), 404);
    let body: serde_json::Value = r.json().await.expect("JSON 404");
    assert_eq!(body["error"]["code"], "not_found");
    // the API still wants its token: serving the console opened nothing else
    let r = h
        .client
        .get(h.url("/api/v1/stats"))
        .send()
        .await
        .expect("HTTP");
    assert_eq!(r.status(), 401);
    h.stop().await;
}
