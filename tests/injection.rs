//! NoSQL injection: payloads that turn a login or a query into something else
//! when a server passes client JSON to MongoDB as it came.
//!
//! The classic is `{"username": {"$ne": null}, "password": {"$ne": null}}`:
//! handed to `find_one` as a filter it matches the first user whose fields
//! are "not null", and a careless login is bypassed. Form bodies do the same
//! with `username[$ne]=` once a framework turns brackets into objects. Here no
//! client JSON ever becomes a filter (fields are read one by one, typed, and
//! unknown ones refused), and this corpus is the proof: every payload below is
//! answered with the status it lists, and afterwards nobody is logged in who
//! should not be, and nothing of the victim's has changed.
//!
//! The fixture has a victim (`ada`, with a post) and an attacker (`mallory`,
//! logged in, with a post of her own to aim update operators at). `{ada_post}`,
//! `{mallory_post}` and `{ada_id}` in a case are replaced by the real ids.

mod common;

use common::RawResponse;
use common::fixture::{Browser, Fixture};
use groundup::app::AppConfig;

const ORIGIN: &str = "Origin: http://t";
const PASSWORD: &str = "correct horse battery";
const ADA_TITLE: &str = "ada's post";
const ADA_BODY: &str = "written by ada";

#[derive(Clone, Copy)]
enum Who {
    Anonymous,
    Mallory,
}

#[derive(Clone, Copy)]
enum Encoding {
    Json,
    Form,
    None,
}

struct Case {
    name: &'static str,
    who: Who,
    method: &'static str,
    path: &'static str,
    encoding: Encoding,
    body: &'static str,
    /// The statuses that are right for this case.
    expect: &'static [u16],
}

const fn case(
    name: &'static str,
    who: Who,
    method: &'static str,
    path: &'static str,
    encoding: Encoding,
    body: &'static str,
    expect: &'static [u16],
) -> Case {
    Case {
        name,
        who,
        method,
        path,
        encoding,
        body,
        expect,
    }
}

use Encoding::{Form, Json};
use Who::{Anonymous, Mallory};

const BAD: &[u16] = &[400];
const DENIED: &[u16] = &[401];
const REFUSED: &[u16] = &[400, 401];
const FORBIDDEN: &[u16] = &[403];

