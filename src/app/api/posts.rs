//! Posts: the seed's MongoDB operations, each behind one HTTP call.
//!
//! # Format
//!
//! ```text
//! POST   /api/posts           {"title",…} or [{…},{…}]  insert_one / insert_many (ordered)
//!                                                      201 {"id"} + Location, or {"ids":[…]}
//! GET    /api/posts?author=ada|<user id>&tag=intro&since=…&until=…&title_prefix=He
//!               &sort=newest|oldest|title&limit=50&skip=0&after=<id>
//!                                                      find + cursor: a JSON array, streamed
//! GET    /api/posts/{id}                               find_one; 404; 400 for a malformed id
//! PATCH  /api/posts/{id}[?upsert=true]  {"$inc":{"likes":1}, "$set":{…}, …}
//!                                                      update_one: {"matched","modified","upserted_id"}
//! DELETE /api/posts/{id}                               delete_one: author only (403 otherwise)
//! ```
//!
//! Reads are public. Writes need a session cookie (plus the CSRF rules) or
//! a bearer token; see [`crate::app::authenticate::authenticate`].
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
use crate::app::authenticate::{Principal, authenticate};
use crate::app::credentials::{is_username, looks_like_an_id};
use crate::app::fields::{self, FieldError};
use crate::app::post_json::{self, new_post_fields, update_document};
use crate::app::reply::{Refused, Reply};
use crate::app::router;
use crate::app::stored_json;
use crate::http::{BodyAborted, Request, Response, Status};
use crate::server::stream;
use crate::store::{
    FindOptions, PostFilter, PostSort, PostStore, Store, StoreError, Update, UserStore,
};

/// The most posts one list request may ask for. High on purpose: the list
/// streams, so a large page costs the server no memory, only time.
pub const MAX_LIMIT: u64 = 100_000;
/// Posts in a list when `limit` is not given.
pub const DEFAULT_LIMIT: u64 = 50;
/// The largest `skip`. Skipping makes the database walk past every skipped
/// post; for deep pages, `after` (the last id seen) is the cheap way.
pub const MAX_SKIP: u64 = 10_000;
/// Chunks the list handler may have encoded ahead of the client: with [`CHUNK_BYTES`],
/// about 320 KiB per list in flight (four queued, one being filled), whatever its length.
const STREAM_DEPTH: usize = 4;
/// A chunk of a streamed list is sent once it holds this many bytes of JSON (a post or so
/// more). A page smaller than this, a hundred typical posts, is one plain response.
const CHUNK_BYTES: usize = 64 * 1024;

/// The request body as JSON, or the 400/415 that explains why not.
fn json_body(request: &Request) -> Result<Value, Refused> {
    let media_type = request.head.media_type();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return Err(Refused::with(Response::error(
            Status::UNSUPPORTED_MEDIA_TYPE,
            "send application/json",
        )));
    }
    Ok(fields::parse_json(&request.body)?)
}

/// The `{id}` of `/api/posts/{id}`, parsed.
fn post_id(request: &Request) -> Result<ObjectId, FieldError> {
    let id = request.head.path().trim_start_matches("/api/posts/");
    ObjectId::parse_str(id).map_err(|_| FieldError::field("id", "is not a post id (24 hex digits)"))
}

/// `POST /api/posts`: one post (insert_one) or an array (insert_many).
pub async fn create(app: &App, request: &Request) -> Reply {
    let principal = authenticate(app, request).await?;
    let value = json_body(request)?;
    let now = DateTime::now();
    let to_new = |fields: post_json::NewPostFields| fields.into_new_post(principal.user.id, now);
    let Value::Array(items) = &value else {
        let post = to_new(new_post_fields("", &value)?);
        let id = app.store.insert_one(post).await?;
        return Ok(
            Response::json(Status::CREATED, &json!({ "id": id.to_hex() }))
                .header("location", format!("/api/posts/{}", id.to_hex())),
        );
    };
    if items.is_empty() {
        return Err(FieldError::field("", "an empty array inserts nothing").into());
    }
    // Every post is checked before any is written: all or nothing.
    let posts = items
        .iter()
        .enumerate()
        .map(|(index, item)| new_post_fields(&format!("[{index}]."), item).map(to_new))
        .collect::<Result<Vec<_>, _>>()?;
    let ids = app.store.insert_many(posts).await?;
    let ids: Vec<String> = ids.into_iter().map(ObjectId::to_hex).collect();
    Ok(Response::json(Status::CREATED, &json!({ "ids": ids })))
}

/// `GET /api/posts/{id}`.
pub async fn get(app: &App, request: &Request) -> Reply {
    let id = post_id(request)?;
    match app.store.find_one(id).await? {
        Some(document) => {
            let json = bson::RawDocumentBuf::from_document(&document)
                .map_err(|e| e.to_string())
                .and_then(|raw| stored_json::post_json(&raw).map_err(|e| e.to_string()))
                .map_err(StoreError::Decode)?;
            Ok(Response::json_bytes(Status::OK, json))
        }
        None => Err(no_such_post()),
    }
}

