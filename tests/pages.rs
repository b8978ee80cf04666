//! The browser pages over real TCP: Post/Redirect/Get, flash notes, CSRF
//! refusals as pages, and escaping. Requests are written the way a browser
//! sends a form (`application/x-www-form-urlencoded`, an `Origin`), and
//! cookies are carried by hand, so each test shows the exchange it checks.

mod common;

use common::{RawResponse, TestServer};
use groundup::app::AppConfig;
use groundup::http::Limits;

/// What a browser on the page's own origin sends with a form post.
fn same_origin(server: &TestServer) -> String {
    format!("http://{}", server.addr)
}

/// A server on a fresh embedded store.
async fn start() -> TestServer {
    TestServer::app(AppConfig::new().unwrap(), Limits::default()).await
}

/// Sends one request on a new connection. `cookies` is the `Cookie` value
/// (empty for none); a non-empty `form` is sent form-encoded.
async fn send(
    server: &TestServer,
    method: &str,
    target: &str,
    cookies: &str,
    origin: Option<&str>,
    form: &str,
) -> RawResponse {
    let mut request = format!("{method} {target} HTTP/1.1\r\nHost: {}\r\n", server.addr);
    if !cookies.is_empty() {
        request.push_str(&format!("Cookie: {cookies}\r\n"));
    }
    if let Some(origin) = origin {
        request.push_str(&format!("Origin: {origin}\r\n"));
    }
    if method == "POST" {
        request.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            form.len()
        ));
    }
    request.push_str("Connection: close\r\n\r\n");
    request.push_str(form);
    let mut client = server.connect().await;
    client.send(request.as_bytes()).await;
    client.response().await
}

async fn get(server: &TestServer, target: &str, cookies: &str) -> RawResponse {
    send(server, "GET", target, cookies, None, "").await
}

async fn post(server: &TestServer, target: &str, cookies: &str, form: &str) -> RawResponse {
    let origin = same_origin(server);
    send(server, "POST", target, cookies, Some(&origin), form).await
}

/// Every `Set-Cookie` value of a response.
fn set_cookies(response: &RawResponse) -> Vec<&str> {
    response
        .headers
        .iter()
        .filter(|(name, _)| name == "set-cookie")
        .map(|(_, value)| value.as_str())
        .collect()
}

/// The `name=value` pair a response sets for cookie `name`, as a browser
/// would send it back.
fn cookie_pair(response: &RawResponse, name: &str) -> Option<String> {
    set_cookies(response).into_iter().find_map(|value| {
        let pair = value.split(';').next()?;
        pair.starts_with(&format!("{name}="))
            .then(|| pair.to_owned())
    })
}

fn assert_redirect(response: &RawResponse, location: &str) {
    assert_eq!(response.status, 303, "{}", response.text());
    assert_eq!(response.header("location"), Some(location));
}

const PASSWORD: &str = "correct+horse+battery";

async fn register(server: &TestServer, username: &str) {
    let form = format!("username={username}&password={PASSWORD}&email=");
    let response = post(server, "/register", "", &form).await;
    assert_redirect(&response, "/login");
}

/// Logs in and returns the session cookie pair.
async fn log_in(server: &TestServer, username: &str) -> String {
    let form = format!("identifier={username}&password={PASSWORD}&next=%2Fme");
    let response = post(server, "/login", "", &form).await;
    assert_redirect(&response, "/me");
    cookie_pair(&response, "__Host-session").expect("a session cookie")
}

/// Follows a form's `303` to `location` as a browser would, sending back
/// the flash cookie it set; the text of the page that shows the note.
async fn follow(server: &TestServer, response: &RawResponse, location: &str) -> String {
    assert_redirect(response, location);
    let flash = cookie_pair(response, "__Host-flash").expect("a flash cookie");
    get(server, location, &flash).await.text()
}

/// The CSRF token the "me" page puts in its forms.
async fn csrf_token(server: &TestServer, session: &str) -> String {
    let page = get(server, "/me", session).await.text();
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.find(marker).expect("a token field") + marker.len();
    page[start..start + 64].to_owned()
}

