//! Framework shapes that a naive reading gets wrong, each in a small throwaway service.

mod common;
use common::*;

/// The JSON report of the selected rules on a throwaway package.
fn check(pkg: &tempfile::TempDir, select: &str) -> serde_json::Value {
    json(&run_in(
        pkg.path(),
        &["check", "--format", "json", "--select", select],
    ))
}

fn findings(pkg: &tempfile::TempDir, select: &str) -> Vec<String> {
    finding_lines(&check(pkg, select), "")
}

#[test]
fn a_rocket_fairing_that_redirects_to_https_makes_the_listener_redirect_only() {
    let fairing = r#"
use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::uri::Origin;
use rocket::{Data, Request};

pub struct ToHttps;

#[rocket::async_trait]
impl Fairing for ToHttps {
    fn info(&self) -> Info {
        Info { name: "to https", kind: Kind::Request }
    }
    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        let target = format!("https://example.com{}", req.uri());
        req.set_uri(Origin::parse_owned(target).unwrap());
        let _ = rocket::response::Redirect::permanent("https://example.com");
    }
}
"#;
    let main = r#"
#[macro_use]
extern crate rocket;
mod redirect;

#[get("/")]
fn index() -> &'static str { "hi" }

#[launch]
fn rocket() -> _ {
    rocket::build().attach(redirect::ToHttps).mount("/", routes![index])
}
"#;
    let pkg = package(&[
        ("src/main.rs", main),
        ("src/redirect.rs", fairing),
        ("Rocket.toml", "[default]\naddress = \"0.0.0.0\"\n"),
    ]);
    assert!(findings(&pkg, "plaintext-listener").is_empty());

    // A middleware that redirects to a login page is not an HTTPS redirect.
    let login = fairing.replace("https://example.com", "/login");
    let pkg = package(&[
        ("src/main.rs", main),
        ("src/redirect.rs", &login),
        ("Rocket.toml", "[default]\naddress = \"0.0.0.0\"\n"),
    ]);
    assert_eq!(
        findings(&pkg, "plaintext-listener"),
        vec!["plaintext-listener Rocket.toml:2"]
    );
}

#[test]
fn actix_server_builds_are_listeners() {
    let main = r#"
use actix_web::{web, App, HttpResponse};
use actix_http::HttpService;

#[actix_rt::main]
async fn main() -> std::io::Result<()> {
    actix_server::Server::build()
        .bind("api", ("0.0.0.0", 8080), || {
            HttpService::build().finish(|_req| async { Ok::<_, std::convert::Infallible>(HttpResponse::Ok().finish()) }).tcp()
        })?
        .run()
        .await
}
"#;
    let pkg = package(&[("src/main.rs", main)]);
    assert_eq!(
        findings(&pkg, "plaintext-listener"),
        vec!["plaintext-listener src/main.rs:8"]
    );
}

#[test]
fn salvo_joined_listeners_are_each_checked() {
    let main = r#"
use salvo::prelude::*;

#[handler]
async fn hello() -> &'static str { "hello" }

#[tokio::main]
async fn main() {
    let router = Router::new().get(hello);
    let config = salvo::conn::rustls::RustlsConfig::new(salvo::conn::rustls::Keycert::new());
    let acceptor = TcpListener::new("0.0.0.0:443").rustls(config).join(TcpListener::new("0.0.0.0:80")).bind().await;
    Server::new(acceptor).serve(router).await;
}
"#;
    let pkg = package(&[("src/main.rs", main)]);
    std::fs::write(pkg.path().join("Cargo.toml"), "[package]\nname = \"s\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nsalvo = \"0.74\"\n").unwrap();
    assert_eq!(
        findings(&pkg, "plaintext-listener"),
        vec!["plaintext-listener src/main.rs:11"]
    );
}

