//! NoSQL-injection corpus: payloads that try to turn client input into
//! MongoDB operators, against login, register and the posts API, on both
//! stores.
//!
//! The fixture holds two real accounts. `ada` has a known password, two
//! posts and one session; `eve` is the attacker, logged in, with one post of
//! her own. Every case in [`cases`] is sent as it is written and must get the
//! answer the table states: 400 (with the field named where there is one),
//! 401, 403, 404 or 415, or a list of exactly the posts it should match.
//! After the whole corpus ran, nothing may have changed: no new session for
//! anybody, no new account, every post exactly as it was, no post more or
//! fewer, and no stored key that looks like an operator or a path.
//!
//! A bypass shows up as a wrong status, a `Set-Cookie`, a list longer than
//! stated, or a changed post, and fails the case by name.

mod common;

use bson::{Bson, Document};
use common::RawResponse;
use common::fixture::{Fixture, create_post as create, logged_in as account};
use groundup::app::AppConfig;
use groundup::session::throttle::LoginLimits;
use groundup::store::{FindOptions, PostFilter, PostStore, SessionStore, UserStore};

const PASSWORD: &str = "correct horse battery";

/// Who sends a case.
#[derive(Debug, Clone, Copy)]
enum Who {
    /// No cookie: the login and register cases.
    Anonymous,
    /// `eve`, logged in, with her Origin on every request.
    Eve,
}

/// A request body.
#[derive(Debug, Clone)]
enum Body {
    None,
    Json(String),
    Form(String),
}

/// What a case must get back.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// This status with `{"error", "field"}` naming this field.
    Field(u16, &'static str),
    /// This status, no field named (the fault is the whole body or the
    /// credentials).
    Status(u16),
    /// 200 with a JSON array of exactly this many posts.
    List(usize),
}

struct Case {
    name: &'static str,
    who: Who,
    method: &'static str,
    /// `{ada}` and `{eve}` stand for a post id of each, `{ada_user}` for
    /// ada's user id, `{pw}` for her password.
    path: &'static str,
    body: Body,
    expect: Expect,
}

fn json(text: &str) -> Body {
    Body::Json(text.to_owned())
}

fn form(text: &str) -> Body {
    Body::Form(text.to_owned())
}

/// `[[[…]]]`, `depth` deep: past any sane parser's recursion limit.
fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// `{"a":{"a":…}}`, `depth` deep.
fn nested_objects(depth: usize) -> String {
    format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth))
}