#[tokio::test]
async fn home_is_html_with_login_and_register_links() {
    let server = start().await;
    let response = get(&server, "/", "").await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(
        response
            .header("content-security-policy")
            .is_some_and(|policy| policy.contains("default-src 'self'"))
    );
    let page = response.text();
    assert!(page.contains("href=\"/login\"") && page.contains("href=\"/register\""));
    assert!(page.contains("<code id=\"hood-request\">GET / HTTP/1.1</code>"));
}

#[tokio::test]
async fn stylesheet_is_served_from_our_origin() {
    let server = start().await;
    let response = get(&server, "/static/style.css", "").await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/css; charset=utf-8")
    );
    assert!(response.text().contains(".hood"));
}

#[tokio::test]
async fn registration_redirects_and_the_next_page_shows_the_note_once() {
    let server = start().await;
    let response = post(
        &server,
        "/register",
        "",
        "username=ada&password=correct+horse+battery&email=ada%40example.test",
    )
    .await;
    assert_redirect(&response, "/login");
    let flash = cookie_pair(&response, "__Host-flash").expect("a flash cookie");
    assert!(set_cookies(&response)[0].contains("Max-Age=60; Secure; HttpOnly; SameSite=Lax"));

    let page = get(&server, "/login", &flash).await;
    assert_eq!(page.status, 200);
    let text = page.text();
    assert!(text.contains("Account ada created"), "{text}");
    assert!(text.contains("name=\"identifier\""));
    assert!(
        text.contains("value=\"ada\""),
        "the identifier is filled in"
    );
    assert!(
        text.contains("POST /register HTTP/1.1"),
        "the redirect's note"
    );
    // Read once: the page that showed it removes it.
    assert!(
        set_cookies(&page)
            .iter()
            .any(|value| value.starts_with("__Host-flash=; ") && value.contains("Max-Age=0"))
    );
}

#[tokio::test]
async fn invalid_registration_goes_back_to_the_form_with_a_note() {
    let server = start().await;
    let response = post(&server, "/register", "", "username=a&password=x&email=").await;
    let page = follow(&server, &response, "/register").await;
    assert!(page.contains("username: must be 3 to 32"), "{page}");
}

#[tokio::test]
async fn over_long_username_is_refused_by_the_server() {
    let server = start().await;
    let long = "a".repeat(40);
    let form = format!("username={long}&password={PASSWORD}&email=");
    let response = post(&server, "/register", "", &form).await;
    let page = follow(&server, &response, "/register").await;
    assert!(page.contains("username: must be 3 to 32"));
}

#[tokio::test]
async fn submitting_the_registration_twice_says_taken() {
    let server = start().await;
    register(&server, "ada").await;
    let form = format!("username=ada&password={PASSWORD}&email=");
    let again = post(&server, "/register", "", &form).await;
    let page = follow(&server, &again, "/register").await;
    assert!(page.contains("username: is already taken"), "{page}");
}

#[tokio::test]
async fn login_redirects_to_next_and_sets_the_session_cookie() {
    let server = start().await;
    register(&server, "ada").await;
    let form = format!("identifier=ada&password={PASSWORD}&next=%2Fme");
    let response = post(&server, "/login", "", &form).await;
    assert_redirect(&response, "/me");
    let set = set_cookies(&response);
    let session = set
        .iter()
        .find(|value| value.starts_with("__Host-session="))
        .expect("a session cookie");
    assert!(session.ends_with("; Path=/; Max-Age=43200; Secure; HttpOnly; SameSite=Lax"));
}

#[tokio::test]
async fn next_cannot_lead_off_the_site() {
    let server = start().await;
    register(&server, "ada").await;
    let form = format!("identifier=ada&password={PASSWORD}&next=%2F%2Fevil.test%2F");
    let response = post(&server, "/login", "", &form).await;
    assert_redirect(&response, "/me");
}

#[tokio::test]
async fn wrong_password_goes_back_to_the_login_form() {
    let server = start().await;
    register(&server, "ada").await;
    let response = post(
        &server,
        "/login",
        "",
        "identifier=ada&password=wrong+password&next=%2Fme",
    )
    .await;
    assert!(cookie_pair(&response, "__Host-session").is_none());
    let page = follow(&server, &response, "/login?next=%2Fme").await;
    assert!(page.contains("Wrong username or password."));
}

