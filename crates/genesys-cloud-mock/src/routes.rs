//! The platform's HTTP API (`/oauth/token`, `/api/v2/...`) and the layer in front of it:
//! request log, latency, bearer check, rate limit and injected 5xx.
//! Each platform behaviour simulated here has its source and certainty in `docs/platform.md`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Extension, Json, Router};
use chrono::{DateTime, Utc};
use rand::Rng;

use super::auth::{
    ANALYTICS_VIEW, COMMUNICATION_VIEW, Caller, DISCONNECT, KICK_PERMISSIONS, QUEUE_VIEW,
};
use super::body::JsonBody;
use super::errors::ErrorReply;
use super::notifications;
use super::shapes::{self, Flavor};
use super::state::Shared;
use super::world::{LegChange, ScheduledAction};
use genesys_cloud_models::{
    AnalyticsConversationQueryResponse, ConversationQuery, DisconnectType, MediaParticipantRequest,
    ParticipantState, QueryFilter, QueueEntityListing, Timestamp, TokenResponse,
};

/// The client a token request authenticated as, for the request log.
#[derive(Clone, Debug)]
struct TokenClient(String);

pub(super) fn platform_router(shared: Arc<Shared>) -> Router {
    let api = Router::new()
        .route("/api/v2/routing/queues", get(list_queues))
        .route(
            "/api/v2/analytics/conversations/details/query",
            post(analytics_query),
        )
        .route("/api/v2/conversations/calls/{id}", get(get_call))
        .route(
            "/api/v2/conversations/calls/{id}/participants/{pid}",
            patch(patch_call_participant),
        )
        .route("/api/v2/conversations/{id}", get(get_conversation))
        .route(
            "/api/v2/conversations/{id}/participants/{pid}",
            patch(patch_participant),
        )
        .route(
            "/api/v2/conversations/{id}/disconnect",
            post(disconnect_all),
        )
        .route(
            "/api/v2/notifications/channels",
            post(notifications::create_channel),
        )
        .route(
            "/api/v2/notifications/channels/{id}/subscriptions",
            get(notifications::get_subscriptions)
                .post(notifications::post_subscriptions)
                .put(notifications::put_subscriptions)
                .delete(notifications::delete_subscriptions),
        )
        .route("/oauth/token", post(token))
        .route(
            "/oauth/authorize",
            get(super::signin::authorize_page).post(super::signin::authorize_submit),
        )
        .route("/api/v2/users/me", get(super::signin::users_me))
        .route(
            "/api/v2/tokens/me",
            axum::routing::delete(super::signin::delete_token_me),
        )
        .route("/channels/{id}", get(notifications::websocket))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    api.layer(axum::middleware::from_fn_with_state(
        shared.clone(),
        platform_layer,
    ))
    .with_state(shared)
}

/// No code: the platform documents none for this case, and the mock invents none.
async fn method_not_allowed() -> ErrorReply {
    let mut error = ErrorReply::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "",
        "The method is not allowed on this resource.",
    );
    error.code = None;
    error
}

async fn not_found() -> ErrorReply {
    ErrorReply::not_found("The requested resource was not found.")
}

