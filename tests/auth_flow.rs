//! The login flow over real TCP, with a cookie jar, on both stores.
//!
//! Every case runs twice: `embedded::<case>` on the embedded store and
//! `mongo::<case>` on MongoDB (skipped without `MONGODB_URI`, required with
//! `REQUIRE_MONGODB=1`). Each rule of DESIGN's "Sessions and auth rules" has
//! a case here that fails if the rule is removed.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::RawResponse;
use common::fixture::{Browser, Fixture};
use common::store_support;
use groundup::app::AppConfig;
use groundup::session::manager::SessionPolicy;
use groundup::session::throttle::LoginLimits;
use groundup::store::{SessionStore, UserStore};
use sha2::{Digest, Sha256};

const SESSION: &str = "__Host-session";
const ADA: &str =
    r#"{"username":"Ada","password":"correct horse battery","email":"ada@example.test"}"#;
const ADA_LOGIN: &str = r#"{"identifier":"ada","password":"correct horse battery"}"#;

async fn register_and_login(browser: &mut Browser) -> RawResponse {
    assert_eq!(
        browser
            .request("POST", "/api/register", Some(ADA))
            .await
            .status,
        201
    );
    let login = browser.request("POST", "/api/login", Some(ADA_LOGIN)).await;
    assert_eq!(login.status, 200, "{}", login.text());
    login
}

fn set_cookie(response: &RawResponse) -> &str {
    response.header("set-cookie").expect("a Set-Cookie header")
}

fn quick_expiry(idle_ms: u64, absolute_ms: u64) -> AppConfig {
    AppConfig {
        sessions: SessionPolicy {
            idle: Duration::from_millis(idle_ms),
            absolute: Duration::from_millis(absolute_ms),
            touch_every: Duration::ZERO,
            dev: false,
        },
        ..AppConfig::new().unwrap()
    }
}

fn throttled(per_account: usize, per_address: usize) -> AppConfig {
    AppConfig {
        logins: LoginLimits {
            per_account,
            per_address,
            window: Duration::from_secs(60),
            address_pace: per_address,
            ..LoginLimits::default()
        },
        ..AppConfig::new().unwrap()
    }
}

/// The default limits without the per-address pace (one failure per two
/// seconds), for cases that send a wrong password and then, within
/// milliseconds, the next one: faster than the pace lets any address go.
fn unpaced() -> AppConfig {
    AppConfig {
        logins: LoginLimits {
            address_pace: LoginLimits::default().per_address,
            ..LoginLimits::default()
        },
        ..AppConfig::new().unwrap()
    }
}

