//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` attributes
//! and the response types' `ToSchema` derives, served at `/api/v1/openapi.json`. A test
//! (`tests/api_openapi.rs`) checks that every route the router serves is in it.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    agent_desk, agents, calls, campaign_leads, campaigns, cdrs, dialplan, directory, dnc,
    events_ws, history, metrics_route, queue_report, recordings, status,
};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard API",
        description = "Operations API of the Switchboard telephony switch. Authenticate with `Authorization: Bearer <token>`; roles admin > supervisor > agent. Errors are `{\"error\":{\"code\",\"message\",\"field\"?}}`."
    ),
    paths(
        status::health,
        status::whoami,
        status::stats,
        calls::list,
        calls::click_to_call,
        calls::hang_up,
        calls::transfer,
        calls::registrations,
        agents::queues,
        agents::agents,
        agents::set_state,
        agent_desk::call,
        agent_desk::disposition,
        agent_desk::preview_dial,
        agent_desk::preview_skip,
        campaigns::list,
        campaigns::create,
        campaigns::get,
        campaigns::edit,
        campaigns::delete,
        campaign_leads::upload,
        campaigns::start,
        campaigns::pause,
        campaigns::stop,
        campaigns::stats,
        campaign_leads::results_csv,
        dnc::check_campaign,
        dnc::add_campaign,
        dnc::remove_campaign,
        dnc::check_global,
        dnc::add_global,
        dnc::remove_global,
        cdrs::list,
        cdrs::csv,
        dialplan::reload,
        dialplan::route,
        events_ws::events,
        openapi_json,
        metrics_route::metrics,
        directory::endpoints,
        directory::create_endpoint,
        directory::endpoint,
        directory::replace_endpoint,
        directory::delete_endpoint,
        directory::trunks,
        directory::create_trunk,
        directory::trunk,
        directory::replace_trunk,
        directory::delete_trunk,
        history::history,
        queue_report::report,
        recordings::list,
        recordings::download,
    ),
    components(schemas(events_ws::EventFrame, events_ws::CallEventData)),
    modifiers(&BearerAuth),
    tags(
        (name = "status", description = "Health, identity, headline numbers"),
        (name = "calls", description = "Live calls and registrations"),
        (name = "acd", description = "Queues and agents"),
        (name = "campaigns", description = "Dialer campaigns, lead lists, results"),
        (name = "dnc", description = "Do-not-call lists (global and per campaign)"),
        (name = "cdrs", description = "Call detail records"),
        (name = "dialplan", description = "Reload and dry-run routing"),
        (name = "events", description = "Live event stream"),
        (name = "meta", description = "This document and Prometheus metrics"),
        (name = "directory", description = "Endpoints and trunks, changed without restart"),
        (name = "recordings", description = "The recordings index and the files"),
    )
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