/// Latency, bearer check, rate limit and 5xx faults, rate-limit headers, and the request log.
async fn platform_layer(
    State(shared): State<Arc<Shared>>,
    mut request: Request,
    next: Next,
) -> Response {
    let at = Timestamp::now();
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let api = path.starts_with("/api/v2/");
    let (delay, server_error, outage) = {
        let mut state = shared.lock();
        let outage = state.faults.outage_at(Instant::now());
        let faults = state.faults.clone();
        let jitter = if faults.jitter_ms > 0 {
            state.rng.random_range(0..=faults.jitter_ms)
        } else {
            0
        };
        let error = (api
            && faults.server_error_rate > 0.0
            && state.rng.random_bool(faults.server_error_rate))
        .then_some(faults.server_error_status);
        (
            Duration::from_millis(faults.latency_ms + jitter),
            error,
            outage,
        )
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    // One id names the answer: the `ININ-Correlation-Id` header and an error's `contextId`.
    let correlation = uuid::Uuid::new_v4().to_string();
    let answer = super::errors::CORRELATION_ID.scope(correlation.clone(), async {
        let mut client_id = None;
        let response = 'answer: {
            if let Some(status) = outage {
                // Every answer during an outage, the token endpoint's too.
                break 'answer ErrorReply::server_error(status).into_response();
            }
            if api {
                let authorization = request
                    .headers()
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok());
                let now = Instant::now();
                let admitted = {
                    let mut state = shared.lock();
                    let limit = state.faults.rate_limit_per_minute;
                    let window = Duration::from_secs(state.faults.rate_limit_window_secs);
                    state
                        .auth
                        .caller(authorization, now)
                        .and_then(|(token, caller)| {
                            client_id = Some(caller.client.id.clone());
                            state
                                .auth
                                .admit(&token, limit, window, now)
                                .map(|headers| (caller, headers))
                        })
                };
                match admitted {
                    Ok((caller, _)) => {
                        request.extensions_mut().insert(caller);
                    }
                    Err(error) => break 'answer error.into_response(),
                }
                if let Some(status) = server_error {
                    break 'answer ErrorReply::server_error(status).into_response();
                }
            }
            next.run(request).await
        };
        (response, client_id)
    });
    let (mut response, mut client_id) = answer.await;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&correlation) {
        headers.insert(
            HeaderName::from_static(super::errors::CORRELATION_HEADER),
            value,
        );
    }
    if client_id.is_none() {
        client_id = response
            .extensions()
            .get::<TokenClient>()
            .map(|c| c.0.clone());
    }
    shared
        .log()
        .record(at, &method, &path, response.status().as_u16(), client_id);
    response
}

async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    // A public client (PKCE) sends no Basic header: its own checks.
    if url::form_urlencoded::parse(&body)
        .any(|(k, v)| k == "grant_type" && v == "authorization_code")
    {
        let (mut response, client) = super::signin::exchange(&shared, &body);
        if let Some(client) = client {
            response.extensions_mut().insert(TokenClient(client));
        }
        return response;
    }
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let mut state = shared.lock();
    let client = match state.auth.client_from_basic(authorization) {
        Ok(client) => client,
        Err(error) => return error.into_response(),
    };
    let form = String::from_utf8_lossy(&body);
    let grant = form
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "grant_type")
        .map(|(_, v)| v.to_string());
    if grant.as_deref() != Some("client_credentials") {
        let mut response =
            ErrorReply::bad_request("grant_type must be client_credentials.").into_response();
        response.extensions_mut().insert(TokenClient(client.id));
        return response;
    }
    let lifetime = state.faults.token_lifetime_secs;
    let access_token = state
        .auth
        .issue(&client.id, Duration::from_secs(lifetime), Instant::now());
    drop(state);
    let mut response = Json(TokenResponse {
        access_token: access_token.into(),
        token_type: "bearer".into(),
        expires_in: lifetime,
    })
    .into_response();
    response.extensions_mut().insert(TokenClient(client.id));
    response
}

fn parse_positive(
    params: &HashMap<String, String>,
    key: &str,
    default: i64,
) -> Result<i64, ErrorReply> {
    match params.get(key) {
        None => Ok(default),
        Some(text) => {
            text.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                ErrorReply::bad_request(format!("{key} must be a positive integer."))
            })
        }
    }
}