#[test]
fn a_shuttle_entry_point_is_an_app() {
    let main = r#"
use axum::{routing::post, Json, Router};

async fn signup(Json(body): Json<serde_json::Value>) -> Json<serde_json::Value> {
    Json(body)
}

#[shuttle_runtime::main]
async fn main() -> shuttle_axum::ShuttleAxum {
    let router = Router::new().route("/signup", post(signup));
    Ok(router.into())
}
"#;
    let pkg = package(&[("src/main.rs", main), ("portcullis.toml", EVERY_TIER)]);
    let doc = json(&run_in(pkg.path(), &["check", "--format", "json"]));
    let mut lines = finding_lines(&doc, "");
    lines.sort();
    // The app (at its root router) and the credential endpoint `/signup` are both on line 10.
    assert_eq!(
        lines,
        [
            "missing-rate-limit src/main.rs:10",
            "missing-rate-limit src/main.rs:10",
            "unvalidated-input src/main.rs:4"
        ]
    );
}

#[test]
fn request_input_reaches_a_sink_through_a_long_chain_of_helpers() {
    // Ten helpers, each written before the one it calls: the summaries must reach their fixed point
    // however deep the chain and whatever the order of the functions in the file.
    let mut helpers = String::new();
    for i in 1..10 {
        helpers.push_str(&format!(
            "fn step{i}(s: &str) -> String {{ step{}(s) }}\n",
            i + 1
        ));
    }
    let main = |last: &str| {
        format!(
            r#"use axum::{{extract::{{Query, State}}, routing::get, Router}};
#[derive(serde::Deserialize)]
struct Search {{ term: String }}
async fn search(State(pool): State<sqlx::PgPool>, Query(q): Query<Search>) -> String {{
    let sql = step1(&q.term);
    sqlx::query(&sql).execute(&pool).await.ok();
    String::new()
}}
{helpers}fn step10(s: &str) -> String {{ {last} }}
#[tokio::main]
async fn main() {{
    let pool = sqlx::PgPool::connect_lazy("postgres://db/app").unwrap();
    let app = Router::new().route("/search", get(search)).with_state(pool);
    let l = tokio::net::TcpListener::bind("127.0.0.1:3000").await.unwrap();
    axum::serve(l, app).await.unwrap();
}}
"#
        )
    };
    let pkg = package(&[(
        "src/main.rs",
        &main(r#"format!("SELECT * FROM items WHERE name = '{s}'")"#),
    )]);
    assert_eq!(
        findings(&pkg, "sql-injection"),
        vec!["sql-injection src/main.rs:6"]
    );
    // The last helper ignores its argument: nothing from the request reaches the query.
    let pkg = package(&[(
        "src/main.rs",
        &main(r#"format!("SELECT * FROM items LIMIT {}", 10)"#),
    )]);
    assert!(findings(&pkg, "sql-injection").is_empty());
}

#[test]
fn a_rejection_recorded_two_helpers_below_the_extractor_counts_as_recorded() {
    let main = |record: &str| {
        format!(
            r#"use axum::{{extract::FromRequestParts, http::{{request::Parts, StatusCode}}, routing::post, Router}};

pub struct User(String);

async fn lookup_session(token: &str) -> Result<String, StatusCode> {{
    if token.len() != 32 {{
        {record}
        return Err(StatusCode::UNAUTHORIZED);
    }}
    Ok(token.to_string())
}}

async fn extract_token(parts: &Parts) -> Result<String, StatusCode> {{
    let token = parts.headers.get("authorization").ok_or(StatusCode::UNAUTHORIZED)?;
    lookup_session(token.to_str().unwrap_or_default()).await
}}

impl<S: Send + Sync> FromRequestParts<S> for User {{
    type Rejection = StatusCode;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {{
        extract_token(parts).await.map(User)
    }}
}}

async fn rename(User(_): User) -> &'static str {{ "ok" }}

#[tokio::main]
async fn main() {{
    let app = Router::new().route("/rename", post(rename));
    let l = tokio::net::TcpListener::bind("0.0.0.0:3000").await.unwrap();
    axum::serve(l, app).await.unwrap();
}}
"#
        )
    };
    let pkg = package(&[(
        "src/main.rs",
        &main(r#"tracing::warn!(len = token.len(), "rejected session token");"#),
    )]);
    assert!(findings(&pkg, "auth-failure-not-logged").is_empty());
    let pkg = package(&[("src/main.rs", &main(""))]);
    assert_eq!(
        findings(&pkg, "auth-failure-not-logged"),
        vec!["auth-failure-not-logged src/main.rs:20"]
    );
}

#[test]
fn an_actix_transform_that_identifies_without_enforcing_is_optional_auth() {
    // The crate's own `Transform` reads the session cookie and lets a request without one through
    // (`Ok(None)`): the public, cacheable route behind it is not an authenticated route.
    let identity = r#"
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::{Error, HttpMessage};
use futures_util::future::LocalBoxFuture;
use std::future::{ready, Ready};

pub struct Identify;

impl<S: Service<ServiceRequest, Response = ServiceResponse, Error = Error> + 'static> Transform<S, ServiceRequest> for Identify {
    type Response = ServiceResponse;
    type Error = Error;
    type Transform = IdentifyService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;
    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(IdentifyService { service }))
    }
}

pub struct IdentifyService<S> {
    service: S,
}

impl<S: Service<ServiceRequest, Response = ServiceResponse, Error = Error> + 'static> Service<ServiceRequest> for IdentifyService<S> {
    type Response = ServiceResponse;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<ServiceResponse, Error>>;
    forward_ready!(service);
    fn call(&self, req: ServiceRequest) -> Self::Future {
        let user = session_user(&req);
        let user = match user {
            Ok(u) => u,
            Err(e) => return Box::pin(async move { Err(e) }),
        };
        req.extensions_mut().insert(user);
        let fut = self.service.call(req);
        Box::pin(async move { fut.await })
    }
}