#[rustfmt::skip]
const CASES: &[Case] = &[
    // --- login: operator objects where strings belong -------------------------------
    case("login: $ne on both", Anonymous, "POST", "/api/login", Json, r#"{"identifier":{"$ne":null},"password":{"$ne":null}}"#, BAD),
    case("login: $ne password", Anonymous, "POST", "/api/login", Json, r#"{"identifier":"ada","password":{"$ne":null}}"#, BAD),
    case("login: $gt identifier", Anonymous, "POST", "/api/login", Json, r#"{"identifier":{"$gt":""},"password":"x"}"#, BAD),
    case("login: $regex identifier", Anonymous, "POST", "/api/login", Json, r#"{"identifier":{"$regex":".*"},"password":"x"}"#, BAD),
    case("login: $regex password", Anonymous, "POST", "/api/login", Json, r#"{"identifier":"ada","password":{"$regex":".*"}}"#, BAD),
    case("login: $in identifier", Anonymous, "POST", "/api/login", Json, r#"{"identifier":{"$in":["ada","mallory"]},"password":"x"}"#, BAD),
    case("login: $exists password", Anonymous, "POST", "/api/login", Json, r#"{"identifier":"ada","password":{"$exists":true}}"#, BAD),
    case("login: $expr", Anonymous, "POST", "/api/login", Json, r#"{"identifier":{"$expr":{"$eq":[1,1]}},"password":"x"}"#, BAD),
    case("login: $function", Anonymous, "POST", "/api/login", Json, r#"{"identifier":{"$function":{"body":"return true","args":[],"lang":"js"}},"password":"x"}"#, BAD),
    case("login: top-level $where", Anonymous, "POST", "/api/login", Json, r#"{"identifier":"ada","password":"x","$where":"1 == 1"}"#, BAD),
    case("login: only $where", Anonymous, "POST", "/api/login", Json, r#"{"$where":"this.password.length > 0"}"#, BAD),
    case("login: $or at the top", Anonymous, "POST", "/api/login", Json, r#"{"$or":[{"identifier":"ada"},{"1":"1"}],"password":"x"}"#, BAD),
    case("login: array identifier", Anonymous, "POST", "/api/login", Json, r#"{"identifier":["ada"],"password":"correct horse battery"}"#, BAD),
    case("login: array password", Anonymous, "POST", "/api/login", Json, r#"{"identifier":"ada","password":["correct horse battery"]}"#, BAD),
    case("login: boolean password", Anonymous, "POST", "/api/login", Json, r#"{"identifier":"ada","password":true}"#, BAD),
    case("login: null password", Anonymous, "POST", "/api/login", Json, r#"{"identifier":"ada","password":null}"#, BAD),
    case("login: number password", Anonymous, "POST", "/api/login", Json, r#"{"identifier":"ada","password":0}"#, BAD),
    case("login: dotted key", Anonymous, "POST", "/api/login", Json, r#"{"identifier.$ne":"x","password":"x"}"#, BAD),
    case("login: __proto__", Anonymous, "POST", "/api/login", Json, r#"{"__proto__":{"admin":true},"identifier":"ada","password":"x"}"#, BAD),
    case("login: constructor.prototype", Anonymous, "POST", "/api/login", Json, r#"{"constructor":{"prototype":{"admin":true}},"identifier":"ada","password":"x"}"#, BAD),
    case("login: duplicate password key", Anonymous, "POST", "/api/login", Json, r#"{"identifier":"ada","password":"x","password":{"$ne":null}}"#, BAD),
    case("login: escaped $ne is a plain string", Anonymous, "POST", "/api/login", Json, r#"{"identifier":"\u0024ne","password":"x"}"#, DENIED),
    case("login: quote injection in identifier", Anonymous, "POST", "/api/login", Json, r#"{"identifier":"ada' || '1'=='1","password":"x"}"#, DENIED),
    case("login: quote injection in password", Anonymous, "POST", "/api/login", Json, r#"{"identifier":"ada","password":"' || '1'=='1"}"#, DENIED),
    case("login: NUL after identifier", Anonymous, "POST", "/api/login", Json, r#"{"identifier":"ada\u0000","password":"correct horse battery"}"#, REFUSED),
    case("login: deep nesting", Anonymous, "POST", "/api/login", Json, r#"{"identifier":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[{"$ne":null}]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],"password":"x"}"#, BAD),
    case("login form: $ne brackets", Anonymous, "POST", "/api/login", Form, "identifier[$ne]=x&password[$ne]=x", BAD),
    case("login form: $regex password", Anonymous, "POST", "/api/login", Form, "identifier=ada&password[$regex]=.*", BAD),
    case("login form: array brackets", Anonymous, "POST", "/api/login", Form, "identifier[]=ada&password=x", BAD),
    case("login form: $gt encoded", Anonymous, "POST", "/api/login", Form, "identifier%5B%24gt%5D=&password=x", BAD),
    case("login form: $where field", Anonymous, "POST", "/api/login", Form, "identifier=ada&password=x&$where=1", BAD),
    case("login form: NUL password", Anonymous, "POST", "/api/login", Form, "identifier=ada&password=%00", DENIED),
    // --- register: operators and mass assignment -----------------------------------
    case("register: $ne username", Anonymous, "POST", "/api/register", Json, r#"{"username":{"$ne":null},"password":"correct horse battery"}"#, BAD),
    case("register: $ne email", Anonymous, "POST", "/api/register", Json, r#"{"username":"eve","password":"correct horse battery","email":{"$ne":null}}"#, BAD),
    case("register: admin flag", Anonymous, "POST", "/api/register", Json, r#"{"username":"eve","password":"correct horse battery","admin":true}"#, BAD),
    case("register: role", Anonymous, "POST", "/api/register", Json, r#"{"username":"eve","password":"correct horse battery","role":"admin"}"#, BAD),
    case("register: own _id", Anonymous, "POST", "/api/register", Json, r#"{"username":"eve","password":"correct horse battery","_id":{"$oid":"000000000000000000000000"}}"#, BAD),
    case("register: password_hash", Anonymous, "POST", "/api/register", Json, r#"{"username":"eve","password":"correct horse battery","password_hash":"x"}"#, BAD),
    case("register: $ username", Anonymous, "POST", "/api/register", Json, r#"{"username":"$where","password":"correct horse battery"}"#, BAD),
    case("register: a dotted value is only a name", Anonymous, "POST", "/api/register", Json, r#"{"username":"a.b","password":"correct horse battery"}"#, &[201]),
    case("register: taking ada", Anonymous, "POST", "/api/register", Json, r#"{"username":"ada","password":"another horse battery"}"#, &[409]),
    case("register form: $ne brackets", Anonymous, "POST", "/api/register", Form, "username[$ne]=x&password=correct+horse+battery", BAD),
    // --- posts: operators in documents, ids and queries ----------------------------
    case("create: $where field", Mallory, "POST", "/api/posts", Json, r#"{"title":"t","body":"b","$where":"1"}"#, BAD),
    case("create: operator title", Mallory, "POST", "/api/posts", Json, r#"{"title":{"$ne":null},"body":"b"}"#, BAD),
    case("create: own author", Mallory, "POST", "/api/posts", Json, r#"{"title":"t","body":"b","author":"{ada_id}"}"#, BAD),
    case("create: own _id", Mallory, "POST", "/api/posts", Json, r#"{"title":"t","body":"b","_id":{"$ne":null}}"#, BAD),
    case("create: dotted key", Mallory, "POST", "/api/posts", Json, r#"{"title":"t","body":"b","a.b":1}"#, BAD),
    case("create: nested $ key", Mallory, "POST", "/api/posts", Json, r#"{"title":"t","body":"b","meta":{"$gt":1}}"#, BAD),
    case("update: ada's post", Mallory, "PATCH", "/api/posts/{ada_post}", Json, r#"{"$set":{"title":"pwned"}}"#, FORBIDDEN),
    case("update: upsert over ada's post", Mallory, "PATCH", "/api/posts/{ada_post}?upsert=true", Json, r#"{"$set":{"title":"pwned"}}"#, FORBIDDEN),
    case("update: operator id in path", Mallory, "PATCH", "/api/posts/%7B%22%24ne%22%3Anull%7D", Json, r#"{"$set":{"title":"pwned"}}"#, BAD),
    case("update: $where operator", Mallory, "PATCH", "/api/posts/{mallory_post}", Json, r#"{"$where":"1"}"#, BAD),
    case("update: $set author", Mallory, "PATCH", "/api/posts/{mallory_post}", Json, r#"{"$set":{"author":"{ada_id}"}}"#, BAD),
    case("update: $set _id", Mallory, "PATCH", "/api/posts/{mallory_post}", Json, r#"{"$set":{"_id":"{ada_post}"}}"#, BAD),
    case("update: $set $-field", Mallory, "PATCH", "/api/posts/{mallory_post}", Json, r#"{"$set":{"$where":"x"}}"#, BAD),
    case("update: $rename to $-field", Mallory, "PATCH", "/api/posts/{mallory_post}", Json, r#"{"$rename":{"title":"$where"}}"#, BAD),
    case("update: $rename author away", Mallory, "PATCH", "/api/posts/{mallory_post}", Json, r#"{"$rename":{"author":"x"}}"#, BAD),
    case("update: no operator (replacement)", Mallory, "PATCH", "/api/posts/{mallory_post}", Json, r#"{"title":"replaced","author":"{ada_id}"}"#, BAD),
    case("delete: ada's post", Mallory, "DELETE", "/api/posts/{ada_post}", Encoding::None, "", FORBIDDEN),
    case("delete: quote injection id", Mallory, "DELETE", "/api/posts/a'||'1'=='1", Encoding::None, "", BAD),
    case("get: operator id", Anonymous, "GET", "/api/posts/%7B%22%24ne%22%3Anull%7D", Encoding::None, "", BAD),
    case("list: author[$ne]", Anonymous, "GET", "/api/posts?author[$ne]=x", Encoding::None, "", BAD),
    case("list: sort[$where]", Anonymous, "GET", "/api/posts?sort[$where]=1", Encoding::None, "", BAD),
    case("list: limit[$gt]", Anonymous, "GET", "/api/posts?limit[$gt]=0", Encoding::None, "", BAD),
    case("list: $where parameter", Anonymous, "GET", "/api/posts?$where=1", Encoding::None, "", BAD),
    case("list: sort by a field name", Anonymous, "GET", "/api/posts?sort=password_hash", Encoding::None, "", BAD),
];

/// Cases that must list nothing: an operator or a pattern where a literal
/// value belongs matches no post.
#[rustfmt::skip]
const EMPTY_LISTS: &[&str] = &[
    "/api/posts?author=%7B%22%24ne%22%3Anull%7D",
    "/api/posts?author=.*",
    "/api/posts?title_prefix=.*",
    "/api/posts?title_prefix=%5E",
    "/api/posts?tag=%7B%22%24exists%22%3Atrue%7D",
];

on_both_stores! {
    no_injection_payload_gets_through(AppConfig::new().unwrap(), |fixture| {
        let mut ada = account(&fixture, "ada").await;
        let ada_id = ada.request("GET", "/api/me", None).await.json()["user"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let ada_post = create(&mut ada, &format!(r#"{{"title":"{ADA_TITLE}","body":"{ADA_BODY}"}}"#)).await;
        let mut mallory = account(&fixture, "mallory").await;
        let mallory_post = create(&mut mallory, r#"{"title":"mallory's","body":"b"}"#).await;

        let mut failures = Vec::new();
        for case in CASES {
            let fill = |text: &str| {
                text.replace("{ada_post}", &ada_post)
                    .replace("{mallory_post}", &mallory_post)
                    .replace("{ada_id}", &ada_id)
            };
            let mut anonymous = fixture.browser();
            let browser = match case.who {
                Anonymous => &mut anonymous,
                Mallory => &mut mallory,
            };
            let body = fill(case.body);
            let content = match case.encoding {
                Json => Some(("application/json", body.as_str())),
                Form => Some(("application/x-www-form-urlencoded", body.as_str())),
                Encoding::None => None,
            };
            let response = browser.send(case.method, &fill(case.path), content, &[]).await;
            if let Some(failure) = judge(case, &response) {
                failures.push(failure);
            }
        }
        for path in EMPTY_LISTS {
            let response = fixture.browser().request("GET", path, None).await;
            if response.status != 200 || response.json() != serde_json::json!([]) {
                failures.push(format!("{path}: {} {}", response.status, response.text()));
            }
        }
        assert!(failures.is_empty(), "{} injection cases failed:\n{}", failures.len(), failures.join("\n"));

        // Nothing of ada's changed, and she alone can still log in as herself.
        let post = ada.request("GET", &format!("/api/posts/{ada_post}"), None).await.json();
        assert_eq!((post["title"].as_str(), post["body"].as_str()), (Some(ADA_TITLE), Some(ADA_BODY)));
        assert_eq!(post["author"], ada_id.as_str());
        let listed = ada.request("GET", "/api/posts?author=ada", None).await.json();
        assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
        let me = mallory.request("GET", "/api/me", None).await.json();
        assert_eq!(me["user"]["username"], "mallory");
        let login = format!(r#"{{"identifier":"ada","password":"{PASSWORD}"}}"#);
        assert_eq!(fixture.browser().request("POST", "/api/login", Some(&login)).await.status, 200);
        println!("injection: {} payloads and {} literal-match lists, 0 bypasses", CASES.len(), EMPTY_LISTS.len());
    })
}

/// Why `response` is wrong for `case`, if it is.
fn judge(case: &Case, response: &RawResponse) -> Option<String> {
    let mut problems = Vec::new();
    if !case.expect.contains(&response.status) {
        problems.push(format!(
            "status {} not in {:?}",
            response.status, case.expect
        ));
    }
    if response.header("set-cookie").is_some() {
        problems.push("set a cookie".to_owned());
    }
    if response.status == 400 {
        // A 400 names what was wrong, so a client can fix it.
        let error = response.json();
        if !error["error"].is_string() {
            problems.push("a 400 without a JSON error".to_owned());
        }
    }
    (!problems.is_empty()).then(|| {
        format!(
            "{}: {} ({})",
            case.name,
            problems.join(", "),
            response.text()
        )
    })
}

/// Registers and logs in `name`; the browser then sends our Origin.
async fn account(fixture: &Fixture, name: &str) -> Browser {
    let mut browser = fixture.browser();
    let account = format!(r#"{{"username":"{name}","password":"{PASSWORD}"}}"#);
    assert_eq!(
        browser
            .request("POST", "/api/register", Some(&account))
            .await
            .status,
        201
    );
    let login = format!(r#"{{"identifier":"{name}","password":"{PASSWORD}"}}"#);
    assert_eq!(
        browser
            .request("POST", "/api/login", Some(&login))
            .await
            .status,
        200
    );
    browser.headers.push(ORIGIN.to_owned());
    browser
}

async fn create(browser: &mut Browser, json: &str) -> String {
    let response = browser.request("POST", "/api/posts", Some(json)).await;
    assert_eq!(response.status, 201, "{}", response.text());
    response.json()["id"].as_str().unwrap().to_owned()
}
