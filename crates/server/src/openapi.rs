//! The OpenAPI document, assembled from the same route declarations the router serves.

use std::sync::LazyLock;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as Document;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::state::ApiState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Earful",
        description = "Search the mentions Earful collected, their sentiment and volume over time, and the health of their sources. Send `Authorization: Bearer <token>` when the server has tokens.",
    ),
    modifiers(&BearerTokens),
    tags(
        (name = "mentions", description = "Search and read mentions"),
        (name = "stats", description = "Volume over time and top values"),
        (name = "alerts", description = "Alerts, acknowledgements and silences"),
        (name = "config", description = "Watches, sources and this document"),
        (name = "probes", description = "Liveness and readiness, open to all"),
    )
)]
struct ApiDoc;

struct BearerTokens;

impl Modify for BearerTokens {
    fn modify(&self, document: &mut Document) {
        let components = document.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

static DOCUMENT: LazyLock<Document> = LazyLock::new(|| {
    let (_, document) = OpenApiRouter::<ApiState>::with_openapi(ApiDoc::openapi())
        .merge(crate::api::read_routes())
        .merge(crate::api::admin_routes())
        .merge(crate::api::probe_routes())
        .split_for_parts();
    document
});

/// The OpenAPI 3.1 document of every JSON route, as `/api/v1/openapi.json` serves it.
pub fn openapi() -> &'static Document {
    &DOCUMENT
}