async fn list_queues(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ErrorReply> {
    caller.require_any(&[QUEUE_VIEW])?;
    let page_size = parse_positive(&params, "pageSize", 25)?.min(500);
    let page_number = parse_positive(&params, "pageNumber", 1)?;
    // The exact name, with leading and trailing `*` as wildcards (RoutingApi docs: "Include
    // only queues with the given name (leading and trailing asterisks allowed)").
    let name = params.get("name").map(|n| NamePattern::new(n));
    let state = shared.lock();
    let matching: Vec<_> = state
        .world
        .queues
        .iter()
        .filter(|q| name.as_ref().is_none_or(|n| n.matches(&q.name)))
        // Queues are divisioned: a user sees those their `routing:queue:view` reaches.
        .filter(|q| caller.reaches(QUEUE_VIEW, &q.division))
        .collect();
    let total = matching.len() as i64;
    let page_count = (total + page_size - 1) / page_size;
    // Checked: a huge page number must give an empty page, not wrap around to the first.
    let skip = (page_number - 1)
        .checked_mul(page_size)
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(usize::MAX);
    let entities = matching
        .into_iter()
        .skip(skip)
        .take(page_size as usize)
        .map(shapes::queue)
        .collect();
    let uri = |n: i64| format!("/api/v2/routing/queues?pageSize={page_size}&pageNumber={n}");
    Ok(Json(QueueEntityListing {
        entities,
        page_size: Some(page_size),
        page_number: Some(page_number),
        total: Some(total),
        page_count: Some(page_count),
        first_uri: Some(uri(1)),
        last_uri: Some(uri(page_count.max(1))),
        self_uri: Some(uri(page_number)),
        next_uri: (page_number < page_count).then(|| uri(page_number + 1)),
        previous_uri: (page_number > 1).then(|| uri(page_number - 1)),
    })
    .into_response())
}

fn parse_interval(interval: &str) -> Result<(DateTime<Utc>, DateTime<Utc>), ErrorReply> {
    let bad = || {
        ErrorReply::bad_request(format!(
            "Invalid interval {interval:?}: expected start/end in ISO-8601."
        ))
    };
    let (start, end) = interval.split_once('/').ok_or_else(bad)?;
    let parse = |t: &str| {
        DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| bad())
    };
    let (start, end) = (parse(start)?, parse(end)?);
    if end <= start {
        return Err(bad());
    }
    Ok((start, end))
}

/// A filter's predicates against one call: `and` needs all, `or` any.
fn filter_matches(
    filter: &QueryFilter,
    matches: &dyn Fn(&genesys_cloud_models::QueryPredicate) -> bool,
) -> bool {
    let mut results =
        filter
            .predicates
            .iter()
            .flatten()
            .map(matches)
            .chain(filter.clauses.iter().flatten().map(|clause| {
                let mut each = clause.predicates.iter().map(matches);
                if clause.kind == "or" {
                    each.any(|b| b)
                } else {
                    each.all(|b| b)
                }
            }));
    if filter.kind == "or" {
        results.any(|b| b)
    } else {
        results.all(|b| b)
    }
}

/// The queue list's `name` filter. Case is ignored (the docs do not say; an assumption).
struct NamePattern {
    text: String,
    any_before: bool,
    any_after: bool,
}

impl NamePattern {
    fn new(pattern: &str) -> Self {
        let any_before = pattern.starts_with('*');
        let trimmed = pattern.strip_prefix('*').unwrap_or(pattern);
        let any_after = trimmed.ends_with('*');
        let trimmed = trimmed.strip_suffix('*').unwrap_or(trimmed);
        NamePattern {
            text: trimmed.to_lowercase(),
            any_before,
            any_after,
        }
    }

    fn matches(&self, name: &str) -> bool {
        let name = name.to_lowercase();
        match (self.any_before, self.any_after) {
            (false, false) => name == self.text,
            (false, true) => name.starts_with(&self.text),
            (true, false) => name.ends_with(&self.text),
            (true, true) => name.contains(&self.text),
        }
    }
}

/// The details query's largest page (developer-center-blog 2022-04-21: "Maximum number of
/// records per page: 200").
const ANALYTICS_MAX_PAGE: i64 = 200;

/// The details query pages through at most this many results.
const ANALYTICS_MAX_RESULTS: i64 = 100_000;

/// `totalHits` is approximate on the platform (same blog post); the mock rounds it to two
/// significant figures so a client cannot lean on it.
fn approximate(total: i64) -> i64 {
    let mut scale = 1;
    while total / scale >= 100 {
        scale *= 10;
    }
    (total + scale / 2) / scale * scale
}