/// `OPTIONS /api/posts/{id}`: the methods a post takes, once it is known to exist.
/// Answered like `GET` for a malformed id (400) or a missing post (404), so a client
/// learns from either that there is nothing there to act on.
pub async fn options(app: &App, request: &Request) -> Reply {
    let id = post_id(request)?;
    if app.store.find_one(id).await?.is_none() {
        return Err(no_such_post());
    }
    Ok(router::options(request.head.path()).expect("the router sent this path here"))
}

fn no_such_post() -> Refused {
    Refused::with(Response::error(Status::NOT_FOUND, "no such post"))
}

/// The list's query parameters, checked.
struct ListQuery {
    /// The username in `author=`, when it was one (an id goes straight to the filter).
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
            // What a post shows as its `author`, the user's id, or a username; a
            // username is checked like a registration, so what reaches the user lookup
            // is a name some account could have.
            "author" if looks_like_an_id(&value) => {
                list.filter.author = Some(
                    ObjectId::parse_str(&value)
                        .map_err(|_| FieldError::field("author", "is not a user id"))?,
                );
            }
            "author" if is_username(&value) => list.author = Some(value.to_lowercase()),
            "author" => {
                return Err(FieldError::field(
                    "author",
                    "is neither a user id (24 hex digits) nor a username (3 to 32 letters, \
                     digits, '_', '-' or '.')",
                ));
            }
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
pub async fn list(app: &App, request: &Request) -> Reply {
    let mut query = parse_list_query(request.head.query().unwrap_or_default())?;
    if let Some(username) = &query.author {
        let author = app.store.user_by_username(username).await?;
        // Nobody by that name has posts: ask for an id nobody has.
        query.filter.author = Some(author.map_or(ObjectId::from_bytes([0; 12]), |user| user.id));
    }
    // Open the cursor and fill the first chunk before answering, so an unreachable
    // database, or a cursor failing at once, is still a clean 503 rather than a cut-off 200;
    // and a page that fits in one chunk, as most do, is one plain response: no task, no
    // channel, one write.
    let room = first_chunk_room(query.options.limit);
    let mut cursor = app.store.find(query.filter, query.options).await?;
    let mut chunk = Chunk::opening(room);
    if chunk.fill(&mut cursor).await? == Filled::Ended {
        return Ok(Response::json_bytes(Status::OK, chunk.close()));
    }
    let (sender, body) = stream::channel(STREAM_DEPTH);
    tokio::spawn(stream_posts(cursor, chunk, sender));
    Ok(Response::new(Status::OK)
        .content_type("application/json")
        .stream(body))
}

/// Sends the full first chunk, then the rest of the list a chunk at a time, the last one
/// closing the array. Stops early if the client goes away; a failure mid-list aborts the
/// body, so the client sees a cut-off response, never a short list that looks whole.
async fn stream_posts(
    mut cursor: crate::store::PostCursor,
    mut chunk: Chunk,
    sender: stream::BodySender,
) {
    loop {
        let full = std::mem::replace(&mut chunk, Chunk::continuing());
        if sender.send(Ok(full.bytes)).await.is_err() {
            return;
        }
        match chunk.fill(&mut cursor).await {
            Ok(Filled::Full) => {}
            Ok(Filled::Ended) => {
                let _ = sender.send(Ok(chunk.close())).await;
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "post cursor failed mid-stream");
                let _ = sender.send(Err(BodyAborted)).await;
                return;
            }
        }
    }
}

/// A piece of the JSON array of posts, up to about [`CHUNK_BYTES`].
struct Chunk {
    bytes: Vec<u8>,
    /// Whether a post has been written anywhere in the list yet (a comma goes before every
    /// post but the first).
    started: bool,
}

/// Why [`Chunk::fill`] stopped.
#[derive(Debug, PartialEq)]
enum Filled {
    /// The chunk reached [`CHUNK_BYTES`]; more posts may follow.
    Full,
    /// The cursor has no more posts.
    Ended,
}

/// Room for the first chunk: what `limit` typical posts take (about 420 bytes of JSON each),
/// up to a full chunk. Enough that a page rarely grows its buffer, without 64 KiB for every
/// list of one post.
fn first_chunk_room(limit: Option<u64>) -> usize {
    const TYPICAL_POST: usize = 512;
    let posts = limit.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    posts.saturating_mul(TYPICAL_POST).min(CHUNK_BYTES) + TYPICAL_POST
}

impl Chunk {
    /// The first chunk, opening the array, with `room` bytes to start with.
    fn opening(room: usize) -> Chunk {
        let mut bytes = Vec::with_capacity(room);
        bytes.push(b'[');
        Chunk {
            bytes,
            started: false,
        }
    }

