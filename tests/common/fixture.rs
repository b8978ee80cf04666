//! A server on a chosen backend and a browser-like client with a cookie jar,
//! shared by the API tests, and `on_both_stores!`, which writes each case
//! once and runs it on the embedded store and on MongoDB.

use std::sync::Arc;

use groundup::app::{App, AppConfig};
use groundup::http::Limits;
use groundup::store::Store;

use super::store_support;
use super::{Client, RawResponse, TestServer};

/// A server on one backend, with its store reachable for inspection.
pub struct Fixture {
    pub server: TestServer,
    pub store: Arc<Store>,
    _dir: Option<store_support::TempDir>,
    mongo_database: Option<String>,
}

impl Fixture {
    pub async fn embedded(config: AppConfig) -> Fixture {
        let (store, dir) = store_support::embedded_store().await;
        Fixture::serve(Arc::new(store), config, Some(dir), None).await
    }

    pub async fn mongo(config: AppConfig, test: &str) -> Option<Fixture> {
        let uri = store_support::mongo_uri(test)?;
        let (store, database) = store_support::mongo_store(&uri).await;
        Some(Fixture::serve(Arc::new(store), config, None, Some(database)).await)
    }

    pub async fn serve(
        store: Arc<Store>,
        config: AppConfig,
        dir: Option<store_support::TempDir>,
        mongo_database: Option<String>,
    ) -> Fixture {
        let app = App::new(Arc::clone(&store), config).unwrap();
        let server = TestServer::start(app, Limits::default()).await;
        Fixture {
            server,
            store,
            _dir: dir,
            mongo_database,
        }
    }

    pub async fn finish(self) {
        if let Some(database) = &self.mongo_database {
            store_support::drop_database(&self.store, database).await;
        }
    }

    pub fn browser(&self) -> Browser {
        Browser {
            fixture_addr: self.server.addr,
            cookies: Vec::new(),
            headers: Vec::new(),
        }
    }
}

/// A client with a cookie jar, as a browser (or `curl -c/-b`) keeps one.
pub struct Browser {
    fixture_addr: std::net::SocketAddr,
    pub cookies: Vec<(String, String)>,
    /// Extra header lines sent with every request.
    pub headers: Vec<String>,
}

impl Browser {
    pub async fn request(&mut self, method: &str, path: &str, json: Option<&str>) -> RawResponse {
        self.request_with(method, path, json, &[]).await
    }

    pub async fn request_with(
        &mut self,
        method: &str,
        path: &str,
        json: Option<&str>,
        extra: &[&str],
    ) -> RawResponse {
        self.send(
            method,
            path,
            json.map(|json| ("application/json", json)),
            extra,
        )
        .await
    }

    pub async fn form(&mut self, path: &str, body: &str) -> RawResponse {
        self.send(
            "POST",
            path,
            Some(("application/x-www-form-urlencoded", body)),
            &[],
        )
        .await
    }

    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<(&str, &str)>,
        extra: &[&str],
    ) -> RawResponse {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: t\r\n");
        if !self.cookies.is_empty() {
            let pairs: Vec<String> = self
                .cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            head.push_str(&format!("Cookie: {}\r\n", pairs.join("; ")));
        }
        for line in self
            .headers
            .iter()
            .map(String::as_str)
            .chain(extra.iter().copied())
        {
            head.push_str(line);
            head.push_str("\r\n");
        }
        let (content_type, body) = body.unwrap_or_default();
        if !content_type.is_empty() {
            head.push_str(&format!(
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        let mut stream = tokio::net::TcpStream::connect(self.fixture_addr)
            .await
            .unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut stream, format!("{head}{body}").as_bytes())
            .await
            .unwrap();
        let mut client = Client::from_stream(stream);
        let response = client.response().await;
        self.store_cookies(&response);
        response
    }

    /// Applies every Set-Cookie: a new value replaces, `Max-Age=0` removes.
    pub fn store_cookies(&mut self, response: &RawResponse) {
        for (name, value) in &response.headers {
            if name != "set-cookie" {
                continue;
            }
            let pair = value.split(';').next().unwrap();
            let (cookie, cookie_value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(existing, _)| existing != cookie);
            if !value.contains("Max-Age=0") {
                self.cookies
                    .push((cookie.to_owned(), cookie_value.to_owned()));
            }
        }
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(cookie, _)| cookie == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Registers `name` (password `correct horse battery`), logs in, and has the
/// browser send our Origin from then on, as a same-origin page would.
pub async fn logged_in(fixture: &Fixture, name: &str) -> Browser {
    let mut browser = fixture.browser();
    let account = format!(r#"{{"username":"{name}","password":"correct horse battery"}}"#);
    let created = browser
        .request("POST", "/api/register", Some(&account))
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let login = format!(r#"{{"identifier":"{name}","password":"correct horse battery"}}"#);
    let logged_in = browser.request("POST", "/api/login", Some(&login)).await;
    assert_eq!(logged_in.status, 200, "{}", logged_in.text());
    browser.headers.push("Origin: http://t".to_owned());
    browser
}

/// Creates a post and returns its id.
pub async fn create_post(browser: &mut Browser, json: &str) -> String {
    let response = browser.request("POST", "/api/posts", Some(json)).await;
    assert_eq!(response.status, 201, "{}", response.text());
    response.json()["id"].as_str().unwrap().to_owned()
}

/// Declares each case once and generates `embedded::<case>` and `mongo::<case>`.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident($config:expr, |$fixture:ident| $body:block))*) => {
        mod embedded {
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    let $fixture = Fixture::embedded($config).await;
                    $body
                    $fixture.finish().await;
                }
            )*
        }
        mod mongo {
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    let Some($fixture) = Fixture::mongo($config, stringify!($name)).await else {
                        return;
                    };
                    $body
                    $fixture.finish().await;
                }
            )*
        }
    };
}