/// The corpus. Expected statuses:
/// - 400 for anything that is not the plain value the field takes, naming
///   the field where one is at fault;
/// - 401 for well-typed credentials that are simply wrong (an operator
///   spelled inside a string is just a string);
/// - 403 when eve reaches for ada's post;
/// - 404 for a well-formed id no post has;
/// - 415 for a form body where only JSON is taken;
/// - a list of exactly the matching posts for strings that look like
///   operators but are only strings.
#[rustfmt::skip]
fn cases() -> Vec<Case> {
    use Expect::{Field, List, Status};
    use Who::{Anonymous, Eve};
    let login = |name, body, expect| Case {
        name,
        who: Anonymous,
        method: "POST",
        path: "/api/login",
        body,
        expect,
    };
    let register = |name, body, expect| Case {
        name,
        who: Anonymous,
        method: "POST",
        path: "/api/register",
        body,
        expect,
    };
    let eve = |name, method, path, body, expect| Case {
        name,
        who: Eve,
        method,
        path,
        body,
        expect,
    };
    let big = "a".repeat(200_000);
    vec![
        // --- login, JSON ---
        login("login ne both", json(r#"{"identifier":{"$ne":null},"password":{"$ne":null}}"#), Field(400, "identifier")),
        login("login username ne", json(r#"{"username":{"$ne":null},"password":"{pw}"}"#), Field(400, "username")),
        login("login password gt", json(r#"{"identifier":"ada","password":{"$gt":""}}"#), Field(400, "password")),
        login("login regex", json(r#"{"identifier":{"$regex":".*"},"password":"{pw}"}"#), Field(400, "identifier")),
        login("login in", json(r#"{"identifier":{"$in":["ada","eve"]},"password":"{pw}"}"#), Field(400, "identifier")),
        login("login where key", json(r#"{"identifier":"ada","password":"{pw}","$where":"return true"}"#), Field(400, "$where")),
        login("login where value", json(r#"{"identifier":{"$where":"this.username=='ada'"},"password":"{pw}"}"#), Field(400, "identifier")),
        login("login expr", json(r#"{"identifier":{"$expr":{"$eq":[1,1]}},"password":"{pw}"}"#), Field(400, "identifier")),
        login("login function", json(r#"{"password":{"$function":{"body":"function(){return true}","args":[],"lang":"js"}},"identifier":"ada"}"#), Field(400, "password")),
        login("login identifier array", json(r#"{"identifier":["ada"],"password":"{pw}"}"#), Field(400, "identifier")),
        login("login identifier number", json(r#"{"identifier":1,"password":"{pw}"}"#), Field(400, "identifier")),
        login("login identifier bool", json(r#"{"identifier":true,"password":"{pw}"}"#), Field(400, "identifier")),
        login("login identifier null", json(r#"{"identifier":null,"password":"{pw}"}"#), Field(400, "identifier")),
        login("login password array", json(r#"{"identifier":"ada","password":["{pw}"]}"#), Field(400, "password")),
        login("login password number", json(r#"{"identifier":"ada","password":0}"#), Field(400, "password")),
        login("login password bool", json(r#"{"identifier":"ada","password":true}"#), Field(400, "password")),
        login("login password null", json(r#"{"identifier":"ada","password":null}"#), Field(400, "password")),
        login("login dotted key", json(r#"{"identifier":"ada","password":"{pw}","profile.$":"x"}"#), Field(400, "profile.$")),
        login("login dotted identifier key", json(r#"{"identifier.$":"ada","password":"{pw}"}"#), Field(400, "identifier.$")),
        login("login a.b key", json(r#"{"a.b":"x","identifier":"ada","password":"{pw}"}"#), Field(400, "a.b")),
        login("login proto", json(r#"{"__proto__":{"admin":true},"identifier":"ada","password":"wrong password"}"#), Field(400, "__proto__")),
        login("login constructor prototype", json(r#"{"constructor":{"prototype":{"admin":true}},"identifier":"ada","password":"wrong password"}"#), Field(400, "constructor")),
        login("login constructor.prototype key", json(r#"{"constructor.prototype.admin":true,"identifier":"ada","password":"wrong password"}"#), Field(400, "constructor.prototype.admin")),
        login("login duplicate identifier", json(r#"{"identifier":"ada","identifier":{"$ne":null},"password":"{pw}"}"#), Field(400, "identifier")),
        login("login duplicate password", json(r#"{"identifier":"ada","password":"wrong password","password":"{pw}"}"#), Field(400, "password")),
        login("login nul in identifier", json(r#"{"identifier":"ada\u0000","password":"{pw}"}"#), Status(401)),
        login("login nul in password", json(r#"{"identifier":"ada","password":"{pw}\u0000"}"#), Status(401)),
        login("login escaped dollar ne", json(r#"{"identifier":{"\u0024ne":null},"password":"{pw}"}"#), Field(400, "identifier")),
        login("login escaped dollar key", json(r#"{"\u0024where":"1","identifier":"ada","password":"{pw}"}"#), Field(400, "$where")),
        login("login sql-like identifier", json(r#"{"identifier":"a'||'1'=='1","password":"{pw}"}"#), Status(401)),
        login("login js-like password", json(r#"{"identifier":"ada","password":"' || 1==1 //"}"#), Status(401)),
        login("login regex as string", json(r#"{"identifier":".*","password":"{pw}"}"#), Status(401)),
        login("login anchored regex string", json(r#"{"identifier":"^ad","password":"{pw}"}"#), Status(401)),
        login("login operator as string", json(r#"{"identifier":"{\"$ne\":null}","password":"{pw}"}"#), Status(401)),
        login("login deep array", Body::Json(format!(r#"{{"identifier":{},"password":"x"}}"#, nested(5_000))), Status(400)),
        login("login deep object", Body::Json(format!(r#"{{"identifier":{},"password":"x"}}"#, nested_objects(5_000))), Status(400)),
        login("login oversized identifier", Body::Json(format!(r#"{{"identifier":"{big}","password":"{{pw}}"}}"#)), Field(400, "identifier")),
        login("login oversized password", Body::Json(format!(r#"{{"identifier":"ada","password":"{big}"}}"#)), Field(400, "password")),
        login("login body is array", json(r#"[{"identifier":"ada","password":"{pw}"}]"#), Status(400)),
        login("login body is string", json(r#""ada""#), Status(400)),
        // --- login, form ---
        login("form login ne", form("identifier[$ne]=&password[$ne]="), Field(400, "identifier[$ne]")),
        login("form login user ne", form("user[$ne]=&password=x"), Field(400, "user[$ne]")),
        login("form login password regex", form("identifier=ada&password[$regex]=.*"), Field(400, "password[$regex]")),
        login("form login username brackets", form("username[]=ada&password={pw}"), Field(400, "username[]")),
        login("form login in", form("identifier[$in][]=ada&password={pw}"), Field(400, "identifier[$in][]")),
        login("form login duplicate identifier", form("identifier=nobody&identifier=ada&password={pw}"), Field(400, "identifier")),
        login("form login duplicate password", form("identifier=ada&password=wrong+password&password={pw}"), Field(400, "password")),
        login("form login where", form("identifier=ada&password={pw}&$where=1"), Field(400, "$where")),
        login("form login encoded where", form("identifier=ada&password={pw}&%24where=1"), Field(400, "$where")),
        login("form login dotted", form("identifier.$=ada&password={pw}"), Field(400, "identifier.$")),
        login("form login proto", form("__proto__[admin]=1&identifier=ada&password=wrong+password"), Field(400, "__proto__[admin]")),
        login("form login constructor", form("constructor[prototype][admin]=1&identifier=ada&password=wrong+password"), Field(400, "constructor[prototype][admin]")),
        login("form login nul", form("identifier=ada%00&password={pw}"), Status(401)),
        login("form login operator string", form("identifier=%7B%22%24ne%22%3Anull%7D&password={pw}"), Status(401)),
        login("form login dollar ne string", form("identifier=%24ne&password={pw}"), Status(401)),
        // --- register ---
        register("register username ne", json(r#"{"username":{"$ne":null},"password":"{pw}"}"#), Field(400, "username")),
        register("register password gt", json(r#"{"username":"mallory","password":{"$gt":""}}"#), Field(400, "password")),
        register("register email regex", json(r#"{"username":"mallory","password":"{pw}","email":{"$regex":".*"}}"#), Field(400, "email")),
        register("register email in", json(r#"{"username":"mallory","password":"{pw}","email":{"$in":["a@b.c"]}}"#), Field(400, "email")),
        register("register username where", json(r#"{"username":"$where","password":"{pw}"}"#), Field(400, "username")),
        register("register username escaped dollar", json(r#"{"username":"\u0024ne","password":"{pw}"}"#), Field(400, "username")),
        register("register username nul", json(r#"{"username":"mal\u0000lory","password":"{pw}"}"#), Field(400, "username")),
        register("register username array", json(r#"{"username":["mallory"],"password":"{pw}"}"#), Field(400, "username")),
        register("register username number", json(r#"{"username":123456,"password":"{pw}"}"#), Field(400, "username")),
        register("register username object", json(r#"{"username":{"first":"mallory"},"password":"{pw}"}"#), Field(400, "username")),
        register("register a.b key", json(r#"{"username":"mallory","password":"{pw}","a.b":"x"}"#), Field(400, "a.b")),
        register("register profile.$ key", json(r#"{"username":"mallory","password":"{pw}","profile.$":"x"}"#), Field(400, "profile.$")),
        register("register role", json(r#"{"username":"mallory","password":"{pw}","role":"admin"}"#), Field(400, "role")),
        register("register id", json(r#"{"username":"mallory","password":"{pw}","_id":"{ada_user}"}"#), Field(400, "_id")),
        register("register proto", json(r#"{"username":"mallory","password":"{pw}","__proto__":{"admin":true}}"#), Field(400, "__proto__")),
        register("register where", json(r#"{"username":"mallory","password":"{pw}","$where":"1"}"#), Field(400, "$where")),
        register("register duplicate email", json(r#"{"username":"mallory","password":"{pw}","email":"m@b.c","email":{"$ne":null}}"#), Field(400, "email")),
        register("register oversized username", Body::Json(format!(r#"{{"username":"{big}","password":"{{pw}}"}}"#)), Field(400, "username")),
        register("register oversized password", Body::Json(format!(r#"{{"username":"mallory","password":"{big}"}}"#)), Field(400, "password")),
        register("register oversized email", Body::Json(format!(r#"{{"username":"mallory","password":"{{pw}}","email":"{big}@b.c"}}"#)), Field(400, "email")),
        register("register deep email", Body::Json(format!(r#"{{"username":"mallory","password":"{{pw}}","email":{}}}"#, nested(5_000))), Status(400)),
        register("form register username ne", form("username[$ne]=x&password={pw}"), Field(400, "username[$ne]")),
        register("form register email ne", form("username=mallory&password={pw}&email[$ne]="), Field(400, "email[$ne]")),
        register("form register username brackets", form("username[]=mallory&password={pw}"), Field(400, "username[]")),
        register("form register duplicate username", form("username=mallory&username=ada&password={pw}"), Field(400, "username")),
        register("form register dotted", form("username=mallory&password={pw}&profile.$=x"), Field(400, "profile.$")),
        // --- create ---
        eve("create title ne", "POST", "/api/posts", json(r#"{"title":{"$ne":null}}"#), Field(400, "title")),
        eve("create title array", "POST", "/api/posts", json(r#"{"title":["t"]}"#), Field(400, "title")),
        eve("create title bool", "POST", "/api/posts", json(r#"{"title":true}"#), Field(400, "title")),
        eve("create title null", "POST", "/api/posts", json(r#"{"title":null}"#), Field(400, "title")),
        eve("create author", "POST", "/api/posts", json(r#"{"title":"t","author":"{ada_user}"}"#), Field(400, "author")),
        eve("create id", "POST", "/api/posts", json(r#"{"title":"t","_id":"{ada}"}"#), Field(400, "_id")),
        eve("create where", "POST", "/api/posts", json(r#"{"title":"t","$where":"1"}"#), Field(400, "$where")),
        eve("create escaped where", "POST", "/api/posts", json(r#"{"title":"t","\u0024where":"1"}"#), Field(400, "$where")),
        eve("create a.b", "POST", "/api/posts", json(r#"{"title":"t","a.b":1}"#), Field(400, "a.b")),
        eve("create likes.$", "POST", "/api/posts", json(r#"{"title":"t","likes.$":1}"#), Field(400, "likes.$")),
        eve("create proto", "POST", "/api/posts", json(r#"{"title":"t","__proto__":{"x":1}}"#), Field(400, "__proto__")),
        eve("create constructor", "POST", "/api/posts", json(r#"{"title":"t","constructor":{"prototype":{"x":1}}}"#), Field(400, "constructor")),
        eve("create tag operator", "POST", "/api/posts", json(r#"{"title":"t","tags":[{"$ne":null}]}"#), Field(400, "tags")),
        eve("create tags in", "POST", "/api/posts", json(r#"{"title":"t","tags":{"$in":["a"]}}"#), Field(400, "tags")),
        eve("create likes inc", "POST", "/api/posts", json(r#"{"title":"t","likes":{"$inc":1}}"#), Field(400, "likes")),
        eve("create likes string", "POST", "/api/posts", json(r#"{"title":"t","likes":"1"}"#), Field(400, "likes")),
        eve("create body function", "POST", "/api/posts", json(r#"{"title":"t","body":{"$function":{"body":"function(){}","args":[],"lang":"js"}}}"#), Field(400, "body")),
        eve("create body expr", "POST", "/api/posts", json(r#"{"title":"t","body":{"$expr":1}}"#), Field(400, "body")),
        eve("create many second bad", "POST", "/api/posts", json(r#"[{"title":"fine"},{"title":{"$gt":""}}]"#), Field(400, "[1].title")),
        eve("create many author", "POST", "/api/posts", json(r#"[{"title":"fine","author":"{ada_user}"}]"#), Field(400, "[0].author")),
        eve("create duplicate title", "POST", "/api/posts", json(r#"{"title":"t","title":{"$ne":null}}"#), Field(400, "title")),
        eve("create deep", "POST", "/api/posts", Body::Json(format!(r#"{{"title":"t","body":{}}}"#, nested_objects(5_000))), Status(400)),
        eve("create oversized title", "POST", "/api/posts", Body::Json(format!(r#"{{"title":"{big}"}}"#)), Field(400, "title")),
        eve("create oversized body", "POST", "/api/posts", Body::Json(format!(r#"{{"title":"t","body":"{big}"}}"#)), Field(400, "body")),
        eve("create form", "POST", "/api/posts", form("title[$ne]="), Status(415)),
        // --- update: eve's own post, operators smuggled inside ---
        eve("update set author", "PATCH", "/api/posts/{eve}", json(r#"{"$set":{"author":"{ada_user}"}}"#), Field(400, "author")),
        eve("update set id", "PATCH", "/api/posts/{eve}", json(r#"{"$set":{"_id":"{ada}"}}"#), Field(400, "_id")),
        eve("update set title gt", "PATCH", "/api/posts/{eve}", json(r#"{"$set":{"title":{"$gt":""}}}"#), Field(400, "title")),
        eve("update where", "PATCH", "/api/posts/{eve}", json(r#"{"$where":"1"}"#), Field(400, "$where")),
        eve("update expr", "PATCH", "/api/posts/{eve}", json(r#"{"$expr":{"$eq":[1,1]}}"#), Field(400, "$expr")),
        eve("update function", "PATCH", "/api/posts/{eve}", json(r#"{"$function":{"body":"function(){}","args":[],"lang":"js"}}"#), Field(400, "$function")),
        eve("update set a.b", "PATCH", "/api/posts/{eve}", json(r#"{"$set":{"a.b":1}}"#), Field(400, "a.b")),
        eve("update set likes.$", "PATCH", "/api/posts/{eve}", json(r#"{"$set":{"likes.$":1}}"#), Field(400, "likes.$")),
        eve("update set tags.$", "PATCH", "/api/posts/{eve}", json(r#"{"$set":{"tags.$":"x"}}"#), Field(400, "tags.$")),
        eve("update set proto", "PATCH", "/api/posts/{eve}", json(r#"{"$set":{"__proto__":{"x":1}}}"#), Field(400, "__proto__")),
        eve("update set constructor.prototype", "PATCH", "/api/posts/{eve}", json(r#"{"$set":{"constructor.prototype":1}}"#), Field(400, "constructor.prototype")),
        eve("update rename to author", "PATCH", "/api/posts/{eve}", json(r#"{"$rename":{"likes":"author"}}"#), Field(400, "likes")),
        eve("update rename to operator", "PATCH", "/api/posts/{eve}", json(r#"{"$rename":{"likes":"$where"}}"#), Field(400, "likes")),
        eve("update inc expr", "PATCH", "/api/posts/{eve}", json(r#"{"$inc":{"likes":{"$expr":1}}}"#), Field(400, "likes")),
        eve("update current date smuggled", "PATCH", "/api/posts/{eve}", json(r#"{"$currentDate":{"published_at":{"$type":"date","$where":"1"}}}"#), Field(400, "published_at")),
        eve("update set tags each", "PATCH", "/api/posts/{eve}", json(r#"{"$set":{"tags":{"$each":["a"]}}}"#), Field(400, "tags")),
        eve("update unset author", "PATCH", "/api/posts/{eve}", json(r#"{"$unset":{"author":""}}"#), Field(400, "author")),
        eve("update escaped set", "PATCH", "/api/posts/{eve}", json(r#"{"\u0024set":{"author":"x"}}"#), Field(400, "author")),
        eve("update plain field", "PATCH", "/api/posts/{eve}", json(r#"{"$set":{"title":"x"},"title":"y"}"#), Field(400, "title")),
        eve("update duplicate set", "PATCH", "/api/posts/{eve}", json(r#"{"$set":{"title":"x"},"$set":{"author":"{ada_user}"}}"#), Field(400, "$set")),
        eve("update set operand array", "PATCH", "/api/posts/{eve}", json(r#"{"$set":[{"title":"x"}]}"#), Field(400, "$set")),
        eve("update pipeline", "PATCH", "/api/posts/{eve}", json(r#"[{"$set":{"title":"x"}}]"#), Status(400)),
        eve("update set on insert author", "PATCH", "/api/posts/{eve}?upsert=true", json(r#"{"$setOnInsert":{"author":"{ada_user}"}}"#), Field(400, "author")),
        eve("update upsert operator", "PATCH", "/api/posts/{eve}?upsert[$ne]=false", json(r#"{"$set":{"title":"x"}}"#), Field(400, "upsert")),
        eve("update deep", "PATCH", "/api/posts/{eve}", Body::Json(format!(r#"{{"$set":{}}}"#, nested_objects(5_000))), Status(400)),
        eve("update form", "PATCH", "/api/posts/{eve}", form("$set[title]=x"), Status(415)),
        // --- ada's posts, by eve ---
        eve("update another's post", "PATCH", "/api/posts/{ada}", json(r#"{"$set":{"title":"pwned"}}"#), Status(403)),
        eve("upsert another's post", "PATCH", "/api/posts/{ada}?upsert=true", json(r#"{"$set":{"title":"pwned"}}"#), Status(403)),
        eve("delete another's post", "DELETE", "/api/posts/{ada}", Body::None, Status(403)),
        // --- ids in paths ---
        eve("get id operator", "GET", "/api/posts/%7B%22%24ne%22%3Anull%7D", Body::None, Field(400, "id")),
        eve("get id quote trick", "GET", "/api/posts/a%27%7C%7C%271%27%3D%3D%271", Body::None, Field(400, "id")),
        eve("get id nul", "GET", "/api/posts/{ada}%00", Body::None, Field(400, "id")),
        eve("get id regex", "GET", "/api/posts/.*", Body::None, Field(400, "id")),
        eve("get id absent", "GET", "/api/posts/000000000000000000000000", Body::None, Status(404)),
        eve("patch id operator", "PATCH", "/api/posts/%7B%22%24ne%22%3Anull%7D", json(r#"{"$set":{"title":"x"}}"#), Field(400, "id")),
        eve("patch id absent", "PATCH", "/api/posts/000000000000000000000000", json(r#"{"$set":{"title":"x"}}"#), Status(404)),
        eve("delete id operator", "DELETE", "/api/posts/%7B%22%24ne%22%3Anull%7D", Body::None, Field(400, "id")),
        eve("delete id quote trick", "DELETE", "/api/posts/a%27%7C%7C%271%27%3D%3D%271", Body::None, Field(400, "id")),
        eve("delete id where", "DELETE", "/api/posts/%24where", Body::None, Field(400, "id")),
        eve("delete id absent", "DELETE", "/api/posts/ffffffffffffffffffffffff", Body::None, Status(404)),
        // --- list query parameters ---
        eve("list author ne", "GET", "/api/posts?author[$ne]=x", Body::None, Field(400, "author[$ne]")),
        eve("list author operator string", "GET", "/api/posts?author=%7B%22%24ne%22%3Anull%7D", Body::None, Field(400, "author")),
        eve("list author regex string", "GET", "/api/posts?author=.*", Body::None, Field(400, "author")),
        eve("list author nul", "GET", "/api/posts?author=ada%00", Body::None, Field(400, "author")),
        eve("list author oversized", "GET", "/api/posts?author=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Body::None, Field(400, "author")),
        eve("list author twice", "GET", "/api/posts?author=ada&author=eve", Body::None, Field(400, "author")),
        eve("list sort where", "GET", "/api/posts?sort[$where]=1", Body::None, Field(400, "sort[$where]")),
        eve("list sort object", "GET", "/api/posts?sort=%7B%22title%22%3A1%7D", Body::None, Field(400, "sort")),
        eve("list limit gt", "GET", "/api/posts?limit[$gt]=0", Body::None, Field(400, "limit[$gt]")),
        eve("list limit negative", "GET", "/api/posts?limit=-1", Body::None, Field(400, "limit")),
        eve("list limit huge", "GET", "/api/posts?limit=99999999999999999999999", Body::None, Field(400, "limit")),
        eve("list skip object", "GET", "/api/posts?skip=%7B%7D", Body::None, Field(400, "skip")),
        eve("list tag ne", "GET", "/api/posts?tag[$ne]=x", Body::None, Field(400, "tag[$ne]")),
        eve("list tag operator string", "GET", "/api/posts?tag=%7B%22%24ne%22%3Anull%7D", Body::None, List(0)),
        eve("list tag regex string", "GET", "/api/posts?tag=.*", Body::None, List(0)),
        eve("list title prefix regex", "GET", "/api/posts?title_prefix=.*", Body::None, List(0)),
        eve("list title prefix alternation", "GET", "/api/posts?title_prefix=x%7C", Body::None, List(0)),
        eve("list title prefix group", "GET", "/api/posts?title_prefix=(", Body::None, List(0)),
        eve("list title prefix ne", "GET", "/api/posts?title_prefix[$ne]=x", Body::None, Field(400, "title_prefix[$ne]")),
        eve("list after gt", "GET", "/api/posts?after[$gt]=0", Body::None, Field(400, "after[$gt]")),
        eve("list after operator string", "GET", "/api/posts?after=%7B%22%24gt%22%3A%22%22%7D", Body::None, Field(400, "after")),
        eve("list since gt", "GET", "/api/posts?since[$gt]=", Body::None, Field(400, "since[$gt]")),
        eve("list since quote trick", "GET", "/api/posts?since=1%27+or+%271%27%3D%271", Body::None, Field(400, "since")),
        eve("list where", "GET", "/api/posts?$where=1", Body::None, Field(400, "$where")),
        eve("list encoded where", "GET", "/api/posts?%24where=1", Body::None, Field(400, "$where")),
        eve("list expr", "GET", "/api/posts?$expr[$eq][]=1", Body::None, Field(400, "$expr[$eq][]")),
        eve("list proto", "GET", "/api/posts?__proto__[x]=1", Body::None, Field(400, "__proto__[x]")),
        eve("list dotted", "GET", "/api/posts?author.username=ada", Body::None, Field(400, "author.username")),
        eve("list author by id", "GET", "/api/posts?author={ada_user}", Body::None, List(2)),
        // Controls: the same routes with plain values list what they should.
        eve("list ada's posts", "GET", "/api/posts?author=ada", Body::None, List(2)),
        eve("list everything", "GET", "/api/posts", Body::None, List(3)),
    ]
}

/// The number of cases in the corpus; a case dropped by accident changes it.
const CASES: usize = 177;

/// Login limits high enough that the corpus's wrong passwords are answered
/// as such rather than throttled.
fn config() -> AppConfig {
    AppConfig {
        logins: LoginLimits {
            per_account: 10_000,
            per_address: 10_000,
            address_pace: 10_000,
            ..LoginLimits::default()
        },
        ..AppConfig::new().unwrap()
    }
}

/// Every post, as the store holds it.
async fn all_posts(fixture: &Fixture) -> Vec<Document> {
    let mut cursor = fixture
        .store
        .find(PostFilter::default(), FindOptions::default())
        .await
        .unwrap();
    let mut posts = Vec::new();
    while let Some(post) = cursor.next().await {
        posts.push(post.unwrap());
    }
    posts
}

/// The first key, at any depth, that MongoDB would read as an operator or a
/// path: `$…`, or containing `.` or NUL.
fn operator_like_key(document: &Document) -> Option<String> {
    fn in_value(value: &Bson) -> Option<String> {
        match value {
            Bson::Document(inner) => operator_like_key(inner),
            Bson::Array(items) => items.iter().find_map(in_value),
            _ => None,
        }
    }
    document.iter().find_map(|(key, value)| {
        if key.starts_with('$') || key.contains('.') || key.contains('\0') {
            Some(key.clone())
        } else {
            in_value(value)
        }
    })
}

fn check(case: &Case, response: &RawResponse) -> Result<(), String> {
    let cookie = response
        .headers
        .iter()
        .find(|(name, value)| name == "set-cookie" && !value.contains("Max-Age=0"));
    if let Some((_, cookie)) = cookie {
        return Err(format!("set a cookie: {cookie}"));
    }
    let text = response.text();
    match case.expect {
        Expect::List(length) => {
            if response.status != 200 {
                return Err(format!(
                    "status {} (want a list of {length}): {text}",
                    response.status
                ));
            }
            let listed = response.json().as_array().map(Vec::len);
            if listed != Some(length) {
                return Err(format!("listed {listed:?} posts, want {length}: {text}"));
            }
        }
        Expect::Status(status) | Expect::Field(status, _) => {
            if response.status != status {
                return Err(format!(
                    "status {} (want {status}): {text}",
                    response.status
                ));
            }
            let body: serde_json::Value = serde_json::from_str(&text)
                .map_err(|_| format!("error body is not JSON: {text}"))?;
            if !body["error"].is_string() {
                return Err(format!("no error message: {text}"));
            }
            if let Expect::Field(_, field) = case.expect
                && body["field"].as_str() != Some(field)
            {
                return Err(format!("field {} (want {field:?}): {text}", body["field"]));
            }
        }
    }
    Ok(())
}

on_both_stores! {
    no_payload_gets_past_the_typed_fields(config(), |fixture| {
        let cases = cases();
        println!("injection corpus: {} cases", cases.len());
        assert_eq!(cases.len(), CASES);

        let mut ada = account(&fixture, "ada").await;
        let ada_posts = [
            create(&mut ada, r#"{"title":"Ada's first","body":"private thoughts","tags":["intro"],"likes":1}"#).await,
            create(&mut ada, r#"{"title":"Ada's second","body":"more","tags":["notes"]}"#).await,
        ];
        let mut eve = account(&fixture, "eve").await;
        let eve_post = create(&mut eve, r#"{"title":"Eve's","body":"bait","likes":0}"#).await;
        let ada_user = fixture.store.user_by_username("ada").await.unwrap().unwrap().id;
        let eve_user = fixture.store.user_by_username("eve").await.unwrap().unwrap().id;
        let before = all_posts(&fixture).await;

        let substitute = |text: &str| {
            text.replace("{ada}", &ada_posts[0])
                .replace("{eve}", &eve_post)
                .replace("{ada_user}", &ada_user.to_hex())
                .replace("{pw}", PASSWORD)
        };
        let mut failures = Vec::new();
        for case in &cases {
            let mut anonymous = fixture.browser();
            let browser = match case.who {
                Who::Anonymous => &mut anonymous,
                Who::Eve => &mut eve,
            };
            let path = substitute(case.path);
            let body = match &case.body {
                Body::None => None,
                Body::Json(text) => Some(("application/json", substitute(text))),
                Body::Form(text) => Some(("application/x-www-form-urlencoded", substitute(text))),
            };
            let response = browser
                .send(case.method, &path, body.as_ref().map(|(kind, text)| (*kind, text.as_str())), &[])
                .await;
            if let Err(why) = check(case, &response) {
                failures.push(format!("{}: {why}", case.name));
            }
            if matches!(case.who, Who::Anonymous) && !anonymous.cookies.is_empty() {
                failures.push(format!("{}: the anonymous client got a cookie", case.name));
            }
        }
        assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));

        // Nothing changed: each post exactly as it was, none more, none fewer.
        let after = all_posts(&fixture).await;
        assert_eq!(after, before, "the corpus changed the stored posts");
        for post in &after {
            assert_eq!(operator_like_key(post), None, "stored an operator-like key: {post}");
        }
        // No login made a session; no registration made an account.
        assert_eq!(fixture.store.list_for_user(ada_user).await.unwrap().len(), 1);
        assert_eq!(fixture.store.list_for_user(eve_user).await.unwrap().len(), 1);
        assert!(fixture.store.user_by_username("mallory").await.unwrap().is_none());
    })
}