    /// A chunk after a full one.
    fn continuing() -> Chunk {
        Chunk {
            bytes: Vec::with_capacity(CHUNK_BYTES + 1024),
            started: true,
        }
    }

    /// Writes posts from `cursor` until the chunk is full or the cursor ends.
    async fn fill(&mut self, cursor: &mut crate::store::PostCursor) -> Result<Filled, StoreError> {
        while self.bytes.len() < CHUNK_BYTES {
            let (bytes, started) = (&mut self.bytes, &mut self.started);
            let written = cursor.next_with(|document| {
                if std::mem::replace(started, true) {
                    bytes.push(b',');
                }
                stored_json::write_post(document, bytes)
            });
            let Some(written) = written.await else {
                return Ok(Filled::Ended);
            };
            written?.map_err(|e| StoreError::Decode(e.to_string()))?;
        }
        Ok(Filled::Full)
    }

    /// The chunk with the array closed: the last one.
    fn close(mut self) -> Vec<u8> {
        self.bytes.push(b']');
        self.bytes
    }
}

/// The posts a principal may change: their own.
async fn own_post(
    store: &Arc<Store>,
    principal: &Principal,
    id: ObjectId,
) -> Result<bool, Refused> {
    match store.find_one(id).await? {
        Some(document) => match document.get("author") {
            Some(Bson::ObjectId(author)) if *author == principal.user.id => Ok(true),
            _ => Err(Refused::with(Response::error(
                Status::FORBIDDEN,
                "only the author may change this post",
            ))),
        },
        None => Ok(false),
    }
}

/// `PATCH /api/posts/{id}`: update_one with the client's operators, on the
/// allowed fields, plus `$currentDate: {updated_at: true}` from the server.
pub async fn update(app: &App, request: &Request) -> Reply {
    let principal = authenticate(app, request).await?;
    let id = post_id(request)?;
    let upsert = match request.head.query().unwrap_or_default() {
        "" | "upsert=false" => false,
        "upsert=true" => true,
        _ => {
            return Err(
                FieldError::field("upsert", "the only parameter is upsert=true|false").into(),
            );
        }
    };
    let mut document = update_document(&json_body(request)?)?;
    let exists = own_post(&app.store, &principal, id).await?;
    if !exists && !upsert {
        return Err(Refused::with(Response::error(
            Status::NOT_FOUND,
            "no such post (use ?upsert=true to create it)",
        )));
    }
    // The same update applies to a post that exists; only creating one needs a
    // title. So this is the post's state in conflict with the request (RFC 5789
    // §2.2: 409), not a malformed request.
    if !exists && !sets(&document, "title") {
        return Err(FieldError::field(
            "title",
            "no post has this id, and creating one needs a title ($set or $setOnInsert)",
        )
        .with_status(Status::CONFLICT)
        .into());
    }
    // What only the server writes: the change time, and for an upsert that
    // will insert, the author, creation time and empty defaults for what the
    // client left out. A field the client names with any operator gets no
    // default: `{"$unset": {"body": ""}}` asks for a post without one, and a
    // default beside it would conflict with it.
    if !exists {
        let mut on_insert = doc! { "author": principal.user.id, "created_at": DateTime::now() };
        for (field, empty) in [
            ("body", Bson::String(String::new())),
            ("tags", Bson::Array(Vec::new())),
        ] {
            if !names(&document, field) {
                on_insert.insert(field, empty);
            }
        }
        merge_operator(&mut document, "$setOnInsert", on_insert);
    }
    merge_operator(&mut document, "$currentDate", doc! { "updated_at": true });
    let update = Update::from_document(&document)?;
    let outcome = app.store.update_one(id, &update, upsert).await?;
    let status = if outcome.upserted_id.is_some() {
        Status::CREATED
    } else {
        Status::OK
    };
    Ok(Response::json(
        status,
        &json!({
            "matched": outcome.matched,
            "modified": outcome.modified,
            "upserted_id": outcome.upserted_id.map(|id| id.to_hex()),
        }),
    ))
}

/// Whether an update document writes `field` with `$set` or `$setOnInsert`.
fn sets(document: &bson::Document, field: &str) -> bool {
    ["$set", "$setOnInsert"].iter().any(|operator| {
        document
            .get_document(operator)
            .is_ok_and(|fields| fields.contains_key(field))
    })
}

/// Whether any operator of an update document names `field`.
fn names(document: &bson::Document, field: &str) -> bool {
    document.values().any(|fields| match fields {
        Bson::Document(fields) => fields.contains_key(field),
        _ => false,
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
pub async fn delete(app: &App, request: &Request) -> Reply {
    let principal = authenticate(app, request).await?;
    let id = post_id(request)?;
    if !own_post(&app.store, &principal, id).await? {
        return Err(no_such_post());
    }
    let deleted = app.store.delete_one(id).await?;
    Ok(Response::json(Status::OK, &json!({ "deleted": deleted })))
}
