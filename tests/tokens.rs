//! Bearer tokens beside the session, on both stores: what a token can do
//! (write without a cookie or CSRF token) and what it cannot (be revoked),
//! and every malformed or forged token refused with 401.

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::fixture::{Browser, Fixture};
use groundup::app::AppConfig;

const ACCOUNT: &str = r#"{"username":"ada","password":"correct horse battery"}"#;
const CREDENTIALS: &str = r#"{"identifier":"ada","password":"correct horse battery"}"#;

async fn token_for_ada(browser: &mut Browser) -> String {
    assert_eq!(
        browser
            .request("POST", "/api/register", Some(ACCOUNT))
            .await
            .status,
        201
    );
    let response = browser
        .request("POST", "/api/token", Some(CREDENTIALS))
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json()["token_type"], "Bearer");
    assert!(
        response.header("set-cookie").is_none(),
        "a token, not a session"
    );
    response.json()["token"].as_str().unwrap().to_owned()
}

fn bearer(token: &str) -> String {
    format!("Authorization: Bearer {token}")
}

fn short_lived() -> AppConfig {
    AppConfig {
        token_lifetime: Duration::ZERO,
        ..AppConfig::new().unwrap()
    }
}

on_both_stores! {
    token_writes_without_cookie_or_csrf(AppConfig::new().unwrap(), |fixture| {
        let mut client = fixture.browser();
        let token = token_for_ada(&mut client).await;
        assert_eq!(token.split('.').count(), 3);
        let created = client
            .request_with("POST", "/api/posts", Some(r#"{"title":"by token"}"#), &[&bearer(&token)])
            .await;
        assert_eq!(created.status, 201, "{}", created.text());
        let id = created.json()["id"].as_str().unwrap().to_owned();
        let patched = client
            .request_with("PATCH", &format!("/api/posts/{id}"), Some(r#"{"$inc":{"likes":1}}"#), &[&bearer(&token)])
            .await;
        assert_eq!(patched.status, 200);
        let deleted = client
            .request_with("DELETE", &format!("/api/posts/{id}"), None, &[&bearer(&token)])
            .await;
        assert_eq!(deleted.status, 200);
    })

    logout_ends_the_session_but_not_the_token(AppConfig::new().unwrap(), |fixture| {
        let mut client = fixture.browser();
        let token = token_for_ada(&mut client).await;
        assert_eq!(client.request("POST", "/api/login", Some(CREDENTIALS)).await.status, 200);
        let logout = client.request_with("POST", "/api/logout", None, &["Origin: http://t"]).await;
        assert_eq!(logout.status, 200);
        assert_eq!(
            client.request_with("POST", "/api/posts", Some(r#"{"title":"x"}"#), &["Origin: http://t"]).await.status,
            401,
            "the session is gone"
        );
        let still = client
            .request_with("POST", "/api/posts", Some(r#"{"title":"still valid"}"#), &[&bearer(&token)])
            .await;
        assert_eq!(still.status, 201, "the token lives until it expires");
    })

    expired_token_is_401(short_lived(), |fixture| {
        let mut client = fixture.browser();
        let token = token_for_ada(&mut client).await;
        let response = client
            .request_with("POST", "/api/posts", Some(r#"{"title":"x"}"#), &[&bearer(&token)])
            .await;
        assert_eq!(response.status, 401);
        assert!(response.json()["error"].as_str().unwrap().contains("expired"));
    })

    forged_tokens_are_401_and_write_nothing(AppConfig::new().unwrap(), |fixture| {
        let mut client = fixture.browser();
        let token = token_for_ada(&mut client).await;
        let parts: Vec<&str> = token.split('.').collect();
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        let other_user = payload.replace("\"ada\"", "\"eve\"");
        let flipped_signature = format!(
            "{}{}",
            &parts[2][..parts[2].len() - 2],
            if parts[2].ends_with("AA") { "BA" } else { "AA" }
        );
        let forged = [
            format!("Bearer {none_header}.{}.", parts[1]),
            format!("Bearer {}.{}.{flipped_signature}", parts[0], parts[1]),
            format!("Bearer {}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(other_user), parts[2]),
            "Bearer not-a-token".to_owned(),
            format!("Bearer {}", "a".repeat(5000)),
            format!("Basic {}", URL_SAFE_NO_PAD.encode("ada:correct horse battery")),
            "Bearer".to_owned(),
        ];
        for authorization in forged {
            let response = client
                .request_with("POST", "/api/posts", Some(r#"{"title":"forged"}"#), &[&format!("Authorization: {authorization}")])
                .await;
            assert_eq!(response.status, 401, "{authorization}");
            let challenge = response.header("www-authenticate").unwrap();
            assert!(challenge.starts_with("Bearer") && challenge.contains("invalid_token"));
        }
        let list = client.request("GET", "/api/posts", None).await;
        assert_eq!(list.json(), serde_json::json!([]), "nothing written");
    })

    token_needs_the_right_password(AppConfig::new().unwrap(), |fixture| {
        let mut client = fixture.browser();
        assert_eq!(client.request("POST", "/api/register", Some(ACCOUNT)).await.status, 201);
        let wrong = client
            .request("POST", "/api/token", Some(r#"{"identifier":"ada","password":"wrong password"}"#))
            .await;
        assert_eq!(wrong.status, 401);
        let injected = client
            .request("POST", "/api/token", Some(r#"{"identifier":"ada","password":{"$ne":""}}"#))
            .await;
        assert_eq!((injected.status, injected.json()["field"].as_str()), (400, Some("password")));
    })
}
