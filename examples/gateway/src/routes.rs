//! The gateway's routes: thin handlers over the provider and the session.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header::CACHE_CONTROL;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use openidconnect::CsrfToken;
use serde::Deserialize;

use crate::backchannel::{LogoutTokenError, LogoutTokenVerifier};
use crate::config::Config;
use crate::error::GatewayError;
use crate::pages;
use crate::provider::Provider;
use crate::resource;
use crate::session::{GatewaySession, same};
use crate::store::IndexedStore;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The configuration.
    pub config: Arc<Config>,
    /// The provider, discovered.
    pub provider: Arc<Provider>,
    /// The client for the resource server (and the provider).
    pub http: reqwest::Client,
    /// The session store, for back-channel logout.
    pub sessions: IndexedStore,
    /// Checks the provider's logout tokens.
    pub logout_tokens: LogoutTokenVerifier,
}

/// The routes (the session layer is added by the caller).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/callback", get(callback))
        .route("/logout", get(confirm_logout).post(logout))
        .route("/resource", get(call_whoami))
        .route("/resource/log", post(call_log))
        .route("/backchannel-logout", post(backchannel_logout))
        .route("/ping", get(|| async { "OK" }))
        .with_state(state)
}

type Result<T = Response> = std::result::Result<T, GatewayError>;

#[derive(Deserialize)]
struct HomeQuery {
    state: Option<String>,
}

/// `GET /`: the signed-in page; back from the provider's sign-out, the signed-out page;
/// otherwise to `/login`.
async fn home(
    State(app): State<AppState>,
    session: GatewaySession,
    Query(query): Query<HomeQuery>,
) -> Result {
    if let Some(user) = session.user().await? {
        let csrf = session.csrf_token().await?;
        let resource = app.config.resource_url.as_deref();
        return Ok(pages::home(&app.config.app_name, &user, &csrf, resource).into_response());
    }
    if let Some(state) = query.state
        && session.finish_logout(&state).await?
    {
        return Ok(pages::signed_out(&app.config.app_name).into_response());
    }
    Ok(Redirect::to("/login").into_response())
}

/// `GET /login`: starts the authorization-code flow at the provider.
async fn login(State(app): State<AppState>, session: GatewaySession) -> Result {
    if session.user().await?.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    let (url, pending) = app.provider.start_login();
    session.start_login(&pending).await?;
    Ok(Redirect::to(url.as_str()).into_response())
}

/// The authorization response (RFC 6749 §4.1.2, RFC 9207).
#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /callback`: checks `state` and `iss`, exchanges the code, verifies the ID token,
/// signs the user in.
async fn callback(
    State(app): State<AppState>,
    session: GatewaySession,
    Query(response): Query<CallbackQuery>,
) -> Result {
    let pending = session
        .take_pending_login()
        .await?
        .ok_or(GatewayError::NoLoginInProgress)?;
    if !same(
        &pending.state,
        response.state.as_deref().unwrap_or_default(),
    ) {
        return Err(GatewayError::StateMismatch);
    }
    app.provider
        .check_response_issuer(response.iss.as_deref())?;
    if let Some(error) = response.error {
        return Err(GatewayError::Refused {
            error,
            description: response.error_description,
        });
    }
    let code = response.code.ok_or(GatewayError::NoCode)?;
    let user = app.provider.finish_login(code, pending).await?;
    tracing::info!(sub = user.subject, "signed in");
    session.sign_in(&user).await?;
    Ok(Redirect::to("/").into_response())
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `GET /logout`: asks, since signing out takes a POST.
async fn confirm_logout(State(app): State<AppState>, session: GatewaySession) -> Result {
    if session.user().await?.is_none() {
        return Ok(Redirect::to("/").into_response());
    }
    let csrf = session.csrf_token().await?;
    Ok(pages::confirm_logout(&app.config.app_name, &csrf).into_response())
}

/// `POST /logout`: ends the local session, then RP-initiated logout at the provider.
async fn logout(
    State(app): State<AppState>,
    session: GatewaySession,
    Form(form): Form<CsrfForm>,
) -> Result {
    if session.user().await?.is_none() {
        return Ok(Redirect::to("/").into_response());
    }
    if !session.check_csrf(&form.csrf).await? {
        return Err(GatewayError::Csrf);
    }
    let state = CsrfToken::new_random();
    let user = session.sign_out(&state).await?;
    let target = user.and_then(|user| app.provider.logout_url(&user.id_token, &state));
    Ok(match target {
        Some(url) => Redirect::to(url.as_str()).into_response(),
        None => Redirect::to("/").into_response(),
    })
}

/// `GET /resource`: `GET /whoami` at the resource server with the user's access token.
async fn call_whoami(State(app): State<AppState>, session: GatewaySession) -> Result {
    let Some(user) = session.user().await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    let Some(resource_url) = app.config.resource_url.as_deref() else {
        return Ok(Redirect::to("/").into_response());
    };
    let answer = resource::whoami(&app.http, resource_url, &user).await;
    Ok(pages::resource_answer(
        &app.config.app_name,
        &answer.request,
        &answer.status,
        &answer.body,
    )
    .into_response())
}

/// `POST /resource/log`: `POST /log` at the resource server with the user's access token.
async fn call_log(
    State(app): State<AppState>,
    session: GatewaySession,
    Form(form): Form<CsrfForm>,
) -> Result {
    let Some(user) = session.user().await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    if !session.check_csrf(&form.csrf).await? {
        return Err(GatewayError::Csrf);
    }
    let Some(resource_url) = app.config.resource_url.as_deref() else {
        return Ok(Redirect::to("/").into_response());
    };
    let answer = resource::log(&app.http, resource_url, &app.config.app_name, &user).await;
    Ok(pages::resource_answer(
        &app.config.app_name,
        &answer.request,
        &answer.status,
        &answer.body,
    )
    .into_response())
}

#[derive(Deserialize)]
struct LogoutTokenForm {
    logout_token: Option<String>,
}

/// `POST /backchannel-logout` (Back-Channel Logout 1.0 §2.5): the provider says a session
/// there ended; every session of ours it started ends too. §2.8: 200 when done, 400 with a
/// JSON error when the token is refused, never cached.
async fn backchannel_logout(
    State(app): State<AppState>,
    Form(form): Form<LogoutTokenForm>,
) -> Response {
    let no_store = [(CACHE_CONTROL, "no-store")];
    let verified = match form.logout_token.as_deref() {
        Some(token) => app.logout_tokens.verify(token).await,
        None => Err(LogoutTokenError::Missing),
    };
    let ended = match verified {
        Ok(ended) => ended,
        Err(error) => {
            tracing::info!(%error, "logout token refused");
            // Our keys being unavailable is not the token's fault: the provider retries a 503.
            let status = if error.is_temporary() {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::BAD_REQUEST
            };
            let body = serde_json::json!({
                "error": "invalid_request",
                "error_description": error.to_string(),
            });
            return (status, no_store, Json(body)).into_response();
        }
    };
    let until = time::OffsetDateTime::now_utc() + crate::SESSION_IDLE;
    match app.sessions.end(&ended, until).await {
        Ok(count) => {
            tracing::info!(?ended, sessions = count, "back-channel logout");
            (StatusCode::OK, no_store).into_response()
        }
        Err(error) => {
            tracing::error!(%error, "back-channel logout: the session store failed");
            (StatusCode::INTERNAL_SERVER_ERROR, no_store).into_response()
        }
    }
}
