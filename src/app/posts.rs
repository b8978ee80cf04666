//! Posts: the seed's MongoDB operations, each behind one HTTP call.
//!
//! # Format
//!
//! ```text
//! POST   /api/posts           {"title",…} or [{…},{…}]  insert_one / insert_many (ordered)
//!                                                      201 {"id"} + Location, or {"ids":[…]}
//! GET    /api/posts?author=ada&tag=intro&since=…&until=…&title_prefix=He
//!               &sort=newest|oldest|title&limit=50&skip=0&after=<id>
//!                                                      find + cursor: a JSON array, streamed
//! GET    /api/posts/{id}                               find_one; 404; 400 for a malformed id
//! PATCH  /api/posts/{id}[?upsert=true]  {"$inc":{"likes":1}, "$set":{…}, …}
//!                                                      update_one: {"matched","modified","upserted_id"}
//! DELETE /api/posts/{id}                               delete_one: author only (403 otherwise)
//! ```
//!
//! Reads are public. Writes need a session cookie (plus the CSRF rules) or
//! a bearer token; see [`auth::authenticate`](super::auth::authenticate).
//!
//! The list is **streamed**: the response head goes out at once with
//! `Transfer-Encoding: chunked`, then one chunk per batch of documents as the
//! store's cursor yields them. However many posts match, the server holds at
//! most a channel's worth at a time.

use std::sync::Arc;

use bson::oid::ObjectId;
use bson::{Bson, DateTime, doc};
use serde_json::{Value, json};

use crate::app::App;
use crate::app::auth::{self, Principal, store_failure};
use crate::app::fields::FieldError;
use crate::app::post_json::{self, document_json, new_post_fields, update_document};
use crate::http::{BodyAborted, Response, Status};
use crate::server::{Request, stream};
use crate::store::{
    FindOptions, NewPost, PostFilter, PostSort, PostStore, Store, StoreError, Update, UserStore,
};

/// The most posts one list request may ask for. High on purpose: the list
/// streams, so a large page costs the server no memory, only time.
pub const MAX_LIMIT: u64 = 100_000;
/// Posts in a list when `limit` is not given.
pub const DEFAULT_LIMIT: u64 = 50;
/// The largest `skip`. Skipping makes the database walk past every skipped
/// post; for deep pages, `after` (the last id seen) is the cheap way.
pub const MAX_SKIP: u64 = 10_000;
/// Documents the list handler may have encoded ahead of the client.
const STREAM_DEPTH: usize = 16;
/// Posts per chunk of the streamed list.
const POSTS_PER_CHUNK: usize = 64;

fn json_response(status: Status, body: &Value) -> Response {
    Response::json_bytes(status, body.to_string().into_bytes())
}

/// The request body as JSON, or the 400/415 that explains why not.
fn json_body(request: &Request) -> Result<Value, Response> {
    let content_type = request
        .head
        .headers
        .get_str("content-type")
        .unwrap_or_default();
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return Err(Response::error(
            Status::UNSUPPORTED_MEDIA_TYPE,
            "send application/json",
        ));
    }
    serde_json::from_slice(&request.body)
        .map_err(|error| Response::error(Status::BAD_REQUEST, &format!("malformed JSON: {error}")))
}

/// The `{id}` of `/api/posts/{id}`, parsed.
fn post_id(request: &Request) -> Result<ObjectId, Response> {
    let id = request.head.path().trim_start_matches("/api/posts/");
    ObjectId::parse_str(id)
        .map_err(|_| FieldError::field("id", "is not a post id (24 hex digits)").into_response())
}