async fn analytics_query(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    JsonBody(query): JsonBody<ConversationQuery>,
) -> Result<Response, ErrorReply> {
    caller.require_any(ANALYTICS_VIEW)?;
    let query = query?;
    let interval = query
        .interval
        .as_deref()
        .ok_or_else(|| ErrorReply::bad_request("interval is required."))?;
    let (start, end) = parse_interval(interval)?;
    let paging = query
        .paging
        .clone()
        .unwrap_or(genesys_cloud_models::PagingSpec {
            page_size: 25,
            page_number: 1,
        });
    if paging.page_size < 1 || paging.page_size > ANALYTICS_MAX_PAGE || paging.page_number < 1 {
        return Err(ErrorReply::bad_request(
            "paging.pageSize must be 1 to 200 and paging.pageNumber at least 1.",
        ));
    }
    // Paging may not go past the first 100,000 results (the shared audit's analytics notes).
    if paging.page_number.saturating_mul(paging.page_size) > ANALYTICS_MAX_RESULTS {
        return Err(ErrorReply::bad_request(format!(
            "Paging may not exceed {ANALYTICS_MAX_RESULTS} results: narrow the interval or the filters."
        )));
    }
    let state = shared.lock();
    // The platform selects conversations that *started on a day the interval touches*
    // (ConversationQuery.interval in the SDK docs), in UTC here.
    let (first_day, last_day) = (
        start.date_naive(),
        (end - chrono::Duration::milliseconds(1)).date_naive(),
    );
    // `analyticsLagSecs`: analytics sees the world as it was that long ago (a call shows a few
    // seconds after it starts, and still shows as going a few seconds after it ends).
    let seen_until = Utc::now() - chrono::Duration::seconds(state.faults.analytics_lag_secs as i64);
    let ended = |call: &super::world::CallRecord| call.end_time.is_some_and(|e| e <= seen_until);
    let mut hits: Vec<_> = state
        .world
        .calls()
        .filter(|call| {
            let day = call.start_time.date_naive();
            first_day <= day && day <= last_day && call.start_time <= seen_until
        })
        .filter(|call| {
            query.conversation_filters.iter().flatten().all(|filter| {
                filter_matches(filter, &|p| {
                    let operator = p.operator.as_deref().unwrap_or("matches");
                    match p.dimension.as_deref() {
                        Some("conversationEnd") => match operator {
                            "notExists" => !ended(call),
                            "exists" => ended(call),
                            _ => true,
                        },
                        Some("conversationId") => p.value.as_deref() == Some(call.id.as_str()),
                        _ => true,
                    }
                })
            })
        })
        .filter(|call| {
            query.segment_filters.iter().flatten().all(|filter| {
                filter_matches(filter, &|p| {
                    let value = p.value.as_deref();
                    match p.dimension.as_deref() {
                        // Any segment's queue: a transferred call is found in each queue it was in.
                        Some("queueId") => value.is_some_and(|v| call.has_been_in(v)),
                        Some("mediaType") => value == Some("voice"),
                        Some("userId") => call
                            .legs
                            .iter()
                            .any(|l| l.user.as_ref().map(|u| u.0.as_str()) == value),
                        Some("purpose") => {
                            call.legs.iter().any(|l| Some(l.purpose.as_str()) == value)
                        }
                        _ => true,
                    }
                })
            })
        })
        .collect();
    hits.sort_by_key(|c| c.start_time);
    if query.order.as_deref() == Some("desc") {
        hits.reverse();
    }
    let total = hits.len() as i64;
    let skip = (paging.page_number - 1)
        .checked_mul(paging.page_size)
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(usize::MAX);
    let page: Vec<_> = hits
        .into_iter()
        .skip(skip)
        .take(paging.page_size as usize)
        .map(|call| {
            let mut shaped = shapes::analytics_conversation(call);
            if !ended(call) {
                shaped.conversation_end = None;
            }
            shaped
        })
        .collect();
    let answer = AnalyticsConversationQueryResponse {
        conversations: (!page.is_empty()).then_some(page),
        total_hits: Some(approximate(total)),
    };
    // Fault `analyticsResponseLimitBytes`: the API definition's code and text for an answer
    // over the platform's (undocumented) size limit.
    let limit = state.faults.analytics_response_limit_bytes;
    if limit > 0 && serde_json::to_vec(&answer).map_or(0, |b| b.len()) as u64 > limit {
        return Err(ErrorReply::new(
            StatusCode::BAD_REQUEST,
            "response.entity.too.large",
            "The response is over the size limit. Reduce pageSize or expand list to reduce response size if applicable",
        ));
    }
    Ok(Json(answer).into_response())
}