on_both_stores! {
    register_login_me_logout_me(AppConfig::new().unwrap(), |fixture| {
        let mut browser = fixture.browser();
        let registered = browser.request("POST", "/api/register", Some(ADA)).await;
        assert_eq!(registered.status, 201);
        assert_eq!(registered.json()["username"], "ada", "usernames are stored lowercased");
        assert!(browser.cookies.is_empty(), "registering does not log in");

        let login = browser.request("POST", "/api/login", Some(ADA_LOGIN)).await;
        assert_eq!(login.status, 200);
        let cookie = set_cookie(&login);
        for attribute in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax", "Max-Age="] {
            assert!(cookie.contains(attribute), "{attribute} missing from {cookie}");
        }
        assert!(!cookie.contains("Domain="), "__Host- cookies have no Domain");
        let id = browser.cookie(SESSION).expect("session cookie stored");
        assert_eq!(id.len(), 64, "256 bits as hex");
        assert_eq!(login.header("cache-control"), Some("no-store"));

        let me = browser.request("GET", "/api/me", None).await;
        assert_eq!(me.status, 200);
        assert_eq!(me.json()["user"]["username"], "ada");
        assert_eq!(me.header("cache-control"), Some("no-store"));
        let token = me.json()["csrf_token"].as_str().unwrap().to_owned();

        let header = format!("X-CSRF-Token: {token}");
        let logout = browser.request_with("POST", "/api/logout", None, &[&header]).await;
        assert_eq!(logout.status, 200, "{}", logout.text());
        assert!(set_cookie(&logout).contains("Max-Age=0"));
        assert_eq!(logout.header("clear-site-data"), Some("\"cookies\""));
        assert_eq!(browser.cookie(SESSION), None);

        let after = browser.request("GET", "/api/me", None).await;
        assert_eq!(after.status, 401);
        assert!(after.header("www-authenticate").unwrap().starts_with("Cookie"));
    })

    logged_out_cookie_is_dead_even_if_replayed(AppConfig::new().unwrap(), |fixture| {
        let mut browser = fixture.browser();
        register_and_login(&mut browser).await;
        let stolen = browser.cookie(SESSION).unwrap().to_owned();
        let logout = browser
            .request_with("POST", "/api/logout", None, &["Origin: http://t"])
            .await;
        assert_eq!(logout.status, 200);
        let mut thief = fixture.browser();
        thief.cookies.push((SESSION.into(), stolen));
        let replay = thief.request("GET", "/api/me", None).await;
        assert_eq!(replay.status, 401);
        assert!(set_cookie(&replay).contains("Max-Age=0"), "a dead cookie is cleared");
    })

    stolen_session_row_is_not_a_cookie(AppConfig::new().unwrap(), |fixture| {
        let mut browser = fixture.browser();
        register_and_login(&mut browser).await;
        let cookie = browser.cookie(SESSION).unwrap().to_owned();
        let user = fixture.store.user_by_username("ada").await.unwrap().unwrap();
        assert!(
            user.password_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "passwords are stored as Argon2id PHC strings"
        );
        let rows = fixture.store.list_for_user(user.id).await.unwrap();
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        let cookie_bytes = hex::decode(&cookie).unwrap();
        assert_eq!(row.id_hash, hex::encode(Sha256::digest(&cookie_bytes)), "stored as sha256");
        assert_ne!(row.id_hash, cookie, "the raw id is not stored");
        for stolen in [row.id_hash.clone(), row.csrf_token.clone()] {
            let mut thief = fixture.browser();
            thief.cookies.push((SESSION.into(), stolen));
            assert_eq!(thief.request("GET", "/api/me", None).await.status, 401);
        }
    })

    login_rotates_the_session_id(AppConfig::new().unwrap(), |fixture| {
        let mut browser = fixture.browser();
        register_and_login(&mut browser).await;
        let before = browser.cookie(SESSION).unwrap().to_owned();
        let again = browser.request("POST", "/api/login", Some(ADA_LOGIN)).await;
        assert_eq!(again.status, 200);
        let after = browser.cookie(SESSION).unwrap().to_owned();
        assert_ne!(before, after, "a new id at every login");
        let mut old = fixture.browser();
        old.cookies.push((SESSION.into(), before));
        assert_eq!(old.request("GET", "/api/me", None).await.status, 401, "the pre-login id died");
        assert_eq!(browser.request("GET", "/api/me", None).await.status, 200);
    })

    planted_session_id_is_never_adopted(AppConfig::new().unwrap(), |fixture| {
        let planted = "ab".repeat(32);
        let mut browser = fixture.browser();
        browser.cookies.push((SESSION.into(), planted.clone()));
        register_and_login(&mut browser).await;
        assert_ne!(browser.cookie(SESSION), Some(planted.as_str()));
        let mut attacker = fixture.browser();
        attacker.cookies.push((SESSION.into(), planted));
        assert_eq!(attacker.request("GET", "/api/me", None).await.status, 401);
    })

    login_by_email_works(AppConfig::new().unwrap(), |fixture| {
        let mut browser = fixture.browser();
        assert_eq!(browser.request("POST", "/api/register", Some(ADA)).await.status, 201);
        let login = browser
            .request("POST", "/api/login", Some(r#"{"identifier":"ADA@example.test","password":"correct horse battery"}"#))
            .await;
        assert_eq!(login.status, 200);
    })

    wrong_password_and_unknown_user_look_the_same(unpaced(), |fixture| {
        let mut browser = fixture.browser();
        assert_eq!(browser.request("POST", "/api/register", Some(ADA)).await.status, 201);
        let wrong = browser
            .request("POST", "/api/login", Some(r#"{"identifier":"ada","password":"wrong password"}"#))
            .await;
        let unknown = browser
            .request("POST", "/api/login", Some(r#"{"identifier":"nobody","password":"wrong password"}"#))
            .await;
        assert_eq!((wrong.status, unknown.status), (401, 401));
        assert_eq!(wrong.body, unknown.body);
        assert!(wrong.header("www-authenticate").is_some());
        assert!(wrong.header("set-cookie").is_none() && unknown.header("set-cookie").is_none());
    })

    failed_logins_per_account_are_throttled(throttled(3, 100), |fixture| {
        let mut browser = fixture.browser();
        assert_eq!(browser.request("POST", "/api/register", Some(ADA)).await.status, 201);
        for _ in 0..3 {
            let failed = browser
                .request("POST", "/api/login", Some(r#"{"identifier":"ada","password":"not the password"}"#))
                .await;
            assert_eq!(failed.status, 401);
        }
        let blocked = browser.request("POST", "/api/login", Some(ADA_LOGIN)).await;
        assert_eq!(blocked.status, 429, "even the right password waits");
        let retry: u64 = blocked.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry));
        assert!(browser.cookie(SESSION).is_none());
    })

    failed_logins_per_address_are_throttled(throttled(100, 3), |fixture| {
        let mut browser = fixture.browser();
        for name in ["a1", "a2", "a3"] {
            let body = format!(r#"{{"identifier":"{name}","password":"whatever you say"}}"#);
            assert_eq!(browser.request("POST", "/api/login", Some(&body)).await.status, 401);
        }
        let blocked = browser
            .request("POST", "/api/login", Some(r#"{"identifier":"a4","password":"whatever you say"}"#))
            .await;
        assert_eq!(blocked.status, 429);
    })

    state_change_with_session_needs_origin_or_token(AppConfig::new().unwrap(), |fixture| {
        let mut browser = fixture.browser();
        register_and_login(&mut browser).await;
        let bare = browser.request("POST", "/api/logout", None).await;
        assert_eq!(bare.status, 403, "no Origin, no token");
        let forged = browser.request_with("POST", "/api/logout", None, &["X-CSRF-Token: 00"]).await;
        assert_eq!(forged.status, 403, "wrong token");
        let foreign = browser
            .request_with("POST", "/api/logout", None, &["Origin: http://evil.test"])
            .await;
        assert_eq!(foreign.status, 403, "foreign origin");
        let cross = browser
            .request_with("POST", "/api/logout", None, &["Sec-Fetch-Site: cross-site"])
            .await;
        assert_eq!(cross.status, 403);
        assert_eq!(browser.request("GET", "/api/me", None).await.status, 200, "still logged in");
        let same = browser.request_with("POST", "/api/logout", None, &["Origin: http://t"]).await;
        assert_eq!(same.status, 200);
    })

    login_from_a_foreign_origin_is_refused(AppConfig::new().unwrap(), |fixture| {
        let mut browser = fixture.browser();
        assert_eq!(browser.request("POST", "/api/register", Some(ADA)).await.status, 201);
        let login = browser
            .request_with("POST", "/api/login", Some(ADA_LOGIN), &["Origin: http://evil.test"])
            .await;
        assert_eq!(login.status, 403);
        assert!(browser.cookie(SESSION).is_none());
    })

    operator_objects_never_log_anyone_in(AppConfig::new().unwrap(), |fixture| {
        let mut browser = fixture.browser();
        assert_eq!(browser.request("POST", "/api/register", Some(ADA)).await.status, 201);
        for (body, field) in [
            (r#"{"username":{"$ne":null},"password":{"$ne":null}}"#, "username"),
            (r#"{"identifier":"ada","password":{"$gt":""}}"#, "password"),
            (r#"{"identifier":["ada"],"password":"x"}"#, "identifier"),
            (r#"{"identifier":"ada","password":"correct horse battery","$where":"1"}"#, "$where"),
        ] {
            let response = browser.request("POST", "/api/login", Some(body)).await;
            assert_eq!(response.status, 400, "{body}");
            assert_eq!(response.json()["field"], field, "{body}");
            assert!(browser.cookie(SESSION).is_none());
        }
    })

    form_encoded_operator_keys_are_unknown_fields(AppConfig::new().unwrap(), |fixture| {
        let mut browser = fixture.browser();
        let response = browser
            .form("/api/login", "identifier%5B%24ne%5D=x&password%5B%24ne%5D=x")
            .await;
        assert_eq!(response.status, 400);
        assert_eq!(response.json()["field"], "identifier[$ne]");
        let plain = browser.form("/api/register", "username=grace&password=correct+horse+battery").await;
        assert_eq!(plain.status, 201, "forms work like JSON");
    })

    registration_input_is_checked(AppConfig::new().unwrap(), |fixture| {
        let mut browser = fixture.browser();
        let long_password = "p".repeat(1025);
        let cases = [
            (r#"{"password":"correct horse battery"}"#.to_owned(), "username"),
            (r#"{"username":"","password":"correct horse battery"}"#.to_owned(), "username"),
            (r#"{"username":"a b","password":"correct horse battery"}"#.to_owned(), "username"),
            (r#"{"username":42,"password":"correct horse battery"}"#.to_owned(), "username"),
            (r#"{"username":"bob","password":12345678}"#.to_owned(), "password"),
            (r#"{"username":"bob","password":"short"}"#.to_owned(), "password"),
            (format!(r#"{{"username":"bob","password":"{long_password}"}}"#), "password"),
            (r#"{"username":"bob","password":"correct horse battery","email":"nope"}"#.to_owned(), "email"),
            (r#"{"username":"bob","password":"correct horse battery","admin":true}"#.to_owned(), "admin"),
        ];
        for (body, field) in cases {
            let response = browser.request("POST", "/api/register", Some(&body)).await;
            assert_eq!(response.status, 400, "{body}");
            assert_eq!(response.json()["field"], field, "{body}");
        }
        let malformed = browser.request("POST", "/api/register", Some("{not json")).await;
        assert_eq!(malformed.status, 400);
        assert!(fixture.store.user_by_username("bob").await.unwrap().is_none(), "nothing written");
    })

    duplicate_registration_is_409(AppConfig::new().unwrap(), |fixture| {
        let mut browser = fixture.browser();
        assert_eq!(browser.request("POST", "/api/register", Some(ADA)).await.status, 201);
        let same_name = browser
            .request("POST", "/api/register", Some(r#"{"username":"ADA","password":"another password"}"#))
            .await;
        assert_eq!((same_name.status, same_name.json()["field"].as_str()), (409, Some("username")));
        let same_email = browser
            .request(
                "POST",
                "/api/register",
                Some(r#"{"username":"ada2","password":"another password","email":"ada@example.test"}"#),
            )
            .await;
        assert_eq!((same_email.status, same_email.json()["field"].as_str()), (409, Some("email")));
    })

    forged_and_truncated_cookies_are_401(AppConfig::new().unwrap(), |fixture| {
        let mut browser = fixture.browser();
        register_and_login(&mut browser).await;
        let real = browser.cookie(SESSION).unwrap().to_owned();
        let flipped = format!("{}{}", &real[..63], if real.ends_with('0') { '1' } else { '0' });
        for forged in [real[..32].to_owned(), flipped, "zz".repeat(32), String::new()] {
            let mut other = fixture.browser();
            other.cookies.push((SESSION.into(), forged.clone()));
            assert_eq!(other.request("GET", "/api/me", None).await.status, 401, "{forged}");
        }
    })

    idle_session_expires(quick_expiry(300, 60_000), |fixture| {
        let mut browser = fixture.browser();
        register_and_login(&mut browser).await;
        assert_eq!(browser.request("GET", "/api/me", None).await.status, 200);
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(browser.request("GET", "/api/me", None).await.status, 401);
    })

    busy_session_still_hits_its_absolute_expiry(quick_expiry(1_000, 2_000), |fixture| {
        let mut browser = fixture.browser();
        register_and_login(&mut browser).await;
        let logged_in = std::time::Instant::now();
        assert_eq!(browser.request("GET", "/api/me", None).await.status, 200);
        // Requests every 200 ms keep sliding the 1 s idle expiry, so only the
        // 2 s absolute expiry can end the session.
        while logged_in.elapsed() < Duration::from_millis(2_300) {
            tokio::time::sleep(Duration::from_millis(200)).await;
            browser.request("GET", "/api/me", None).await;
        }
        assert_eq!(browser.request("GET", "/api/me", None).await.status, 401);
    })

    logout_all_ends_every_session(AppConfig::new().unwrap(), |fixture| {
        let mut laptop = fixture.browser();
        register_and_login(&mut laptop).await;
        let mut phone = fixture.browser();
        assert_eq!(phone.request("POST", "/api/login", Some(ADA_LOGIN)).await.status, 200);
        assert_eq!(laptop.request("GET", "/api/me", None).await.status, 200);
        let ended = laptop
            .request_with("POST", "/api/logout-all", None, &["Origin: http://t"])
            .await;
        assert_eq!((ended.status, ended.json()["sessions_ended"].as_u64()), (200, Some(2)));
        assert_eq!(phone.request("GET", "/api/me", None).await.status, 401);
        assert_eq!(laptop.request("GET", "/api/me", None).await.status, 401);
    })

    password_change_rotates_and_logs_out_elsewhere(unpaced(), |fixture| {
        let mut laptop = fixture.browser();
        register_and_login(&mut laptop).await;
        let mut phone = fixture.browser();
        assert_eq!(phone.request("POST", "/api/login", Some(ADA_LOGIN)).await.status, 200);
        let before = laptop.cookie(SESSION).unwrap().to_owned();
        let wrong = laptop
            .request_with(
                "POST",
                "/api/password",
                Some(r#"{"current_password":"not it at all","new_password":"a new password"}"#),
                &["Origin: http://t"],
            )
            .await;
        assert_eq!(wrong.status, 403);
        let changed = laptop
            .request_with(
                "POST",
                "/api/password",
                Some(r#"{"current_password":"correct horse battery","new_password":"a new password"}"#),
                &["Origin: http://t"],
            )
            .await;
        assert_eq!(changed.status, 200, "{}", changed.text());
        assert_ne!(laptop.cookie(SESSION).unwrap(), before, "new id after a privilege change");
        assert_eq!(laptop.request("GET", "/api/me", None).await.status, 200);
        assert_eq!(phone.request("GET", "/api/me", None).await.status, 401);
        let mut fresh = fixture.browser();
        assert_eq!(fresh.request("POST", "/api/login", Some(ADA_LOGIN)).await.status, 401);
        let new_login = r#"{"identifier":"ada","password":"a new password"}"#;
        assert_eq!(fresh.request("POST", "/api/login", Some(new_login)).await.status, 200);
    })

    protected_routes_without_a_cookie_are_401(AppConfig::new().unwrap(), |fixture| {
        let mut browser = fixture.browser();
        for (method, path) in [("GET", "/api/me"), ("POST", "/api/logout"), ("POST", "/api/logout-all"), ("POST", "/api/password")] {
            let response = browser.request(method, path, None).await;
            assert_eq!(response.status, 401, "{method} {path}");
            assert!(response.header("www-authenticate").is_some());
        }
    })

    dev_mode_cookie_works_on_plain_http(AppConfig { sessions: SessionPolicy { dev: true, ..SessionPolicy::default() }, ..AppConfig::new().unwrap() }, |fixture| {
        let mut browser = fixture.browser();
        let login = register_and_login(&mut browser).await;
        let cookie = set_cookie(&login);
        assert!(cookie.starts_with("session="));
        assert!(!cookie.contains("Secure"));
        assert!(cookie.contains("HttpOnly"));
        assert_eq!(browser.request("GET", "/api/me", None).await.status, 200);
    })
}

#[tokio::test]
async fn two_servers_on_one_database_share_sessions() {
    let Some(uri) = store_support::mongo_uri("two_servers_on_one_database_share_sessions") else {
        return;
    };
    let (first_store, database) = store_support::mongo_store(&uri).await;
    let first = Fixture::serve(
        Arc::new(first_store),
        AppConfig::new().unwrap(),
        None,
        Some(database.clone()),
    )
    .await;
    let config = groundup::store::StoreConfig {
        backend: groundup::store::Backend::Mongo {
            uri,
            variable: "MONGODB_URI",
        },
        database,
    };
    let second_store = groundup::store::open(&config).await.unwrap();
    let second = Fixture::serve(
        Arc::new(second_store),
        AppConfig::new().unwrap(),
        None,
        None,
    )
    .await;

    let mut browser = first.browser();
    register_and_login(&mut browser).await;
    let mut elsewhere = second.browser();
    elsewhere.cookies = browser.cookies.clone();
    let me = elsewhere.request("GET", "/api/me", None).await;
    assert_eq!(me.status, 200, "the other process knows the session");
    let logout = elsewhere
        .request_with("POST", "/api/logout", None, &["Origin: http://t"])
        .await;
    assert_eq!(logout.status, 200);
    assert_eq!(
        browser.request("GET", "/api/me", None).await.status,
        401,
        "and its end"
    );
    first.finish().await;
}

#[tokio::test]
async fn unreachable_database_is_503_and_health_says_degraded() {
    let config = groundup::store::StoreConfig {
        backend: groundup::store::Backend::Mongo {
            uri: "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300&connectTimeoutMS=300".into(),
            variable: "MONGODB_URI",
        },
        database: "groundup".into(),
    };
    let store = groundup::store::open(&config)
        .await
        .expect("opening is lazy");
    let fixture = Fixture::serve(Arc::new(store), AppConfig::new().unwrap(), None, None).await;
    let mut browser = fixture.browser();
    let login = browser.request("POST", "/api/login", Some(ADA_LOGIN)).await;
    assert_eq!(login.status, 503);
    assert_eq!(login.header("retry-after"), Some("1"));
    browser.cookies.push((SESSION.into(), "ab".repeat(32)));
    assert_eq!(browser.request("GET", "/api/me", None).await.status, 503);
    let health = browser.request("GET", "/health", None).await;
    assert_eq!(
        health.status, 503,
        "the server answers, and says it cannot serve data"
    );
    assert_eq!(health.text(), "degraded: the database is unreachable\n");
}
