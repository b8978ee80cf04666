//! A login for an account that does not exist costs the same Argon2 work as
//! one with a wrong password, so response times do not reveal which
//! accounts exist.
//!
//! Measured by counting verifications, not by timing (no wall clock in
//! tests). This file holds a single test so that no other test in the same
//! process moves the counter.

mod common;

use common::fixture::Fixture;
use groundup::app::AppConfig;
use groundup::session::password;

#[tokio::test]
async fn unknown_account_costs_one_argon2_verification_like_a_known_one() {
    let fixture = Fixture::embedded(AppConfig::new().unwrap()).await;
    let mut browser = fixture.browser();
    let account = r#"{"username":"ada","password":"correct horse battery"}"#;
    assert_eq!(
        browser
            .request("POST", "/api/register", Some(account))
            .await
            .status,
        201
    );

    for identifier in ["ada", "nobody"] {
        let before = password::verifications();
        let body = format!(r#"{{"identifier":"{identifier}","password":"wrong password"}}"#);
        let response = browser.request("POST", "/api/login", Some(&body)).await;
        assert_eq!(response.status, 401);
        assert_eq!(password::verifications() - before, 1, "{identifier}");
    }
    fixture.finish().await;
}