fn session_user(req: &ServiceRequest) -> Result<Option<String>, Error> {
    let Some(cookie) = req.cookie("session_id") else {
        return Ok(None);
    };
    if cookie.value().len() != 32 {
        return Err(actix_web::error::ErrorBadRequest("malformed session"));
    }
    Ok(Some(cookie.value().to_string()))
}
"#;
    let main = r#"
mod identity;
use actix_web::{web, App, HttpResponse, HttpServer};

async fn timezones() -> HttpResponse {
    HttpResponse::Ok().insert_header(("Cache-Control", "public, max-age=86400")).body("[]")
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    HttpServer::new(|| App::new().wrap(identity::Identify).route("/timezones", web::get().to(timezones)))
        .bind(("127.0.0.1", 8080))?
        .run()
        .await
}
"#;
    let pkg = package(&[("src/main.rs", main), ("src/identity.rs", identity)]);
    assert_eq!(
        findings(&pkg, "unauthenticated-cached-route"),
        Vec::<String>::new()
    );
    let routes = json(&run_in(pkg.path(), &["routes", "--format", "json"]));
    assert_eq!(routes[0]["auth"], "optional", "{routes}");
}

#[test]
fn a_handler_is_not_an_auth_check_whatever_it_calls() {
    // `block` takes the authenticated `User` and returns its errors: it is a handler (a route
    // attribute, mounted through a macro portcullis does not expand), not a guard whose rejections
    // should be logged. The guard itself logs what it refuses.
    let main = r#"
#[macro_use]
extern crate rocket;
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};

pub struct User(String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for User {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        match req.headers().get_one("authorization") {
            Some(t) if t.len() == 40 => Outcome::Success(User(t.to_string())),
            _ => {
                log::warn!("request without a valid token");
                Outcome::Error((Status::Unauthorized, ()))
            }
        }
    }
}

fn may_block(user: &User, other: &str) -> Result<(), Status> {
    if user.0 == other { Err(Status::Forbidden) } else { Ok(()) }
}

#[post("/users/<id>/block")]
fn block(user: User, id: String) -> Result<(), Status> {
    may_block(&user, &id)?;
    Ok(())
}

#[launch]
fn rocket() -> _ {
    rocket::build().mount("/", rocket_okapi::openapi_get_routes![block])
}
"#;
    let pkg = package(&[("src/main.rs", main)]);
    assert_eq!(
        findings(&pkg, "auth-failure-not-logged"),
        Vec::<String>::new()
    );
}