#[tokio::test]
async fn pages_that_need_a_session_redirect_to_login() {
    let server = start().await;
    for (page, next) in [("/me", "%2Fme"), ("/posts/new", "%2Fposts%2Fnew")] {
        let response = get(&server, page, "").await;
        assert_redirect(&response, &format!("/login?next={next}"));
    }
}

#[tokio::test]
async fn me_shows_the_user_and_masks_the_session_id() {
    let server = start().await;
    register(&server, "ada").await;
    let session = log_in(&server, "ada").await;
    let id = session.trim_start_matches("__Host-session=");
    let response = get(&server, "/me", &session).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let page = response.text();
    assert!(page.contains("<h1>ada</h1>"));
    assert!(page.contains(&format!("__Host-session={}…", &id[..6])));
    assert!(!page.contains(id), "the full session id never appears");
    assert!(page.contains("<dd id=\"me-others\">0</dd>"));
}

#[tokio::test]
async fn post_without_a_session_is_401_with_the_login_form() {
    let server = start().await;
    let response = post(&server, "/logout-all", "", "csrf_token=x").await;
    assert_eq!(response.status, 401);
    assert!(response.header("www-authenticate").is_some());
    assert!(response.text().contains("action=\"/login\""));
}

#[tokio::test]
async fn stale_csrf_token_is_403_even_from_our_own_origin() {
    let server = start().await;
    register(&server, "ada").await;
    let first = log_in(&server, "ada").await;
    let stale = csrf_token(&server, &first).await;
    // Logged in again (say, in another tab): a new session, a new token.
    let second = log_in(&server, "ada").await;
    let response = post(&server, "/logout", &second, &format!("csrf_token={stale}")).await;
    assert_eq!(response.status, 403);
    assert!(response.text().contains("earlier session"));
    // Refused means refused: the session is still there.
    assert_eq!(get(&server, "/me", &second).await.status, 200);
}

#[tokio::test]
async fn form_without_a_token_is_403() {
    let server = start().await;
    register(&server, "ada").await;
    let session = log_in(&server, "ada").await;
    let response = post(&server, "/logout", &session, "").await;
    assert_eq!(response.status, 403);
    assert!(response.text().contains("no CSRF token"));
}

#[tokio::test]
async fn forms_posted_from_another_origin_are_403() {
    let server = start().await;
    register(&server, "ada").await;
    let session = log_in(&server, "ada").await;
    let token = csrf_token(&server, &session).await;
    let evil = Some("http://evil.test");
    let form = format!("csrf_token={token}");
    let response = send(&server, "POST", "/logout-all", &session, evil, &form).await;
    assert_eq!(response.status, 403);
    assert!(response.text().contains("Origin: http://evil.test"));
    let login = format!("identifier=ada&password={PASSWORD}");
    let response = send(&server, "POST", "/login", "", evil, &login).await;
    assert_eq!(response.status, 403);
    assert!(cookie_pair(&response, "__Host-session").is_none());
}

#[tokio::test]
async fn logout_ends_the_session_and_removes_the_cookie() {
    let server = start().await;
    register(&server, "ada").await;
    let session = log_in(&server, "ada").await;
    let token = csrf_token(&server, &session).await;
    let response = post(&server, "/logout", &session, &format!("csrf_token={token}")).await;
    assert_redirect(&response, "/login");
    assert!(
        set_cookies(&response)
            .iter()
            .any(|value| value.starts_with("__Host-session=; ") && value.contains("Max-Age=0"))
    );
    // The old cookie names nothing now: the page sends the browser to log
    // in and clears it.
    let response = get(&server, "/me", &session).await;
    assert_redirect(&response, "/login?next=%2Fme");
    assert!(cookie_pair(&response, "__Host-session").is_some_and(|pair| pair.ends_with('=')));
}

#[tokio::test]
async fn logout_everywhere_ends_every_session() {
    let server = start().await;
    register(&server, "ada").await;
    let laptop = log_in(&server, "ada").await;
    let phone = log_in(&server, "ada").await;
    let page = get(&server, "/me", &phone).await.text();
    assert!(page.contains("<dd id=\"me-others\">1</dd>"));
    let token = csrf_token(&server, &phone).await;
    let response = post(
        &server,
        "/logout-all",
        &phone,
        &format!("csrf_token={token}"),
    )
    .await;
    assert_redirect(&response, "/login");
    assert_redirect(&get(&server, "/me", &laptop).await, "/login?next=%2Fme");
}

