//! The API's one error type, mapped to HTTP once: every handler returns
//! `Result<_, ApiError>` and the body is always
//! `{"error":{"code":"…","message":"…","field":"…"}}` (field only when one is at fault).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// No token, or one we do not know.
    #[error("missing or unknown API token")]
    Unauthorized,
    /// The token's role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Malformed JSON or query string.
    #[error("{message}")]
    BadRequest {
        message: String,
        field: Option<String>,
    },
    /// Well-formed, but a field's value is not acceptable.
    #[error("{field}: {message}")]
    Unprocessable { field: String, message: String },
    /// Invalid content that belongs to no single request field (a dialplan file).
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    /// The path exists, the method does not (405; code `bad_request`).
    #[error("method not allowed on this path")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    /// The switch core or the store cannot answer now.
    #[error("{0}")]
    Unavailable(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unprocessable { .. } | ApiError::Invalid(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::BadRequest { .. } | ApiError::MethodNotAllowed => "bad_request",
            ApiError::Unprocessable { .. } | ApiError::Invalid(_) => "unprocessable",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::Unavailable(_) => "unavailable",
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::BadRequest { field, .. } => field.as_deref(),
            ApiError::Unprocessable { field, .. } => Some(field),
            _ => None,
        }
    }

    pub fn bad_request(message: impl Into<String>, field: Option<&str>) -> ApiError {
        ApiError::BadRequest {
            message: message.into(),
            field: field.map(str::to_string),
        }
    }

    pub fn unprocessable(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::Unprocessable {
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code().to_string(),
                message: self.to_string(),
                field: self.field().map(str::to_string),
            },
        }
    }
}

/// `{"error":{…}}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// unauthorized | forbidden | bad_request | unprocessable | not_found | conflict | unavailable
    pub code: String,
    pub message: String,
    /// The request field at fault (400/422), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status(), Json(self.body())).into_response();
        if self == ApiError::Unauthorized {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_status_code_and_field() {
        let e = ApiError::unprocessable("limit", "must be 1 to 1000");
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let json = serde_json::to_value(e.body()).expect("json");
        assert_eq!(json["error"]["code"], "unprocessable");
        assert_eq!(json["error"]["field"], "limit");
        assert_eq!(json["error"]["message"], "limit: must be 1 to 1000");
        let json = serde_json::to_value(ApiError::Unauthorized.body()).expect("json");
        assert!(json["error"].get("field").is_none());
        assert_eq!(ApiError::Unauthorized.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            ApiError::Forbidden(String::new()).status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(ApiError::NotFound(String::new()).code(), "not_found");
        assert_eq!(
            ApiError::Invalid(String::new()).status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
}