async fn get_call(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ErrorReply> {
    // The ConversationsApi docs list no permission for this GET.
    let _ = caller;
    let state = shared.lock();
    let call = state
        .world
        .call(&id)
        .ok_or_else(|| conversation_not_found(&id))?;
    Ok(Json(shapes::call_conversation(call, Flavor::Get)).into_response())
}

async fn get_conversation(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ErrorReply> {
    caller.require_any(&[COMMUNICATION_VIEW])?;
    let state = shared.lock();
    let call = state
        .world
        .call(&id)
        .ok_or_else(|| conversation_not_found(&id))?;
    Ok(Json(shapes::conversation(call, Flavor::Get)).into_response())
}

fn conversation_not_found(id: &str) -> ErrorReply {
    ErrorReply::new(
        StatusCode::NOT_FOUND,
        "conversation.error.conversation.not.found",
        format!("Conversation {id} was not found."),
    )
}

fn call_disconnected() -> ErrorReply {
    ErrorReply::new(
        StatusCode::BAD_REQUEST,
        "conversation.error.call.disconnected",
        "The call is already disconnected.",
    )
}

/// Which participant PATCH a request came by: each has its own documented error codes.
#[derive(Clone, Copy, PartialEq)]
enum PatchPath {
    Calls,
    Generic,
}

/// The `/calls/` participant PATCH: 400 `not.a.user` under that fault; for a signed-in user's
/// token, 400 `conversation.error.user.not.party` unless the user is a party of the call.
async fn patch_call_participant(
    shared: State<Arc<Shared>>,
    caller: Extension<Caller>,
    Path((id, pid)): Path<(String, String)>,
    JsonBody(request): JsonBody<MediaParticipantRequest>,
) -> Result<Response, ErrorReply> {
    caller.require_any(KICK_PERMISSIONS)?;
    if shared.lock().faults.calls_path_not_a_user {
        return Err(ErrorReply::new(
            StatusCode::BAD_REQUEST,
            "not.a.user",
            "This request requires a user context. Client credentials cannot be used for requests to this resource.",
        ));
    }
    if let Some(user) = &caller.user {
        let state = shared.lock();
        let party = state.world.call(&id).is_some_and(|call| {
            call.legs
                .iter()
                .any(|l| l.user.as_ref().is_some_and(|u| u.0 == user.id))
        });
        if state.world.call(&id).is_some() && !party {
            return Err(ErrorReply::new(
                StatusCode::BAD_REQUEST,
                "conversation.error.user.not.party",
                format!("The participant {pid} does not belong to the user making the request."),
            ));
        }
    }
    change_participant(&shared, &caller, PatchPath::Calls, &id, &pid, request)
}

/// The generic (media-agnostic) participant PATCH.
async fn patch_participant(
    shared: State<Arc<Shared>>,
    caller: Extension<Caller>,
    Path((id, pid)): Path<(String, String)>,
    JsonBody(request): JsonBody<MediaParticipantRequest>,
) -> Result<Response, ErrorReply> {
    change_participant(&shared, &caller, PatchPath::Generic, &id, &pid, request)
}

/// Both participant PATCH paths: validate now, apply the change a little later (202 first).
/// The codes for an unknown call and for a leg that has left differ by path.
fn change_participant(
    shared: &Arc<Shared>,
    caller: &Caller,
    path: PatchPath,
    id: &str,
    pid: &str,
    request: Result<MediaParticipantRequest, ErrorReply>,
) -> Result<Response, ErrorReply> {
    caller.require_any(KICK_PERMISSIONS)?;
    let request = request?;
    // `MediaParticipantRequest.state` allows "connected" and "disconnected" (docs/platform.md):
    // connected answers a ringing leg and leaves a connected one as it is.
    if let Some(state) = &request.state
        && !matches!(
            state,
            ParticipantState::Disconnected | ParticipantState::Connected
        )
    {
        return Err(ErrorReply::bad_request(format!(
            "Invalid state {state:?}: a participant can only be set to connected or disconnected."
        )));
    }
    let disconnecting = request.state == Some(ParticipantState::Disconnected);
    if request.state.is_none() && request.held.is_none() && request.muted.is_none() {
        return Err(ErrorReply::bad_request(
            "Nothing to change: send state, held or muted.",
        ));
    }
    let mut state = shared.lock();
    let now = Instant::now();
    let Some(call) = state.world.call(id) else {
        return Err(match path {
            PatchPath::Calls => conversation_not_found(id),
            PatchPath::Generic => {
                ErrorReply::not_found(format!("Conversation {id} was not found."))
            }
        });
    };
    let leg = call.leg(pid).ok_or_else(|| {
        ErrorReply::new(
            StatusCode::NOT_FOUND,
            "conversation.error.not.conversation.participant",
            format!("Participant {pid} is not a participant of conversation {id}."),
        )
    })?;
    if leg.state.is_gone() || call.end_time.is_some() {
        return Err(match path {
            PatchPath::Calls => call_disconnected(),
            PatchPath::Generic => gone_leg(state.faults.generic_gone_leg_code, pid),
        });
    }
    if disconnecting
        && state.faults.transition_lock.refuses(
            id,
            leg.state.is_unsettled(),
            now.saturating_duration_since(leg.changed_at),
        )
    {
        return Err(ErrorReply::transition_lock());
    }
    let lost_rate = state.faults.lost_answer_rate;
    let lost = lost_rate > 0.0 && state.rng.random_bool(lost_rate);
    let apply_ms = shared.scenario.calls.apply_ms;
    let at = now + state.random_ms(apply_ms);
    state.world.schedule(
        at,
        ScheduledAction::SetLeg {
            call_id: id.to_string(),
            leg_id: pid.to_string(),
            change: LegChange {
                state: request.state,
                held: request.held,
                muted: request.muted,
                disconnect_type: disconnecting.then_some(DisconnectType::Client),
            },
        },
    );
    let mut response = StatusCode::ACCEPTED.into_response();
    if lost {
        // Applied; the listener closes the connection instead of answering.
        response.extensions_mut().insert(super::faults::LostAnswer);
    }
    Ok(response)
}

/// The generic PATCH's answer for a leg that has left (which of its two codes: fault
/// `genericGoneLegCode`, an unconfirmed guess).
fn gone_leg(code: crate::faults::GoneLegCode, pid: &str) -> ErrorReply {
    use crate::faults::GoneLegCode;
    let (code, message) = match code {
        GoneLegCode::NoActiveConversations => (
            "conversation.error.participant.no.active.conversations",
            format!("Participant {pid} has no active conversations."),
        ),
        GoneLegCode::CannotDisconnectCall => (
            "conversation.error.cannot.disconnect.call",
            format!("The call of participant {pid} cannot be disconnected."),
        ),
    };
    ErrorReply::new(StatusCode::BAD_REQUEST, code, message)
}

/// `POST /api/v2/conversations/{id}/disconnect`: ends the call for everyone (not a kick).
async fn disconnect_all(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ErrorReply> {
    caller.require_any(&[DISCONNECT])?;
    let mut state = shared.lock();
    let call = state
        .world
        .call(&id)
        .ok_or_else(|| conversation_not_found(&id))?;
    if call.end_time.is_some() {
        return Err(call_disconnected());
    }
    let apply_ms = shared.scenario.calls.apply_ms;
    let at = Instant::now() + state.random_ms(apply_ms);
    state.world.schedule(
        at,
        ScheduledAction::EndCall {
            call_id: id.clone(),
            disconnect_type: DisconnectType::Client,
        },
    );
    // The SDKs' return type is a string, and the platform sends it as JSON; what the string
    // says is not documented: the mock sends the conversation's id.
    Ok((StatusCode::ACCEPTED, Json(id)).into_response())
}