#[tokio::test]
async fn script_in_any_value_is_rendered_as_text() {
    let server = start().await;
    // In an email (valid: the address check is not about HTML).
    let form = format!(
        "username=mallory&password={PASSWORD}&email=%3Cscript%3Ealert(1)%3C%2Fscript%3E%40evil.test"
    );
    assert_redirect(&post(&server, "/register", "", &form).await, "/login");
    let session = log_in(&server, "mallory").await;
    let me = get(&server, "/me", &session).await.text();
    assert!(me.contains("&#60;script&#62;alert(1)&#60;/script&#62;@evil.test"));

    // In a username (refused, and shown again in the form's value).
    let form = format!("username=%3Cscript%3Ealert(2)%3C%2Fscript%3E&password={PASSWORD}");
    let response = post(&server, "/register", "", &form).await;
    let form_again = follow(&server, &response, "/register").await;
    assert!(form_again.contains("value=\"&#60;script&#62;alert(2)&#60;/script&#62;\""));

    // In the query string: `next` is a local path, so the form keeps it.
    let login = get(
        &server,
        "/login?next=/%3Cscript%3Ealert(3)%3C/script%3E",
        "",
    )
    .await;
    let login = login.text();
    assert!(login.contains("value=\"/&#60;script&#62;alert(3)&#60;/script&#62;\""));

    for page in [me, form_again, login] {
        assert!(!page.contains("<script"), "{page}");
    }
}

/// Registers `username` and logs them in; the session cookie pair.
async fn new_user(server: &TestServer, username: &str) -> String {
    register(server, username).await;
    log_in(server, username).await
}

/// Publishes a post through the form; the `/posts/{id}` it redirects to.
async fn publish(server: &TestServer, session: &str, form: &str) -> String {
    let token = csrf_token(server, session).await;
    let response = post(
        server,
        "/posts/new",
        session,
        &format!("csrf_token={token}&{form}"),
    )
    .await;
    assert_eq!(response.status, 303, "{}", response.text());
    let location = response.header("location").expect("a Location").to_owned();
    assert!(location.starts_with("/posts/"), "{location}");
    location
}

#[tokio::test]
async fn publishing_redirects_to_the_post_and_home_lists_it() {
    let server = start().await;
    let session = new_user(&server, "ada").await;
    let token = csrf_token(&server, &session).await;
    let form = format!(
        "csrf_token={token}&title=Hello&body=line+one%0D%0Aline+two&tags=intro%2C+rust%2C+"
    );
    let response = post(&server, "/posts/new", &session, &form).await;
    let location = response.header("location").expect("a Location").to_owned();
    let page = follow(&server, &response, &location).await;
    assert!(page.contains("Post published."));
    assert!(page.contains("<h1 id=\"post-title\">Hello</h1>"));
    assert!(page.contains("line one\r\nline two"), "{page}");
    assert!(page.contains("<li>intro</li>") && page.contains("<li>rust</li>"));
    // Anyone may read it; only the author sees the Edit link.
    let anonymous = get(&server, &location, "").await;
    assert_eq!(anonymous.status, 200);
    assert!(!anonymous.text().contains("id=\"edit\""));
    assert!(
        get(&server, &location, &session)
            .await
            .text()
            .contains("id=\"edit\"")
    );
    let home = get(&server, "/", "").await.text();
    assert!(home.contains(&format!(
        "<a href=\"{location}\"><strong>Hello</strong></a>"
    )));
    assert!(home.contains("by ada"));
}

#[tokio::test]
async fn home_lists_the_twenty_newest_first() {
    let server = start().await;
    let session = new_user(&server, "ada").await;
    for number in 1..=21 {
        publish(&server, &session, &format!("title=post-{number:02}")).await;
    }
    let home = get(&server, "/", "").await.text();
    assert!(!home.contains("post-01<"), "the oldest is not listed");
    let newest = home.find("post-21<").expect("the newest");
    let older = home.find("post-20<").expect("the next");
    assert!(newest < older);
}

