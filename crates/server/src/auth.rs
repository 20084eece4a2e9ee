//! Who may do what: bearer tokens from the config with the roles `read` and `admin`, compared
//! in constant time, and the secure default that refuses to expose an open server.
//!
//! A token comes in an `Authorization: Bearer …` header (API clients) or in the `earful_token`
//! cookie that `/login` sets (browsers, whose plain links and forms cannot send headers).

use std::net::SocketAddr;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use earful_core::config::{Role, ServerConfig};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::ApiState;

/// The cookie a browser keeps its token in.
pub(crate) const TOKEN_COOKIE: &str = "earful_token";

/// Who made a request, as handlers see it (in the request's extensions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The token's name from the config, or `anonymous`.
    pub name: String,
    /// What the caller may do.
    pub role: Role,
}

#[derive(Clone)]
struct Token {
    name: String,
    /// Tokens are compared by their SHA-256 digests, so every comparison has the same length
    /// and a mismatch reveals neither where it is nor how long the secret is.
    digest: [u8; 32],
    role: Role,
}

/// The configured tokens and what an anonymous caller may do.
#[derive(Clone)]
pub(crate) struct Auth {
    tokens: Vec<Token>,
    anonymous: Option<Role>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Auth")
            .field("tokens", &self.tokens.len())
            .field("anonymous", &self.anonymous)
            .finish()
    }
}

fn digest(secret: &[u8]) -> [u8; 32] {
    Sha256::digest(secret).into()
}

fn allows(role: Role, needed: Role) -> bool {
    match needed {
        Role::Read => true,
        Role::Admin => role == Role::Admin,
    }
}

impl Auth {
    /// Tokens from `[server] tokens`. Without tokens anyone may read (the config refuses that
    /// on a public address unless `allow_anonymous_read` is set); with tokens, only
    /// `allow_anonymous_read` lets callers without one read. Admin always needs a token.
    pub(crate) fn from_config(server: &ServerConfig) -> Auth {
        let tokens: Vec<Token> = server
            .tokens
            .iter()
            .map(|token| Token {
                name: token.name.clone(),
                digest: digest(token.token.as_bytes()),
                role: token.role,
            })
            .collect();
        let anonymous = (tokens.is_empty() || server.allow_anonymous_read).then_some(Role::Read);
        Auth { tokens, anonymous }
    }

    /// The configured token equal to `presented`, checked against every token in constant
    /// time (no early exit), so timing reveals nothing about the secrets.
    fn find(&self, presented: &str) -> Option<&Token> {
        let presented = digest(presented.as_bytes());
        let mut found = None;
        for token in &self.tokens {
            if bool::from(token.digest.ct_eq(&presented)) {
                found = Some(token);
            }
        }
        found
    }

    /// Who is calling, given the request's headers, or why they may not call at all.
    pub(crate) fn identify(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        match presented_token(headers) {
            Some(presented) => match self.find(&presented) {
                Some(token) => Ok(Caller {
                    name: token.name.clone(),
                    role: token.role,
                }),
                None => Err(ApiError::Unauthorized(
                    "the bearer token is not one this server knows".into(),
                )),
            },
            None => match self.anonymous {
                Some(role) => Ok(Caller {
                    name: "anonymous".into(),
                    role,
                }),
                None => Err(ApiError::Unauthorized(
                    "this server needs a token: send `Authorization: Bearer <token>`".into(),
                )),
            },
        }
    }

    /// Whether `token` is a configured token (for `/login`).
    pub(crate) fn knows(&self, token: &str) -> bool {
        self.find(token).is_some()
    }

    /// Whether anything needs a token (so the UI offers a login).
    pub(crate) fn has_tokens(&self) -> bool {
        !self.tokens.is_empty()
    }
}

/// The token in the `Authorization: Bearer` header, else in the `earful_token` cookie.
fn presented_token(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let text = value.to_str().ok()?.trim();
        let (scheme, token) = text.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_string());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|cookie| cookie.trim().split_once('='))
        .find(|(name, _)| *name == TOKEN_COOKIE)
        .map(|(_, value)| value.to_string())
}

