//! The posts API over real TCP, on both stores: every route, every update
//! operator, and the bad input that must be refused with nothing written.

mod common;

use common::RawResponse;
use common::fixture::{Browser, Fixture, create_post as create, logged_in as author};
use groundup::app::AppConfig;

async fn read(browser: &mut Browser, id: &str) -> serde_json::Value {
    let response = browser
        .request("GET", &format!("/api/posts/{id}"), None)
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    response.json()
}

async fn patch(browser: &mut Browser, id: &str, update: &str) -> RawResponse {
    browser
        .request("PATCH", &format!("/api/posts/{id}"), Some(update))
        .await
}

async fn titles(browser: &mut Browser, query: &str) -> Vec<String> {
    let response = browser
        .request("GET", &format!("/api/posts{query}"), None)
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    // A page this small fits in the handler's first chunk: one plain response.
    assert!(!response.chunked, "a short list is not streamed");
    assert_eq!(
        response.header("content-length"),
        Some(response.body.len().to_string().as_str())
    );
    response
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|post| post["title"].as_str().unwrap().to_owned())
        .collect()
}

on_both_stores! {
    create_one_then_read_it_back(AppConfig::new().unwrap(), |fixture| {
        let mut ada = author(&fixture, "ada").await;
        let response = ada
            .request("POST", "/api/posts", Some(r#"{"title":"Hello","body":"first post","tags":["intro"],"likes":0}"#))
            .await;
        assert_eq!(response.status, 201);
        let id = response.json()["id"].as_str().unwrap().to_owned();
        assert_eq!(response.header("location"), Some(format!("/api/posts/{id}").as_str()));
        let post = read(&mut ada, &id).await;
        assert_eq!((post["title"].as_str(), post["body"].as_str()), (Some("Hello"), Some("first post")));
        assert_eq!(post["tags"], serde_json::json!(["intro"]));
        assert_eq!(post["likes"], 0);
        assert_eq!(post["created_at"], post["updated_at"]);
        let me = ada.request("GET", "/api/me", None).await.json();
        assert_eq!(post["author"], me["user"]["id"], "the author is the logged-in user");
    })

    insert_many_is_ordered_and_all_or_nothing(AppConfig::new().unwrap(), |fixture| {
        let mut ada = author(&fixture, "ada").await;
        let bad = ada
            .request("POST", "/api/posts", Some(r#"[{"title":"one"},{"body":"no title"},{"title":"three"}]"#))
            .await;
        assert_eq!((bad.status, bad.json()["field"].as_str()), (400, Some("[1].title")));
        assert!(titles(&mut ada, "").await.is_empty(), "nothing was written");
        let good = ada
            .request("POST", "/api/posts", Some(r#"[{"title":"one"},{"title":"two"},{"title":"three"}]"#))
            .await;
        assert_eq!(good.status, 201);
        let ids = good.json()["ids"].as_array().unwrap().clone();
        assert_eq!(ids.len(), 3);
        assert_eq!(read(&mut ada, ids[1].as_str().unwrap()).await["title"], "two");
        assert_eq!(titles(&mut ada, "?sort=oldest").await, ["one", "two", "three"]);
    })

    list_filters_sorts_and_pages(AppConfig::new().unwrap(), |fixture| {
        let mut ada = author(&fixture, "ada").await;
        let mut bob = author(&fixture, "bob").await;
        create(&mut ada, r#"{"title":"Apple pie","tags":["food"]}"#).await;
        let cutoff = chrono_now(&mut ada).await;
        create(&mut ada, r#"{"title":"Banana bread","tags":["food","sweet"]}"#).await;
        create(&mut bob, r#"{"title":"Apricot jam","tags":["sweet"]}"#).await;
        assert_eq!(titles(&mut ada, "?sort=title").await, ["Apple pie", "Apricot jam", "Banana bread"]);
        assert_eq!(titles(&mut ada, "?sort=oldest").await, ["Apple pie", "Banana bread", "Apricot jam"]);
        assert_eq!(titles(&mut ada, "").await, ["Apricot jam", "Banana bread", "Apple pie"], "newest first");
        assert_eq!(titles(&mut ada, "?author=bob").await, ["Apricot jam"]);
        assert_eq!(titles(&mut ada, "?author=nobody").await, Vec::<String>::new());
        // The author a post shows, its user id, finds that author's posts too.
        let shown = ada.request("GET", "/api/posts?author=bob", None).await.json()[0]["author"].clone();
        let by_id = format!("?author={}", shown.as_str().unwrap());
        assert_eq!(titles(&mut ada, &by_id).await, ["Apricot jam"]);
        assert_eq!(titles(&mut ada, "?author=000000000000000000000000").await, Vec::<String>::new());
        let neither = ada.request("GET", "/api/posts?author=a%20b", None).await;
        assert_eq!((neither.status, neither.json()["field"].as_str()), (400, Some("author")));
        // So no username may have an id's shape.
        let mut carol = fixture.browser();
        let refused = carol
            .request("POST", "/api/register", Some(r#"{"username":"6b0f6f6f9a324ca2ed6f7ad6","password":"correct horse battery"}"#))
            .await;
        assert_eq!((refused.status, refused.json()["field"].as_str()), (400, Some("username")));
        assert_eq!(titles(&mut ada, "?tag=sweet&sort=title").await, ["Apricot jam", "Banana bread"]);
        assert_eq!(titles(&mut ada, "?title_prefix=Ap&sort=title").await, ["Apple pie", "Apricot jam"]);
        assert_eq!(titles(&mut ada, "?title_prefix=.*").await, Vec::<String>::new(), "a prefix, not a regex");
        let since = format!("?sort=oldest&since={cutoff}");
        assert_eq!(titles(&mut ada, &since).await, ["Banana bread", "Apricot jam"]);
        let until = format!("?until={cutoff}");
        assert_eq!(titles(&mut ada, &until).await, ["Apple pie"]);
        assert_eq!(titles(&mut ada, "?sort=title&limit=2").await, ["Apple pie", "Apricot jam"]);
        assert_eq!(titles(&mut ada, "?sort=title&skip=1&limit=1").await, ["Apricot jam"]);
        let first = ada.request("GET", "/api/posts?sort=title&limit=1", None).await.json();
        let after = format!("?sort=title&after={}", first[0]["id"].as_str().unwrap());
        assert_eq!(titles(&mut ada, &after).await, ["Apricot jam", "Banana bread"]);
    })

    list_parameters_are_checked(AppConfig::new().unwrap(), |fixture| {
        let mut anyone = fixture.browser();
        for (query, field) in [
            ("?limit=0", "limit"),
            ("?limit=100001", "limit"),
            ("?limit=-1", "limit"),
            ("?skip=10001", "skip"),
            ("?sort=random", "sort"),
            ("?since=yesterday", "since"),
            ("?after=xyz", "after"),
            ("?author[$ne]=x", "author[$ne]"),
            ("?limit=1&limit=2", "limit"),
        ] {
            let response = anyone.request("GET", &format!("/api/posts{query}"), None).await;
            assert_eq!(response.status, 400, "{query}");
            assert_eq!(response.json()["field"], field, "{query}");
        }
    })

    find_one_answers_404_and_400(AppConfig::new().unwrap(), |fixture| {
        let mut anyone = fixture.browser();
        let missing = anyone.request("GET", "/api/posts/0123456789abcdef01234567", None).await;
        assert_eq!(missing.status, 404);
        let malformed = anyone.request("GET", "/api/posts/not-an-id", None).await;
        assert_eq!((malformed.status, malformed.json()["field"].as_str()), (400, Some("id")));
    })

    every_update_operator_works(AppConfig::new().unwrap(), |fixture| {
        let mut ada = author(&fixture, "ada").await;
        let id = create(&mut ada, r#"{"title":"Counters","body":"x","tags":["a"],"likes":5,"views":10,"rating":3}"#).await;
        let created = read(&mut ada, &id).await;
        for (update, check) in [
            (r#"{"$set":{"title":"Renamed","tags":["a","b"]}}"#, ("title", serde_json::json!("Renamed"))),
            (r#"{"$inc":{"likes":2}}"#, ("likes", serde_json::json!(7))),
            (r#"{"$mul":{"views":1.5}}"#, ("views", serde_json::json!(15.0))),
            (r#"{"$min":{"likes":4}}"#, ("likes", serde_json::json!(4))),
            (r#"{"$max":{"likes":9}}"#, ("likes", serde_json::json!(9))),
            (r#"{"$max":{"score":1}}"#, ("score", serde_json::json!(1))),
            (r#"{"$unset":{"body":""}}"#, ("body", serde_json::Value::Null)),
            (r#"{"$setOnInsert":{"body":"ignored on a match"}}"#, ("body", serde_json::Value::Null)),
        ] {
            let response = patch(&mut ada, &id, update).await;
            assert_eq!(response.status, 200, "{update}: {}", response.text());
            assert_eq!(response.json()["matched"], 1);
            let post = read(&mut ada, &id).await;
            assert_eq!(post[check.0], check.1, "{update}");
        }
        let renamed = patch(&mut ada, &id, r#"{"$rename":{"rating":"score"}}"#).await;
        assert_eq!(renamed.status, 200);
        let post = read(&mut ada, &id).await;
        assert_eq!((post["score"].as_i64(), post.get("rating")), (Some(3), None), "rename overwrites");
        let dated = patch(&mut ada, &id, r#"{"$currentDate":{"published_at":true}}"#).await;
        assert_eq!(dated.status, 200);
        let post = read(&mut ada, &id).await;
        assert!(post["published_at"].as_str().unwrap().ends_with('Z'));
        assert_ne!(post["updated_at"], created["updated_at"], "the server moves updated_at");
        let stamped = patch(&mut ada, &id, r#"{"$currentDate":{"published_at":{"$type":"timestamp"}}}"#).await;
        assert_eq!(stamped.status, 200);
        assert!(read(&mut ada, &id).await["published_at"]["t"].is_u64());
        let same = patch(&mut ada, &id, r#"{"$set":{"title":"Renamed"}}"#).await;
        assert_eq!(same.json()["matched"], 1);
    })

    upsert_creates_with_the_server_fields(AppConfig::new().unwrap(), |fixture| {
        let mut ada = author(&fixture, "ada").await;
        let id = "0123456789abcdef01234567";
        let missing = patch(&mut ada, id, r#"{"$set":{"title":"x"}}"#).await;
        assert_eq!(missing.status, 404, "no upsert without asking");
        let untitled = ada
            .request("PATCH", &format!("/api/posts/{id}?upsert=true"), Some(r#"{"$inc":{"views":1}}"#))
            .await;
        assert_eq!((untitled.status, untitled.json()["field"].as_str()), (409, Some("title")));
        let upserted = ada
            .request(
                "PATCH",
                &format!("/api/posts/{id}?upsert=true"),
                Some(r#"{"$setOnInsert":{"title":"Made by upsert"},"$inc":{"views":1}}"#),
            )
            .await;
        assert_eq!(upserted.status, 201, "{}", upserted.text());
        assert_eq!(upserted.json()["upserted_id"], id);
        let post = read(&mut ada, id).await;
        assert_eq!((post["title"].as_str(), post["views"].as_i64()), (Some("Made by upsert"), Some(1)));
        let me = ada.request("GET", "/api/me", None).await.json();
        assert_eq!(post["author"], me["user"]["id"]);
        // The server filled in what the client left out. (Only `body` is
        // checked: FerretDB 1.24 drops an empty array given to $setOnInsert,
        // so `tags: []` would fail there although MongoDB stores it.)
        assert_eq!(post["body"], "");
        let again = ada
            .request(
                "PATCH",
                &format!("/api/posts/{id}?upsert=true"),
                Some(r#"{"$setOnInsert":{"title":"not again"},"$inc":{"views":1}}"#),
            )
            .await;
        assert_eq!((again.status, again.json()["upserted_id"].is_null()), (200, true));
        let post = read(&mut ada, id).await;
        assert_eq!((post["title"].as_str(), post["views"].as_i64()), (Some("Made by upsert"), Some(2)));
    })

    upsert_without_body_or_tags_gets_no_default_for_them(AppConfig::new().unwrap(), |fixture| {
        let mut ada = author(&fixture, "ada").await;
        let id = "0123456789abcdef01234568";
        let upserted = ada
            .request(
                "PATCH",
                &format!("/api/posts/{id}?upsert=true"),
                Some(r#"{"$set":{"title":"Bare"},"$unset":{"body":"","tags":""}}"#),
            )
            .await;
        assert_eq!(upserted.status, 201, "{}", upserted.text());
        let post = read(&mut ada, id).await;
        assert_eq!(post["title"], "Bare");
        assert!(post.get("body").is_none() && post.get("tags").is_none(), "{post}");
    })

    update_failures_name_the_field_in_one_shape(AppConfig::new().unwrap(), |fixture| {
        let mut ada = author(&fixture, "ada").await;
        let id = create(&mut ada, r#"{"title":"Counted","likes":9007199254740000,"score":1.5}"#).await;
        let before = read(&mut ada, &id).await;
        for (update, field, says) in [
            // Past 2^53 by $inc, past any double by $mul: refused, not stored.
            (r#"{"$inc":{"likes":1000}}"#, "likes", "outside ±2^53"),
            (r#"{"$mul":{"likes":2}}"#, "likes", "outside ±2^53"),
            (r#"{"$mul":{"score":9e15}}"#, "score", "outside ±2^53"),
        ] {
            let refused = patch(&mut ada, &id, update).await;
            let body = refused.json();
            assert_eq!((refused.status, body["field"].as_str()), (409, Some(field)), "{update}: {body}");
            let error = body["error"].as_str().unwrap();
            assert!(error.contains(says), "{update}: {error}");
            assert!(!error.contains("ObjectId") && !error.contains(&id), "our words: {error}");
        }
        assert_eq!(read(&mut ada, &id).await, before, "nothing was written");
        let fits = patch(&mut ada, &id, r#"{"$inc":{"likes":992}}"#).await;
        assert_eq!(fits.status, 200, "exactly 2^53 is still a number: {}", fits.text());
        assert_eq!(read(&mut ada, &id).await["likes"].as_i64(), Some(1 << 53));
    })

    bad_updates_are_refused_and_write_nothing(AppConfig::new().unwrap(), |fixture| {
        let mut ada = author(&fixture, "ada").await;
        let id = create(&mut ada, r#"{"title":"Stable","likes":1}"#).await;
        let before = read(&mut ada, &id).await;
        for (update, field) in [
            (r#"{"$where":{"likes":1}}"#, "$where"),
            (r#"{"$set":{"author":"someone"}}"#, "author"),
            (r#"{"$set":{"_id":"x"}}"#, "_id"),
            (r#"{"$set":{"created_at":"x"}}"#, "created_at"),
            (r#"{"$set":{"updated_at":"x"}}"#, "updated_at"),
            (r#"{"$set":{"$title":"x"}}"#, "$title"),
            (r#"{"$set":{"likes.count":1}}"#, "likes.count"),
            (r#"{"$set":{"title":{"$gt":""}}}"#, "title"),
            (r#"{"$set":{"title":7}}"#, "title"),
            (r#"{"$set":{"tags":"not an array"}}"#, "tags"),
            (r#"{"$inc":{"likes":"1"}}"#, "likes"),
            (r#"{"$inc":{"likes":1e300}}"#, "likes"),
            (r#"{"$mul":{"likes":9007199254740993}}"#, "likes"),
            (r#"{"$inc":{"title":1}}"#, "title"),
            (r#"{"$unset":{"title":""}}"#, "title"),
            (r#"{"$rename":{"likes":"title"}}"#, "likes"),
            (r#"{"$set":"title"}"#, "$set"),
            (r#"{"$set":{"likes":1},"$inc":{"likes":1}}"#, "likes"),
        ] {
            let response = patch(&mut ada, &id, update).await;
            assert_eq!(response.status, 400, "{update}: {}", response.text());
            assert_eq!(response.json()["field"], field, "{update}");
        }
        let malformed = patch(&mut ada, &id, "{not json").await;
        assert_eq!(malformed.status, 400);
        let empty = patch(&mut ada, &id, "{}").await;
        assert_eq!(empty.status, 400);
        let form = ada
            .send("PATCH", &format!("/api/posts/{id}"), Some(("application/x-www-form-urlencoded", "a=1")), &[])
            .await;
        assert_eq!(form.status, 415);
        assert_eq!(read(&mut ada, &id).await, before, "nothing written");
    })

    bad_posts_are_refused(AppConfig::new().unwrap(), |fixture| {
        let mut ada = author(&fixture, "ada").await;
        let long_title = "t".repeat(201);
        for (body, field) in [
            (r#"{"body":"no title"}"#.to_owned(), "title"),
            (r#"{"title":""}"#.to_owned(), "title"),
            (format!(r#"{{"title":"{long_title}"}}"#), "title"),
            (r#"{"title":"x","author":"me"}"#.to_owned(), "author"),
            (r#"{"title":"x","$where":"1"}"#.to_owned(), "$where"),
            (r#"{"title":"x","tags":[1]}"#.to_owned(), "tags"),
            (r#"{"title":"x","likes":"many"}"#.to_owned(), "likes"),
            (r#"{"title":{"$ne":null}}"#.to_owned(), "title"),
        ] {
            let response = ada.request("POST", "/api/posts", Some(&body)).await;
            assert_eq!(response.status, 400, "{body}");
            assert_eq!(response.json()["field"], field, "{body}");
        }
        assert_eq!(ada.request("POST", "/api/posts", Some("[]")).await.status, 400);
        assert_eq!(ada.request("POST", "/api/posts", Some("\"just a string\"")).await.status, 400);
        assert!(titles(&mut ada, "").await.is_empty());
    })

    body_over_one_mebibyte_is_413(AppConfig::new().unwrap(), |fixture| {
        let mut ada = author(&fixture, "ada").await;
        let huge = format!(r#"{{"title":"x","body":"{}"}}"#, "b".repeat(1024 * 1024));
        let response = ada.request("POST", "/api/posts", Some(&huge)).await;
        assert_eq!(response.status, 413);
    })

    writes_need_a_login_and_the_author(AppConfig::new().unwrap(), |fixture| {
        let mut ada = author(&fixture, "ada").await;
        let id = create(&mut ada, r#"{"title":"Ada's"}"#).await;
        let mut anonymous = fixture.browser();
        assert_eq!(anonymous.request("POST", "/api/posts", Some(r#"{"title":"x"}"#)).await.status, 401);
        assert_eq!(patch(&mut anonymous, &id, r#"{"$inc":{"likes":1}}"#).await.status, 401);
        assert_eq!(anonymous.request("DELETE", &format!("/api/posts/{id}"), None).await.status, 401);
        assert_eq!(anonymous.request("GET", &format!("/api/posts/{id}"), None).await.status, 200, "reads are public");

        let mut bob = author(&fixture, "bob").await;
        assert_eq!(patch(&mut bob, &id, r#"{"$set":{"title":"Bob's now"}}"#).await.status, 403);
        let upsert_over = bob
            .request("PATCH", &format!("/api/posts/{id}?upsert=true"), Some(r#"{"$set":{"title":"mine"}}"#))
            .await;
        assert_eq!(upsert_over.status, 403);
        assert_eq!(bob.request("DELETE", &format!("/api/posts/{id}"), None).await.status, 403);
        assert_eq!(read(&mut bob, &id).await["title"], "Ada's");

        let options = ada.request("OPTIONS", &format!("/api/posts/{id}"), None).await;
        assert_eq!((options.status, options.header("allow")), (204, Some("GET, PATCH, DELETE, HEAD, OPTIONS")));
        let deleted = ada.request("DELETE", &format!("/api/posts/{id}"), None).await;
        assert_eq!((deleted.status, deleted.json()["deleted"].as_u64()), (200, Some(1)));
        assert_eq!(ada.request("GET", &format!("/api/posts/{id}"), None).await.status, 404);
        assert_eq!(ada.request("DELETE", &format!("/api/posts/{id}"), None).await.status, 404);
        assert_eq!(ada.request("OPTIONS", &format!("/api/posts/{id}"), None).await.status, 404, "gone for OPTIONS too");
        let malformed = ada.request("OPTIONS", "/api/posts/not-an-id", None).await;
        assert_eq!((malformed.status, malformed.json()["field"].as_str()), (400, Some("id")));
        // A page after the deleted post: the request is well formed, its starting point is gone.
        let after = ada.request("GET", &format!("/api/posts?after={id}"), None).await;
        assert_eq!((after.status, after.json()["field"].as_str()), (404, Some("after")));
    })

    cookie_writes_need_origin_or_csrf_token(AppConfig::new().unwrap(), |fixture| {
        let mut ada = author(&fixture, "ada").await;
        ada.headers.clear();
        let bare = ada.request("POST", "/api/posts", Some(r#"{"title":"x"}"#)).await;
        assert_eq!(bare.status, 403);
        let token = ada.request("GET", "/api/me", None).await.json()["csrf_token"].as_str().unwrap().to_owned();
        let with_token = ada
            .request_with("POST", "/api/posts", Some(r#"{"title":"x"}"#), &[&format!("X-CSRF-Token: {token}")])
            .await;
        assert_eq!(with_token.status, 201);
    })
}

/// The current time as the server sees it, via a fresh post's `created_at`
/// (deleted again), so `since`/`until` tests need no clock agreement.
async fn chrono_now(browser: &mut Browser) -> String {
    // Dates have millisecond precision: keep the posts around it apart.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let id = create(browser, r#"{"title":"clock"}"#).await;
    let now = read(browser, &id).await["created_at"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        browser
            .request("DELETE", &format!("/api/posts/{id}"), None)
            .await
            .status,
        200
    );
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    now
}