#[test]
fn a_middleware_that_answers_429_is_a_rate_limit() {
    // The crate's own limiter (a counter per client address) is recognised by what it answers: a
    // `429 Too Many Requests`. Without it the app would have no rate limit.
    let main = r#"
use axum::extract::{ConnectInfo, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::post;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;

static HITS: Mutex<Option<HashMap<std::net::IpAddr, u32>>> = Mutex::new(None);

async fn per_client_limit(ConnectInfo(peer): ConnectInfo<SocketAddr>, req: Request, next: Next) -> Result<Response, StatusCode> {
    let mut hits = HITS.lock().unwrap();
    let count = hits.get_or_insert_with(HashMap::new).entry(peer.ip()).or_insert(0);
    *count += 1;
    if *count > 100 {
        return Err(StatusCode::TOO_MANY_REQUESTS);
    }
    drop(hits);
    Ok(next.run(req).await)
}

async fn comment(body: String) -> String { body }

#[tokio::main]
async fn main() {
    let app = axum::Router::new()
        .route("/comments", post(comment))
        .layer(middleware::from_fn(per_client_limit));
    let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await.unwrap();
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
}
"#;
    let pkg = package(&[("src/main.rs", main)]);
    assert_eq!(findings(&pkg, "missing-rate-limit"), Vec::<String>::new());
}

#[test]
fn a_listener_bound_from_a_configuration_default_in_another_function_is_resolved() {
    // The address comes from the `config` crate's `set_default` in code, the listener is bound in
    // `Application::build` and served by `run`: the finding names the address and its key.
    let startup = r#"
use actix_web::{dev::Server, web, App, HttpResponse, HttpServer};
use std::net::TcpListener;

#[derive(serde::Deserialize)]
pub struct Settings {
    pub host: String,
    pub port: u16,
}

pub fn settings() -> Result<Settings, config::ConfigError> {
    config::Config::builder()
        .set_default("host", "0.0.0.0")?
        .set_default("port", 8000)?
        .add_source(config::Environment::with_prefix("APP"))
        .build()?
        .try_deserialize()
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().finish()
}

pub struct Application {
    server: Server,
}

impl Application {
    pub async fn build() -> std::io::Result<Self> {
        let s = settings().unwrap();
        let listener = TcpListener::bind(format!("{}:{}", s.host, s.port))?;
        Ok(Self { server: run(listener)? })
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

pub fn run(listener: TcpListener) -> std::io::Result<Server> {
    Ok(HttpServer::new(|| App::new().route("/health", web::get().to(health)))
        .listen(listener)?
        .run())
}
"#;
    let main = r#"
mod startup;

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    startup::Application::build().await?.run_until_stopped().await
}
"#;
    let pkg = package(&[("src/main.rs", main), ("src/startup.rs", startup)]);
    let doc = check(&pkg, "plaintext-listener");
    let f = &doc["findings"][0];
    assert_eq!(
        f["message"], "the service listens on `0.0.0.0:8000` over plaintext HTTP",
        "{doc}"
    );
    assert!(
        f["labels"].to_string().contains("configuration key `host`"),
        "{doc}"
    );
}

#[test]
fn literal_key_material_is_found_wherever_it_is_written() {
    // A zero key in a static, a clap default, an auth layer's literal password, an environment
    // fallback and a literal bearer token: each reported where the literal is written. A literal
    // compared with a header that carries no credential is not a secret.
    let main = r#"
use actix_web::cookie::Key;

static ZERO: [u8; 64] = [0; 64];

#[derive(clap::Parser)]
struct Args {
    #[arg(long, env = "JWT_SECRET", default_value = "dev-jwt-secret-please-change")]
    jwt_secret: String,
}

fn keys(args: &Args) {
    let _cookie = Key::from(&ZERO);
    let _jwt = jsonwebtoken::EncodingKey::from_secret(args.jwt_secret.as_bytes());
    let _layer = tower_http::validate_request::ValidateRequestHeaderLayer::basic("admin", "s3cr3t-admin-pass");
    let _mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(
        std::env::var("HMAC_KEY").unwrap_or("fallback-hmac-key".into()).as_bytes(),
    );
    let _token = warp::header::exact("authorization", "Bearer 0a1b2c3d4e5f");
    let _json = warp::header::exact("accept", "application/json");
    let _from_env = jsonwebtoken::DecodingKey::from_secret(std::env::var("JWT_SECRET").unwrap().as_bytes());
}

fn main() {}
"#;
    let pkg = package(&[("src/main.rs", main)]);
    assert_eq!(
        findings(&pkg, "hardcoded-secret"),
        vec![
            "hardcoded-secret src/main.rs:4",
            "hardcoded-secret src/main.rs:8",
            "hardcoded-secret src/main.rs:15",
            "hardcoded-secret src/main.rs:17",
            "hardcoded-secret src/main.rs:19",
        ]
    );
}

#[test]
fn a_deployment_file_sets_the_environment_of_the_packages_below_it_only() {
    // `api/Dockerfile` sets `BIND` for `api`; `admin` reads the same variable and is not deployed by
    // it. A YAML file is a manifest only below a manifest directory of the tree checked, not because
    // the checkout itself sits in one (`manifests/` here is above the package checked).
    let server = |name: &str| {
        format!(
            r#"
async fn ok() -> &'static str {{ "{name}" }}

#[tokio::main]
async fn main() {{
    let app = axum::Router::new().route("/", axum::routing::get(ok));
    let addr = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    axum::serve(listener, app).await.unwrap();
}}
"#
        )
    };
    let manifest = |name: &str| {
        format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\n\n[dependencies]\ncommon = {{ path = \"../common\" }}\n")
    };
    let (api, admin) = (server("api"), server("admin"));
    let (api_toml, admin_toml) = (manifest("api"), manifest("admin"));
    let dir = package(&[
        (
            "manifests/app/Cargo.toml",
            "[workspace]\nmembers = [\"api\", \"admin\", \"common\"]\n",
        ),
        (
            "manifests/app/common/Cargo.toml",
            "[package]\nname = \"common\"\nversion = \"0.1.0\"\n",
        ),
        (
            "manifests/app/common/src/lib.rs",
            "pub fn name() -> &'static str { \"common\" }\n",
        ),
        ("manifests/app/api/Cargo.toml", &api_toml),
        ("manifests/app/api/src/main.rs", &api),
        (
            "manifests/app/api/Dockerfile",
            "FROM debian\nENV BIND=0.0.0.0:8080\n",
        ),
        ("manifests/app/admin/Cargo.toml", &admin_toml),
        ("manifests/app/admin/src/main.rs", &admin),
        (
            "manifests/app/docs/example.yaml",
            "env:\n  BIND: 0.0.0.0:9999\n",
        ),
    ]);
    let routes = json(&run_in(
        &dir.path().join("manifests/app"),
        &["routes", ".", "--format", "json"],
    ));
    let listeners: Vec<(String, String)> = routes
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["package"].as_str().unwrap().to_string(),
                r["listeners"][0].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        listeners,
        vec![
            (
                "admin".to_string(),
                "$BIND (default 127.0.0.1:3000)".to_string()
            ),
            ("api".to_string(), "0.0.0.0:8080".to_string()),
        ],
        "{routes}"
    );
}

#[test]
fn an_expiry_checked_in_a_closure_is_checked() {
    let main = r#"
use jwt::VerifyWithKey;

#[derive(serde::Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
}

fn subject(token: &str, key: &hmac::Hmac<sha2::Sha256>, now: u64) -> Option<String> {
    token
        .verify_with_key(key)
        .ok()
        .filter(|c: &Claims| c.exp > now)
        .map(|c| c.sub)
}

fn main() {}
"#;
    let pkg = package(&[("src/main.rs", main)]);
    assert_eq!(
        findings(&pkg, "jwt-expiry-not-validated"),
        Vec::<String>::new()
    );
}

#[test]
fn a_named_file_whose_manifest_is_broken_is_still_analysed_inside_a_workspace() {
    let dir = package(&[
        ("Cargo.toml", "[workspace]\nmembers = [\"a\", \"b\"]\n"),
        (
            "a/Cargo.toml",
            "[package]\nname = \"a\"\n[dependencies]\nb = { path = \"../b\"\n",
        ),
        ("a/src/main.rs", "fn main() { let x = ; }\n"),
        (
            "b/Cargo.toml",
            "[package]\nname = \"b\"\nversion = \"0.1.0\"\n",
        ),
        ("b/src/lib.rs", "pub fn f() {}\n"),
    ]);
    let doc = json(&run_in(
        dir.path(),
        &[
            "check",
            "a/src/main.rs",
            "--format",
            "json",
            "--select",
            "parse-error",
        ],
    ));
    assert_eq!(
        finding_lines(&doc, ""),
        vec!["parse-error a/src/main.rs:1"],
        "{doc}"
    );
}
