//! The JSON API under `/api/v1` and the health probes. Routes are declared once, with
//! utoipa-axum's `routes!`, so the router and the OpenAPI document cannot disagree.

pub(crate) mod alerts;
pub(crate) mod mentions;
mod meta;
pub(crate) mod params;
pub(crate) mod stats;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::ApiState;

pub(crate) use meta::source_infos;

/// Routes any caller allowed to read may use.
pub(crate) fn read_routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(mentions::search))
        .routes(routes!(mentions::by_id))
        .routes(routes!(stats::timeline))
        .routes(routes!(stats::top))
        .routes(routes!(meta::watches))
        .routes(routes!(meta::sources))
        .routes(routes!(meta::openapi_json))
        .routes(routes!(alerts::list))
        .routes(routes!(alerts::by_id))
        .routes(routes!(alerts::silences))
}

/// Routes that change state: admin tokens only.
pub(crate) fn admin_routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(alerts::acknowledge))
        .routes(routes!(alerts::add_silence))
        .routes(routes!(alerts::end_silence))
}

/// `/healthz` and `/readyz`: open to all, so probes need no token.
pub(crate) fn probe_routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(meta::healthz))
        .routes(routes!(meta::readyz))
}