/// `POST /api/posts`: one post (insert_one) or an array (insert_many).
pub async fn create(app: &App, request: &Request) -> Response {
    let principal = match auth::authenticate(app, request).await {
        Ok(principal) => principal,
        Err(response) => return response,
    };
    let value = match json_body(request) {
        Ok(value) => value,
        Err(response) => return response,
    };
    let now = DateTime::now();
    let to_new = |fields: post_json::NewPostFields| NewPost {
        author: principal.user.id,
        title: fields.title,
        body: fields.body,
        tags: fields.tags,
        created_at: now,
        extra: fields.counters,
    };
    match &value {
        Value::Array(items) => {
            if items.is_empty() {
                return FieldError::field("", "an empty array inserts nothing").into_response();
            }
            // Every post is checked before any is written: all or nothing.
            let mut posts = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                match new_post_fields(&format!("[{index}]."), item) {
                    Ok(fields) => posts.push(to_new(fields)),
                    Err(error) => return error.into_response(),
                }
            }
            match app.store.insert_many(posts).await {
                Ok(ids) => {
                    let ids: Vec<String> = ids.into_iter().map(ObjectId::to_hex).collect();
                    json_response(Status::CREATED, &json!({ "ids": ids }))
                }
                Err(error) => update_failure(&error),
            }
        }
        single => match new_post_fields("", single) {
            Ok(fields) => match app.store.insert_one(to_new(fields)).await {
                Ok(id) => json_response(Status::CREATED, &json!({ "id": id.to_hex() }))
                    .header("location", format!("/api/posts/{}", id.to_hex())),
                Err(error) => update_failure(&error),
            },
            Err(error) => error.into_response(),
        },
    }
}

/// `GET /api/posts/{id}`.
pub async fn get(app: &App, request: &Request) -> Response {
    let id = match post_id(request) {
        Ok(id) => id,
        Err(response) => return response,
    };
    match app.store.find_one(id).await {
        Ok(Some(document)) => json_response(Status::OK, &document_json(&document)),
        Ok(None) => Response::error(Status::NOT_FOUND, "no such post"),
        Err(error) => store_failure(&error),
    }
}

/// The list's query parameters, checked.
struct ListQuery {
    author: Option<String>,
    filter: PostFilter,
    options: FindOptions,
}

fn parse_list_query(query: &str) -> Result<ListQuery, FieldError> {
    let mut list = ListQuery {
        author: None,
        filter: PostFilter::default(),
        options: FindOptions {
            limit: Some(DEFAULT_LIMIT),
            ..FindOptions::default()
        },
    };
    let mut seen: Vec<String> = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if seen.contains(&name.to_string()) {
            return Err(FieldError::field(&name, "given more than once"));
        }
        seen.push(name.to_string());
        let value = value.into_owned();
        match name.as_ref() {
            "author" => list.author = Some(value.to_lowercase()),
            "tag" => list.filter.tag = Some(value),
            "title_prefix" => {
                if value.chars().count() > post_json::MAX_TITLE_CHARS {
                    return Err(FieldError::field(
                        "title_prefix",
                        "is longer than any title",
                    ));
                }
                list.filter.title_prefix = Some(value);
            }
            "since" => list.filter.since = Some(date_parameter("since", &value)?),
            "until" => list.filter.until = Some(date_parameter("until", &value)?),
            "sort" => {
                list.options.sort = match value.as_str() {
                    "newest" => PostSort::CreatedAtDesc,
                    "oldest" => PostSort::CreatedAtAsc,
                    "title" => PostSort::TitleAsc,
                    _ => return Err(FieldError::field("sort", "is newest, oldest or title")),
                }
            }
            "limit" => list.options.limit = Some(bounded("limit", &value, 1, MAX_LIMIT)?),
            "skip" => list.options.skip = Some(bounded("skip", &value, 0, MAX_SKIP)?),
            "after" => {
                let id = ObjectId::parse_str(&value)
                    .map_err(|_| FieldError::field("after", "is not a post id (24 hex digits)"))?;
                list.options.after = Some(id);
            }
            other => return Err(FieldError::field(other, "unknown query parameter")),
        }
    }
    Ok(list)
}