#[tokio::test]
async fn refused_post_goes_back_to_the_form_filled_in() {
    let server = start().await;
    let session = new_user(&server, "ada").await;
    let token = csrf_token(&server, &session).await;
    let long = "x".repeat(201);
    for (title, message) in [
        (long.as_str(), "title: must be 1 to 200 characters"),
        ("", "title: must be 1 to 200 characters"),
    ] {
        let form = format!("csrf_token={token}&title={title}&body=kept+body&tags=a");
        let response = post(&server, "/posts/new", &session, &form).await;
        let flash = cookie_pair(&response, "__Host-flash").expect("a flash cookie");
        assert_redirect(&response, "/posts/new");
        let page = get(&server, "/posts/new", &format!("{session}; {flash}"))
            .await
            .text();
        assert!(page.contains(message), "{page}");
        assert!(page.contains(">kept body</textarea>"));
    }
}

#[tokio::test]
async fn script_in_a_title_is_shown_as_text() {
    let server = start().await;
    let session = new_user(&server, "ada").await;
    let location = publish(
        &server,
        &session,
        "title=%3Cscript%3Ealert(1)%3C%2Fscript%3E&body=%3Cb%3Ehi%3C%2Fb%3E",
    )
    .await;
    for page in [
        get(&server, &location, "").await.text(),
        get(&server, "/", "").await.text(),
    ] {
        assert!(!page.contains("<script>"), "{page}");
        assert!(
            page.contains("&#60;script&#62;alert(1)") || page.contains("&lt;script&gt;alert(1)")
        );
    }
}

#[tokio::test]
async fn the_author_edits_and_others_get_403() {
    let server = start().await;
    register(&server, "ada").await;
    register(&server, "bob").await;
    let ada = log_in(&server, "ada").await;
    let bob = log_in(&server, "bob").await;
    let location = publish(&server, &ada, "title=Draft&body=old&tags=a").await;
    let edit = format!("{location}/edit");
    // The form comes filled with the post.
    let form_page = get(&server, &edit, &ada).await.text();
    assert!(form_page.contains("value=\"Draft\"") && form_page.contains(">old</textarea>"));
    // Another user: the 403 page, for the form and for the post.
    assert_eq!(get(&server, &edit, &bob).await.status, 403);
    let bob_token = csrf_token(&server, &bob).await;
    let form = format!("csrf_token={bob_token}&title=Mine&body=&tags=");
    let refused = post(&server, &edit, &bob, &form).await;
    assert_eq!(refused.status, 403);
    assert!(refused.text().contains("Only the author"));
    // Nobody: the login form.
    assert_redirect(
        &get(&server, &edit, "").await,
        &format!("/login?next={}", edit.replace('/', "%2F")),
    );
    // The author's edit lands, with an edited time.
    let token = csrf_token(&server, &ada).await;
    let form = format!("csrf_token={token}&title=Final&body=new&tags=b%2Cc");
    let response = post(&server, &edit, &ada, &form).await;
    let page = follow(&server, &response, &location).await;
    assert!(page.contains("Post saved."));
    assert!(page.contains("<h1 id=\"post-title\">Final</h1>") && page.contains("; edited "));
    assert!(page.contains("<li>b</li>") && !page.contains("<li>a</li>"));
    // The API sees the same post.
    let json = get(&server, &location.replace("/posts/", "/api/posts/"), "")
        .await
        .text();
    assert!(json.contains("\"title\":\"Final\"") && json.contains("updated_at"));
}

#[tokio::test]
async fn stale_csrf_token_cannot_publish() {
    let server = start().await;
    register(&server, "ada").await;
    let first = log_in(&server, "ada").await;
    let stale = csrf_token(&server, &first).await;
    let second = log_in(&server, "ada").await;
    let form = format!("csrf_token={stale}&title=Nope");
    let response = post(&server, "/posts/new", &second, &form).await;
    assert_eq!(response.status, 403);
    assert!(!get(&server, "/", "").await.text().contains("Nope"));
}

#[tokio::test]
async fn missing_post_is_404_and_malformed_id_is_400() {
    let server = start().await;
    let missing = get(&server, "/posts/0123456789abcdef01234567", "").await;
    assert_eq!(missing.status, 404);
    assert!(missing.text().contains("no post with this id"));
    assert_eq!(get(&server, "/posts/nope", "").await.status, 400);
    assert_eq!(get(&server, "/posts/nope/edit", "").await.status, 400);
}
