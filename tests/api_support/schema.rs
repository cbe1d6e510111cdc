//! Checks a JSON response against the OpenAPI document's schema for its route and status:
//! the subset of JSON Schema (2020-12, as OpenAPI 3.1 uses it) that our document uses —
//! `$ref`, `type` (one or a list, with "null"), `properties`, `required`, `items`,
//! `minimum`, `oneOf`/`anyOf`/`allOf`. Unknown keywords are ignored, never guessed.

use serde_json::Value;
use switchboard::api::openapi::ApiDoc;
use utoipa::OpenApi;

pub fn document() -> Value {
    serde_json::to_value(ApiDoc::openapi()).expect("document serialises")
}

/// The document's path template matching a concrete path (`/api/v1/calls/X` →
/// `/api/v1/calls/{id}`).
pub fn template<'a>(doc: &'a Value, path: &str) -> Option<&'a str> {
    let path = path.split('?').next().unwrap_or(path);
    let want: Vec<&str> = path.split('/').collect();
    doc["paths"]
        .as_object()?
        .keys()
        .map(String::as_str)
        .find(|t| {
            let have: Vec<&str> = t.split('/').collect();
            have.len() == want.len()
                && have
                    .iter()
                    .zip(&want)
                    .all(|(h, w)| h == w || (h.starts_with('{') && h.ends_with('}')))
        })
}

/// The JSON schema documented for `method path` answering `status`.
pub fn response_schema<'a>(doc: &'a Value, method: &str, path: &str, status: u16) -> &'a Value {
    let t = template(doc, path).unwrap_or_else(|| panic!("{path} is not documented"));
    let resp = &doc["paths"][t][method]["responses"][status.to_string()];
    assert!(
        !resp.is_null(),
        "{method} {t}: status {status} is not documented"
    );
    let schema = &resp["content"]["application/json"]["schema"];
    assert!(
        !schema.is_null(),
        "{method} {t} {status}: no JSON schema documented"
    );
    schema
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => true,
    }
}

/// Checks `v` against `schema`; the error names the JSON path at fault.
pub fn validate(doc: &Value, schema: &Value, v: &Value, at: &str) -> Result<(), String> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r
            .strip_prefix("#/components/schemas/")
            .ok_or(format!("{at}: unknown $ref {r}"))?;
        return validate(doc, &doc["components"]["schemas"][name], v, at);
    }
    match &schema["type"] {
        Value::String(t) if !type_ok(t, v) => return Err(format!("{at}: {v} is not {t}")),
        Value::Array(ts) if !ts.iter().filter_map(Value::as_str).any(|t| type_ok(t, v)) => {
            return Err(format!("{at}: {v} is none of {ts:?}"))
        }
        _ => {}
    }
    if let (Some(min), Some(n)) = (schema["minimum"].as_f64(), v.as_f64()) {
        if n < min {
            return Err(format!("{at}: {n} < minimum {min}"));
        }
    }
    if let Some(all) = schema["allOf"].as_array() {
        for s in all {
            validate(doc, s, v, at)?;
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(any) = schema[key].as_array() {
            if !any.iter().any(|s| validate(doc, s, v, at).is_ok()) {
                return Err(format!("{at}: {v} matches none of {key}"));
            }
        }
    }
    if let Value::Object(obj) = v {
        for req in schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !obj.contains_key(req) {
                return Err(format!("{at}: required field {req} missing"));
            }
        }
        if let Some(props) = schema["properties"].as_object() {
            for (k, s) in props {
                if let Some(fv) = obj.get(k) {
                    validate(doc, s, fv, &format!("{at}.{k}"))?;
                }
            }
        }
    }
    if let (Value::Array(items), Some(s)) = (v, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            validate(doc, s, item, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// Panics unless `body` is what the document promises for `method path status`.
pub fn check(method: &str, path: &str, status: u16, body: &Value) {
    let doc = document();
    let schema = response_schema(&doc, method, path, status);
    if let Err(e) = validate(&doc, schema, body, "$") {
        panic!(
            "{method} {path} {status}: response does not match the OpenAPI document: {e}\n{body}"
        );
    }
}

#[cfg(test)]
mod tests {}