fn date_parameter(name: &str, value: &str) -> Result<DateTime, FieldError> {
    DateTime::parse_rfc3339_str(value)
        .map_err(|_| FieldError::field(name, "is not an RFC 3339 date (2026-11-24T12:00:00Z)"))
}

fn bounded(name: &str, value: &str, low: u64, high: u64) -> Result<u64, FieldError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|number| (low..=high).contains(number))
        .ok_or_else(|| {
            FieldError::field(name, format!("must be a whole number from {low} to {high}"))
        })
}

/// `GET /api/posts`: find with a cursor, streamed as a JSON array.
pub async fn list(app: &App, request: &Request) -> Response {
    let mut query = match parse_list_query(request.head.query().unwrap_or_default()) {
        Ok(query) => query,
        Err(error) => return error.into_response(),
    };
    if let Some(username) = &query.author {
        match app.store.user_by_username(username).await {
            Ok(Some(user)) => query.filter.author = Some(user.id),
            // Nobody by that name has posts; ask for an id nobody has.
            Ok(None) => query.filter.author = Some(ObjectId::from_bytes([0; 12])),
            Err(error) => return store_failure(&error),
        }
    }
    // Open the cursor before answering, so an unreachable database is
    // still a clean 503 rather than a cut-off 200.
    let cursor = match app.store.find(query.filter, query.options).await {
        Ok(cursor) => cursor,
        Err(error) => return update_failure(&error),
    };
    let (sender, body) = stream::channel(STREAM_DEPTH);
    tokio::spawn(stream_posts(cursor, sender));
    Response::new(Status::OK)
        .header("content-type", "application/json")
        .stream(body)
}

/// Writes `[`, the documents joined by commas, and `]`, a chunk per
/// [`POSTS_PER_CHUNK`] documents. Stops early if the client goes away.
async fn stream_posts(mut cursor: crate::store::PostCursor, sender: stream::BodySender) {
    let mut chunk = b"[".to_vec();
    let mut first = true;
    let mut in_chunk = 0;
    while let Some(next) = cursor.next().await {
        let document = match next {
            Ok(document) => document,
            Err(error) => {
                tracing::warn!(%error, "post cursor failed mid-stream");
                let _ = sender.send(Err(BodyAborted)).await;
                return;
            }
        };
        if !first {
            chunk.push(b',');
        }
        first = false;
        if serde_json::to_writer(&mut chunk, &document_json(&document)).is_err() {
            let _ = sender.send(Err(BodyAborted)).await;
            return;
        }
        in_chunk += 1;
        if in_chunk == POSTS_PER_CHUNK {
            in_chunk = 0;
            if sender.send(Ok(std::mem::take(&mut chunk))).await.is_err() {
                return;
            }
        }
    }
    chunk.push(b']');
    let _ = sender.send(Ok(chunk)).await;
}

/// The posts a principal may change: their own.
async fn own_post(
    store: &Arc<Store>,
    principal: &Principal,
    id: ObjectId,
) -> Result<bool, Response> {
    match store.find_one(id).await {
        Ok(Some(document)) => match document.get("author") {
            Some(Bson::ObjectId(author)) if *author == principal.user.id => Ok(true),
            _ => Err(Response::error(
                Status::FORBIDDEN,
                "only the author may change this post",
            )),
        },
        Ok(None) => Ok(false),
        Err(error) => Err(store_failure(&error)),
    }
}

