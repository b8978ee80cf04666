//! A login for an account that does not exist costs the same Argon2 work as
//! one with a wrong password, so response times do not reveal which
//! accounts exist.
//!
//! Measured as work, not time (no wall clock in tests): the Argon2 blocks
//! each login filled, which a dummy hash that skipped the work (an empty or
//! malformed one) would not fill. This file holds a single test so that no
//! other test in the same process moves the counter.

mod common;

use common::fixture::Fixture;
use groundup::app::AppConfig;
use groundup::session::password;
use groundup::session::throttle::LoginLimits;

#[tokio::test]
async fn unknown_account_costs_one_full_argon2_hash_like_a_known_one() {
    // Two wrong logins in a row from one address: faster than the default
    // pace (one failure per address every two seconds) lets through.
    let config = AppConfig {
        logins: LoginLimits {
            address_pace: 2,
            ..LoginLimits::default()
        },
        ..AppConfig::new().unwrap()
    };
    let fixture = Fixture::embedded(config).await;
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
        let before = password::blocks_filled();
        let body = format!(r#"{{"identifier":"{identifier}","password":"wrong password"}}"#);
        let response = browser.request("POST", "/api/login", Some(&body)).await;
        assert_eq!(response.status, 401);
        assert_eq!(
            password::blocks_filled() - before,
            password::BLOCKS_PER_HASH,
            "{identifier}: one full Argon2 hash at our parameters"
        );
    }
    fixture.finish().await;
}
