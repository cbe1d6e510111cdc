//! The OpenAPI document describes the router: every route the API serves is in it with
//! its method (a route added without `#[utoipa::path]` fails here), it lists no route the
//! router lacks, it is served as valid JSON declaring OpenAPI 3.1, and every `$ref` in it
//! resolves. Also: `/metrics` parses as the Prometheus text format.

mod api_support;

use api_support::schema;

use std::collections::{BTreeSet, HashMap};

use api_support::{start, ADMIN};
use serde_json::Value;
use switchboard::api::openapi::ApiDoc;
use switchboard::api::Routes;
use utoipa::OpenApi;

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "put", "post", "delete", "patch"] {
            if item.get(method).is_some() {
                out.insert((method.to_string(), path.clone()));
            }
        }
    }
    out
}

fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_route_is_documented_and_nothing_else() {
    let doc = serde_json::to_value(ApiDoc::openapi()).expect("serialises");
    let routes: BTreeSet<(String, String)> = Routes::api()
        .table()
        .iter()
        .map(|(verb, path)| (verb.as_str().to_string(), path.to_string()))
        .collect();
    let documented = documented(&doc);
    let undocumented: Vec<_> = routes.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the OpenAPI document: {undocumented:?}"
    );
    let phantom: Vec<_> = documented.difference(&routes).collect();
    assert!(phantom.is_empty(), "documented but not routed: {phantom:?}");
    assert!(routes.len() >= 13);
}

#[test]
fn references_resolve_and_protected_routes_declare_bearer_auth() {
    let doc = serde_json::to_value(ApiDoc::openapi()).expect("serialises");
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty());
    for r in found {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "dangling $ref {r}"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let open =
                ["/api/v1/health", "/api/v1/openapi.json", "/metrics"].contains(&path.as_str());
            assert_eq!(op.get("security").is_none(), open, "{method} {path}");
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path}"
            );
        }
    }
}

/// Parses the Prometheus text format (0.0.4) strictly enough to catch a malformed line.
fn parse_prometheus(text: &str) -> HashMap<String, f64> {
    let mut types = HashMap::new();
    let mut samples = HashMap::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            assert!(
                types.insert(name.to_string(), kind.to_string()).is_none(),
                "TYPE twice: {line}"
            );
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment {line}");
        let (series, value) = line.rsplit_once(' ').expect("series value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        let name = series.split('{').next().unwrap_or("");
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "{line}"
        );
        if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
            assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| types.get(*f).is_some_and(|k| k == "histogram"))
            })
            .unwrap_or(name);
        assert!(types.contains_key(family), "sample before its TYPE: {line}");
        samples.insert(series.to_string(), value);
    }
    samples
}

#[tokio::test]
async fn served_document_and_metrics_parse() {
    let h = start().await;
    let served: Value = h
        .client
        .get(h.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("HTTP")
        .json()
        .await
        .expect("valid JSON");
    assert_eq!(
        served,
        serde_json::to_value(ApiDoc::openapi()).expect("json")
    );

    let _ = h.get_json("/api/v1/stats", ADMIN).await;
    let r = h.client.get(h.url("/metrics")).send().await.expect("HTTP");
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap_or("")
        .starts_with("text/plain; version=0.0.4"));
    let samples = parse_prometheus(&r.text().await.expect("body"));
    for name in [
        "switchboard_active_calls",
        "switchboard_calls_total",
        "switchboard_calls_per_second_1m",
        "switchboard_registrations",
        "switchboard_store_write_seconds_count",
        "switchboard_store_write_seconds_bucket{le=\"+Inf\"}",
    ] {
        assert!(samples.contains_key(name), "{name} missing");
    }
    assert_eq!(
        samples.get("switchboard_http_requests_total{route=\"/api/v1/stats\",method=\"GET\",status=\"200\"}"),
        Some(&1.0)
    );
    h.stop().await;
}

#[test]
fn the_response_checker_catches_mismatches() {
    let doc = schema::document();
    let calls = schema::response_schema(&doc, "get", "/api/v1/calls", 200);
    let good = serde_json::json!([{"id":"X","caller":"1","callee":"2","state":"ringing","started_at":"2026-01-01T00:00:00.000Z","answered_at":null}]);
    assert_eq!(schema::validate(&doc, calls, &good, "$"), Ok(()));
    let mut missing = good.clone();
    missing[0].as_object_mut().map(|o| o.remove("state"));
    assert!(schema::validate(&doc, calls, &missing, "$").is_err_and(|e| e.contains("state")));
    let mut wrong = good.clone();
    wrong[0]["answered_at"] = serde_json::json!(5);
    assert!(schema::validate(&doc, calls, &wrong, "$").is_err_and(|e| e.contains("answered_at")));
    let stats = schema::response_schema(&doc, "get", "/api/v1/stats", 200);
    let bad = serde_json::json!({"active_calls":"0","calls_total":0,"registrations":0,"uptime_s":0,"cps_1m":0.0});
    assert!(schema::validate(&doc, stats, &bad, "$").is_err());
    let err = schema::response_schema(&doc, "delete", "/api/v1/calls/X", 404);
    assert_eq!(
        schema::validate(
            &doc,
            err,
            &serde_json::json!({"error":{"code":"not_found","message":"m"}}),
            "$"
        ),
        Ok(())
    );
    assert!(schema::validate(&doc, err, &serde_json::json!({"message":"m"}), "$").is_err());
}