/// `PATCH /api/posts/{id}`: update_one with the client's operators, on the
/// allowed fields, plus `$currentDate: {updated_at: true}` from the server.
pub async fn update(app: &App, request: &Request) -> Response {
    let principal = match auth::authenticate(app, request).await {
        Ok(principal) => principal,
        Err(response) => return response,
    };
    let id = match post_id(request) {
        Ok(id) => id,
        Err(response) => return response,
    };
    let upsert = match request.head.query().unwrap_or_default() {
        "" | "upsert=false" => false,
        "upsert=true" => true,
        _ => {
            return FieldError::field("upsert", "the only parameter is upsert=true|false")
                .into_response();
        }
    };
    let mut document = match json_body(request).map(|value| update_document(&value)) {
        Ok(Ok(document)) => document,
        Ok(Err(error)) => return error.into_response(),
        Err(response) => return response,
    };
    let exists = match own_post(&app.store, &principal, id).await {
        Ok(exists) => exists,
        Err(response) => return response,
    };
    if !exists && !upsert {
        return Response::error(
            Status::NOT_FOUND,
            "no such post (use ?upsert=true to create it)",
        );
    }
    if !exists && !sets(&document, "title") {
        return FieldError::field(
            "title",
            "an upsert must set the title ($set or $setOnInsert)",
        )
        .into_response();
    }
    // What only the server writes: the change time, and for an upsert that
    // will insert, the author, creation time and empty defaults for what the
    // client left out.
    if !exists {
        let mut on_insert = doc! { "author": principal.user.id, "created_at": DateTime::now() };
        for (field, empty) in [
            ("body", Bson::String(String::new())),
            ("tags", Bson::Array(Vec::new())),
        ] {
            if !sets(&document, field) {
                on_insert.insert(field, empty);
            }
        }
        merge_operator(&mut document, "$setOnInsert", on_insert);
    }
    merge_operator(&mut document, "$currentDate", doc! { "updated_at": true });
    let update = match Update::from_document(&document) {
        Ok(update) => update,
        Err(error) => return update_failure(&error),
    };
    match app.store.update_one(id, &update, upsert).await {
        Ok(outcome) => json_response(
            if outcome.upserted_id.is_some() {
                Status::CREATED
            } else {
                Status::OK
            },
            &json!({
                "matched": outcome.matched,
                "modified": outcome.modified,
                "upserted_id": outcome.upserted_id.map(|id| id.to_hex()),
            }),
        ),
        Err(error) => update_failure(&error),
    }
}

/// Whether an update document writes `field` with `$set` or `$setOnInsert`.
fn sets(document: &bson::Document, field: &str) -> bool {
    ["$set", "$setOnInsert"].iter().any(|operator| {
        document
            .get_document(operator)
            .is_ok_and(|fields| fields.contains_key(field))
    })
}

fn merge_operator(document: &mut bson::Document, operator: &str, fields: bson::Document) {
    match document.get_mut(operator) {
        Some(Bson::Document(existing)) => existing.extend(fields),
        _ => {
            document.insert(operator, fields);
        }
    }
}

/// `DELETE /api/posts/{id}`: the author only.
pub async fn delete(app: &App, request: &Request) -> Response {
    let principal = match auth::authenticate(app, request).await {
        Ok(principal) => principal,
        Err(response) => return response,
    };
    let id = match post_id(request) {
        Ok(id) => id,
        Err(response) => return response,
    };
    match own_post(&app.store, &principal, id).await {
        Ok(true) => {}
        Ok(false) => return Response::error(Status::NOT_FOUND, "no such post"),
        Err(response) => return response,
    }
    match app.store.delete_one(id).await {
        Ok(deleted) => json_response(Status::OK, &json!({ "deleted": deleted })),
        Err(error) => store_failure(&error),
    }
}

/// Store errors from writes: validation and type errors are the client's
/// (400), the rest as for any store error.
fn update_failure(error: &StoreError) -> Response {
    match error {
        StoreError::InvalidUpdate { path, reason } => {
            FieldError::field(path, reason.clone()).into_response()
        }
        StoreError::InvalidDocument { field, reason } => {
            FieldError::field(field, reason.clone()).into_response()
        }
        StoreError::InvalidQuery { reason } => Response::error(Status::BAD_REQUEST, reason),
        StoreError::UpdateFailed { message, .. } => Response::error(Status::BAD_REQUEST, message),
        other => store_failure(other),
    }
}