async fn require(state: &ApiState, needed: Role, mut request: Request, next: Next) -> Response {
    let caller = match state.live().auth().identify(request.headers()) {
        Ok(caller) => caller,
        Err(error) => {
            let wants_page = request
                .headers()
                .get(header::ACCEPT)
                .and_then(|accept| accept.to_str().ok())
                .is_some_and(|accept| accept.contains("text/html"));
            if wants_page && !request.uri().path().starts_with("/api/") {
                // A browser on a page: send it to the login form.
                return axum::response::Redirect::to("/login").into_response();
            }
            let mut response = error.into_response();
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
    };
    if !allows(caller.role, needed) {
        return ApiError::Forbidden(format!(
            "token `{}` has the read role; this needs the admin role",
            caller.name
        ))
        .into_response();
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// Middleware: the caller must be allowed to read.
pub(crate) async fn require_read(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    require(&state, Role::Read, request, next).await
}

/// Middleware: the caller must hold an admin token.
pub(crate) async fn require_admin(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    require(&state, Role::Admin, request, next).await
}

/// Why a server config must not be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExposureError {
    /// `listen` is not an address.
    #[error("`server.listen`: `{0}` is not an address like 127.0.0.1:7878")]
    BadAddress(String),
    /// A public address with nobody required to show a token.
    #[error("`server.listen`: {0}")]
    Exposed(String),
}

/// The address to listen on, if serving there is safe: a non-loopback address with no tokens
/// refuses to start unless `allow_anonymous_read = true` is set explicitly. The daemon calls
/// this before binding.
pub fn check_exposure(server: &ServerConfig) -> Result<SocketAddr, ExposureError> {
    let address = server
        .listen
        .parse::<SocketAddr>()
        .map_err(|_| ExposureError::BadAddress(server.listen.clone()))?;
    match server.exposure_problem() {
        Some(problem) => Err(ExposureError::Exposed(problem)),
        None => Ok(address),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use earful_core::config::TokenConfig;

    fn server(listen: &str, tokens: &[(&str, &str, Role)], anonymous: bool) -> ServerConfig {
        ServerConfig {
            listen: listen.into(),
            tokens: tokens
                .iter()
                .map(|(name, token, role)| TokenConfig {
                    name: (*name).into(),
                    token: (*token).into(),
                    role: *role,
                })
                .collect(),
            allow_anonymous_read: anonymous,
        }
    }

    fn bearer(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        headers
    }

    #[test]
    fn tokens_are_found_only_when_equal() {
        let auth = Auth::from_config(&server(
            "127.0.0.1:0",
            &[
                ("reader", "read-token-0123456789", Role::Read),
                ("ops", "admin-token-0123456789", Role::Admin),
            ],
            false,
        ));
        assert_eq!(auth.find("admin-token-0123456789").unwrap().name, "ops");
        assert_eq!(auth.find("read-token-0123456789").unwrap().name, "reader");
        // One character off at the end, a prefix, and a longer string are all strangers.
        assert!(auth.find("admin-token-0123456788").is_none());
        assert!(auth.find("admin-token").is_none());
        assert!(auth.find("admin-token-0123456789x").is_none());
        assert!(auth.find("").is_none());
    }

    #[test]
    fn callers_are_identified_by_header_or_cookie() {
        let auth = Auth::from_config(&server(
            "127.0.0.1:0",
            &[("ops", "admin-token-0123456789", Role::Admin)],
            false,
        ));
        assert_eq!(
            auth.identify(&bearer("admin-token-0123456789")).unwrap(),
            Caller {
                name: "ops".into(),
                role: Role::Admin
            }
        );
        let mut cookie = HeaderMap::new();
        cookie.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; earful_token=admin-token-0123456789"),
        );
        assert_eq!(auth.identify(&cookie).unwrap().role, Role::Admin);
        assert!(matches!(
            auth.identify(&HeaderMap::new()),
            Err(ApiError::Unauthorized(_))
        ));
        assert!(matches!(
            auth.identify(&bearer("wrong-token-0123456789")),
            Err(ApiError::Unauthorized(_))
        ));
    }

    #[test]
    fn anonymous_callers_only_ever_read() {
        let open = Auth::from_config(&server("127.0.0.1:0", &[], false));
        assert_eq!(open.identify(&HeaderMap::new()).unwrap().role, Role::Read);
        let mixed = Auth::from_config(&server(
            "0.0.0.0:0",
            &[("ops", "admin-token-0123456789", Role::Admin)],
            true,
        ));
        assert_eq!(mixed.identify(&HeaderMap::new()).unwrap().role, Role::Read);
        assert!(!allows(Role::Read, Role::Admin));
        assert!(allows(Role::Admin, Role::Read));
    }

    #[test]
    fn a_public_address_without_tokens_refuses_to_start() {
        let refused = check_exposure(&server("0.0.0.0:7878", &[], false)).unwrap_err();
        assert!(matches!(refused, ExposureError::Exposed(_)));
        assert!(
            refused.to_string().contains("allow_anonymous_read"),
            "{refused}"
        );
        assert!(check_exposure(&server("0.0.0.0:7878", &[], true)).is_ok());
        assert!(check_exposure(&server("127.0.0.1:7878", &[], false)).is_ok());
        assert!(check_exposure(&server("[::1]:7878", &[], false)).is_ok());
        assert!(check_exposure(&server(
            "192.168.1.5:7878",
            &[("ops", "admin-token-0123456789", Role::Admin)],
            false
        ))
        .is_ok());
        assert!(matches!(
            check_exposure(&server("everywhere", &[], false)),
            Err(ExposureError::BadAddress(_))
        ));
    }
}
