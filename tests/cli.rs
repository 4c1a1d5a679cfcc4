//! The command line as users meet it: exit codes, selection, custom rules and catalog extensions,
//! located errors in rule files, explicit file arguments, suppressions, `rules` and `explain`.

mod common;
use common::*;

const CLEAN_SERVICE: &str = r#"
use axum::{routing::get, Router};
use axum_server::tls_rustls::RustlsConfig;
use std::sync::Arc;
use tower_governor::{governor::GovernorConfigBuilder, GovernorLayer};

async fn index() -> &'static str {
    "hello"
}

#[tokio::main]
async fn main() {
    let config = Arc::new(GovernorConfigBuilder::default().finish().unwrap());
    let app = Router::new()
        .route("/", get(index))
        .layer(GovernorLayer::new(config))
        .layer(tower_http::trace::TraceLayer::new_for_http());
    let tls = RustlsConfig::from_pem_file("cert.pem", "key.pem").await.unwrap();
    axum_server::bind_rustls("0.0.0.0:443".parse().unwrap(), tls).serve(app.into_make_service()).await.unwrap();
}
"#;

#[test]
fn a_clean_service_exits_zero() {
    let pkg = package(&[("src/main.rs", CLEAN_SERVICE)]);
    let out = run_in(pkg.path(), &["check", "."]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn test_bench_and_example_code_is_not_the_service() {
    // The conventional directories, and targets the manifest puts elsewhere.
    let bad = "fn c() -> reqwest::Client {\n    reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap()\n}\n";
    let pkg = package(&[
        ("src/main.rs", CLEAN_SERVICE),
        ("tests/api.rs", bad),
        ("benches/load.rs", bad),
        ("examples/demo.rs", bad),
        ("src/tests/mod.rs", "mod signup;\n"),
        ("src/tests/signup.rs", bad),
        ("perf/throughput.rs", bad),
        ("perf/throughput/helpers.rs", bad),
        ("perf/other.rs", bad),
    ]);
    let manifest = pkg.path().join("Cargo.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str(
        "\n[[test]]\nname = \"integration\"\npath = \"src/tests/mod.rs\"\n\n[[bench]]\nname = \"throughput\"\npath = \"perf/throughput.rs\"\nharness = false\n",
    );
    std::fs::write(&manifest, text).unwrap();
    let out = run_in(pkg.path(), &["check", ".", "--format", "json"]);
    // Only the loose file that no target claims is analysed as service code.
    assert_eq!(finding_field(&json(&out), "file"), ["perf/other.rs"]);
}

#[test]
fn findings_exit_one_unless_below_fail_on_or_exit_zero() {
    let pkg = package(&[
        ("src/main.rs", PLAINTEXT_SERVICE),
        ("portcullis.toml", EVERY_TIER),
    ]);
    assert_eq!(run_in(pkg.path(), &["check"]).status.code(), Some(1));
    assert_eq!(
        run_in(pkg.path(), &["check", "--exit-zero"]).status.code(),
        Some(0)
    );
    // Only warnings remain once the error rule is ignored: `--fail-on error` passes, the default fails.
    assert_eq!(
        run_in(pkg.path(), &["check", "--ignore", "plaintext-listener"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        run_in(
            pkg.path(),
            &[
                "check",
                "--ignore",
                "plaintext-listener",
                "--fail-on",
                "error"
            ]
        )
        .status
        .code(),
        Some(0)
    );
}

#[test]
fn select_and_ignore_choose_rules() {
    let pkg = package(&[
        ("src/main.rs", PLAINTEXT_SERVICE),
        ("portcullis.toml", EVERY_TIER),
    ]);
    let three = "plaintext-listener,missing-rate-limit,unvalidated-input";
    let rules_of = |doc: &serde_json::Value| -> Vec<String> {
        let mut r: Vec<String> = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap().to_string())
            .collect();
        r.sort();
        r
    };
    let selected = json(&run_in(
        pkg.path(),
        &["check", "--format", "json", "--select", three],
    ));
    assert_eq!(
        rules_of(&selected),
        [
            "missing-rate-limit",
            "plaintext-listener",
            "unvalidated-input"
        ]
    );
    let only = json(&run_in(
        pkg.path(),
        &["check", "--format", "json", "--select", "unvalidated-input"],
    ));
    assert_eq!(rules_of(&only), ["unvalidated-input"]);
    let without = json(&run_in(
        pkg.path(),
        &[
            "check",
            "--format",
            "json",
            "--select",
            three,
            "--ignore",
            "unvalidated-input,missing-rate-limit",
        ],
    ));
    assert_eq!(rules_of(&without), ["plaintext-listener"]);
    // Without --select every rule runs: more than the three.
    let all = json(&run_in(pkg.path(), &["check", "--format", "json"]));
    assert!(rules_of(&all).len() > 3);
}

#[test]
fn unknown_rule_ids_and_paths_are_usage_errors() {
    let pkg = package(&[
        ("src/main.rs", PLAINTEXT_SERVICE),
        ("portcullis.toml", EVERY_TIER),
    ]);
    let out = run_in(pkg.path(), &["check", "--select", "plaintext-listner"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("did you mean `plaintext-listener`"),
        "{}",
        stderr(&out)
    );
    let out = run_in(pkg.path(), &["check", "does/not/exist"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does/not/exist"));
    let out = run_in(pkg.path(), &["check", "--format", "xml"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_custom_rule_from_a_directory_fires_without_rust_changes() {
    let pkg = package(&[(
        "src/main.rs",
        r#"
fn client() -> reqwest::Client {
    reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap()
}
fn safe() -> reqwest::Client {
    reqwest::Client::builder().danger_accept_invalid_certs(false).build().unwrap()
}
"#,
    )]);
    let rules = tempfile::tempdir().unwrap();
    std::fs::write(
        rules.path().join("no-invalid-certs.toml"),
        r#"
id = "no-invalid-certs"
title = "TLS certificate checks disabled"
severity = "error"
category = "transport"
tags = ["CWE-295"]
description = "Accepting invalid certificates lets anyone in the middle read the traffic."
message = "`{name}({args.0.text})` in `{function}` turns certificate validation off"
help = "remove the call, or pin the expected certificate"

[[match]]
target = "call"
when = { all = [{ prop = "name", equals = "danger_accept_invalid_certs" }, { prop = "args.0.value", equals = true }] }
"#,
    )
    .unwrap();
    let dir = rules.path().to_str().unwrap();
    let doc = json(&run_in(
        pkg.path(),
        &[
            "check",
            "--format",
            "json",
            "--rules",
            dir,
            "--select",
            "no-invalid-certs",
        ],
    ));
    let f = doc["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1, "{doc}");
    assert_eq!(f[0]["line"], 3);
    assert_eq!(
        f[0]["message"],
        "`danger_accept_invalid_certs(true)` in `client` turns certificate validation off"
    );
    let listed = stdout(&run(&["rules", "--rules", dir]));
    assert!(listed.contains("no-invalid-certs"));

    // `rules` and `explain` see the rule directories of the project configuration, as `check` does.
    assert!(!stdout(&run_in(pkg.path(), &["rules"])).contains("no-invalid-certs"));
    std::fs::write(
        pkg.path().join("portcullis.toml"),
        format!("rules = [{dir:?}]\n"),
    )
    .unwrap();
    assert!(stdout(&run_in(pkg.path(), &["rules"])).contains("no-invalid-certs"));
    let explained = run_in(pkg.path(), &["explain", "no-invalid-certs"]);
    assert_eq!(explained.status.code(), Some(0), "{}", stderr(&explained));
    assert!(stdout(&explained).contains("lets anyone in the middle read the traffic"));
    let elsewhere = tempfile::tempdir().unwrap();
    let config = pkg.path().join("portcullis.toml");
    let explained = run_in(
        elsewhere.path(),
        &[
            "explain",
            "no-invalid-certs",
            "--config",
            config.to_str().unwrap(),
        ],
    );
    assert_eq!(explained.status.code(), Some(0), "{}", stderr(&explained));
}

#[test]
fn a_catalog_extension_teaches_the_projects_own_auth_layer() {
    let src = r#"
use axum::{http::header, routing::get, Router};
use crate::auth::RequireUser;

mod auth;

async fn me() -> ([(header::HeaderName, &'static str); 1], &'static str) {
    ([(header::CACHE_CONTROL, "public, max-age=60")], "{}")
}

pub fn app() -> Router {
    Router::new().route("/me", get(me)).layer(RequireUser::new())
}
"#;
    let pkg = package(&[
        ("src/main.rs", src),
        ("src/auth.rs", "pub struct RequireUser;\n"),
    ]);
    let before = json(&run_in(
        pkg.path(),
        &[
            "check",
            "--format",
            "json",
            "--select",
            "unauthenticated-cached-route",
        ],
    ));
    assert!(
        before["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("looks private"),
        "{before}"
    );

    let ext = tempfile::tempdir().unwrap();
    std::fs::create_dir(ext.path().join("catalog")).unwrap();
    std::fs::write(
        ext.path().join("catalog/ours.toml"),
        "[[layer]]\nname = \"our session check\"\nmatch = [\"RequireUser::new\"]\ncapability = \"auth\"\n",
    )
    .unwrap();
    let after = json(&run_in(
        pkg.path(),
        &[
            "check",
            "--format",
            "json",
            "--select",
            "unauthenticated-cached-route",
            "--rules",
            ext.path().to_str().unwrap(),
        ],
    ));
    assert!(
        after["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("authenticated route `GET /me`"),
        "{after}"
    );
}

#[test]
fn broken_rule_files_are_located_errors_reported_together() {
    let rules = tempfile::tempdir().unwrap();
    std::fs::write(rules.path().join("bad-toml.toml"), "id = \"x\"\ntitle = \n").unwrap();
    std::fs::write(
        rules.path().join("bad-parts.toml"),
        r#"id = "bad-parts"
title = "t"
severity = "eror"
category = "c"
description = "d"
message = "{pathh}"

[[match]]
target = "route"
when = { prop = "path", matches = "([a-z" }
"#,
    )
    .unwrap();
    std::fs::write(
        rules.path().join("unknown-key.toml"),
        "id = \"unknown-key\"\ntitle = \"t\"\nseverity = \"note\"\ncategory = \"c\"\ndescription = \"d\"\nmesage = \"m\"\n[[match]]\ntarget = \"route\"\n",
    )
    .unwrap();
    let dir = rules.path().to_str().unwrap();
    let out = run(&["check", "fixtures/axum-shop", "--rules", dir]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("bad-toml.toml:2:9"), "{err}");
    assert!(
        err.contains("bad-parts.toml:3:12")
            && err.contains("unknown severity `eror`")
            && err.contains("did you mean `error`"),
        "{err}"
    );
    assert!(
        err.contains("unknown placeholder `{pathh}`") && err.contains("did you mean `path`"),
        "{err}"
    );
    assert!(err.contains("invalid regular expression"), "{err}");
    assert!(
        err.contains("unknown-key.toml:6:1") && err.contains("did you mean `message`"),
        "{err}"
    );

    let doc = json(&run(&[
        "check",
        "fixtures/axum-shop",
        "--rules",
        dir,
        "--format",
        "json",
    ]));
    let errors = doc["errors"].as_array().unwrap();
    assert!(errors.len() >= 5, "{doc}");
    assert!(errors
        .iter()
        .all(|e| e["line"].as_u64().unwrap() >= 1 && e["file"].is_string()));
}

#[test]
fn unknown_properties_and_targets_are_reported_with_suggestions() {
    let rules = tempfile::tempdir().unwrap();
    std::fs::write(
        rules.path().join("r.toml"),
        r#"id = "r"
title = "t"
severity = "note"
category = "c"
description = "d"
message = "m"

[[match]]
target = "rout"

[[match]]
target = "route"
when = { all = [{ prop = "auth.statuz", equals = "none" }, { some = "middleware", where = { prop = "capabilty", equals = "auth" } }] }
"#,
    )
    .unwrap();
    let out = run(&["rules", "--rules", rules.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("unknown target `rout`") && err.contains("did you mean `route`"),
        "{err}"
    );
    assert!(
        err.contains("unknown property `auth.statuz`") && err.contains("did you mean `status`"),
        "{err}"
    );
    assert!(
        err.contains("unknown property `capabilty`") && err.contains("did you mean `capability`"),
        "{err}"
    );
}

#[test]
fn explicit_files_are_analysed_in_their_package_but_only_they_are_reported() {
    let doc = json(&run(&[
        "check",
        "fixtures/axum-shop/src/routes/api.rs",
        "--format",
        "json",
    ]));
    // The cart route is registered in api.rs; its auth and cache evidence lives in other files.
    assert_eq!(
        finding_lines(&doc, "fixtures/axum-shop/"),
        vec!["unauthenticated-cached-route src/routes/api.rs:22"]
    );
    let doc = json(&run(&[
        "check",
        "fixtures/axum-shop/src/handlers/account.rs",
        "--format",
        "json",
    ]));
    assert!(doc["findings"].as_array().unwrap().is_empty());
}

#[test]
fn suppression_comments_hide_a_finding_with_its_reason() {
    let src = PLAINTEXT_SERVICE.replace(
        "    let listener",
        "    // portcullis: ignore[plaintext-listener] TLS terminates at the load balancer\n    let listener",
    );
    let pkg = package(&[("src/main.rs", &src), ("portcullis.toml", EVERY_TIER)]);
    let doc = json(&run_in(pkg.path(), &["check", "--format", "json"]));
    let rules: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(!rules.contains(&"plaintext-listener"), "{rules:?}");
    assert_eq!(doc["summary"]["suppressed"], 1);
}

#[test]
fn rules_and_explain_describe_the_pack() {
    let list = json(&run(&["rules", "--format", "json"]));
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    for id in [
        "plaintext-listener",
        "missing-rate-limit",
        "unvalidated-input",
        "unauthenticated-cached-route",
    ] {
        assert!(ids.contains(&id), "{ids:?}");
    }
    let human = stdout(&run(&["rules"]));
    assert!(human.contains("plaintext-listener") && human.contains("error"));
    let out = run(&["explain", "unauthenticated-cached-route"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("What it finds")
            && text.contains("How to fix it")
            && text.contains("── bad:")
            && text.contains("── good:")
    );
    let out = run(&["explain", "missing-rate-limt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("did you mean `missing-rate-limit`"));
}

#[test]
fn files_that_cannot_be_parsed_or_decoded_do_not_hide_other_findings() {
    let pkg = package(&[
        ("src/main.rs", PLAINTEXT_SERVICE),
        ("portcullis.toml", EVERY_TIER),
        ("src/broken.rs", "fn x( {\n"),
    ]);
    std::fs::write(pkg.path().join("src/latin1.rs"), b"// caf\xe9\nfn y() {}\n").unwrap();
    let doc = json(&run_in(pkg.path(), &["check", "--format", "json"]));
    let lines = finding_lines(&doc, "");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("parse-error src/broken.rs:")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l == "parse-error src/latin1.rs:1"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("plaintext-listener src/main.rs:")),
        "{lines:?}"
    );
}

#[test]
fn a_layer_applied_to_the_whole_router_wraps_every_route() {
    let src = r#"
use axum::{routing::get, Router, middleware, extract::Request, middleware::Next, response::Response, http::StatusCode};
use tower::Layer;

async fn guard(req: Request, next: Next) -> Result<Response, StatusCode> {
    let Some(_token) = req.headers().get("x-api-key") else { return Err(StatusCode::UNAUTHORIZED) };
    Ok(next.run(req).await)
}

async fn billing() -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
    ([(axum::http::header::CACHE_CONTROL, "public, max-age=60")], "{}")
}

pub fn app() -> Router {
    let router = Router::new().route("/billing", get(billing));
    let router = middleware::from_fn(guard).layer(router);
    router
}
"#;
    let pkg = package(&[("src/main.rs", src)]);
    let doc = json(&run_in(
        pkg.path(),
        &[
            "check",
            "--format",
            "json",
            "--select",
            "unauthenticated-cached-route",
        ],
    ));
    let msg = doc["findings"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        msg.starts_with("authenticated route `GET /billing`"),
        "{doc}"
    );
}

#[test]
fn a_token_from_the_path_that_is_verified_authenticates_the_route() {
    let src = r#"
use axum::{extract::Path, http::{header, StatusCode}, routing::get, Router};

fn verify_token(token: &str) -> Result<u64, StatusCode> {
    token.parse::<u64>().map_err(|_| StatusCode::FORBIDDEN)
}

async fn download(Path(token): Path<String>) -> Result<([(header::HeaderName, &'static str); 1], &'static str), StatusCode> {
    let _user = verify_token(&token)?;
    Ok(([(header::CACHE_CONTROL, "public, max-age=3600")], "file"))
}

pub fn app() -> Router {
    Router::new().route("/downloads/:token", get(download))
}
"#;
    let pkg = package(&[("src/main.rs", src)]);
    let doc = json(&run_in(
        pkg.path(),
        &[
            "check",
            "--format",
            "json",
            "--select",
            "unauthenticated-cached-route",
        ],
    ));
    assert_eq!(doc["findings"].as_array().unwrap().len(), 1, "{doc}");
    assert!(doc["findings"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("authenticated route `GET /downloads/:token`"));
}

#[test]
fn rules_can_target_types_and_handlers() {
    let rules = tempfile::tempdir().unwrap();
    std::fs::write(
        rules.path().join("password-field.toml"),
        r#"id = "plain-password-field"
title = "Password held in a plain String"
severity = "note"
category = "secrets"
description = "A password field should be a secrecy::SecretString so it cannot be logged by accident."
message = "`{name}` keeps a password in a plain `String`"

[[match]]
target = "type"
when = { some = "fields", where = { all = [{ prop = "name", matches = "password" }, { prop = "type", equals = "String" }] } }
"#,
    )
    .unwrap();
    let dir = rules.path().to_str().unwrap();
    let doc = json(&run(&[
        "check",
        "fixtures/axum-shop",
        "--format",
        "json",
        "--rules",
        dir,
        "--select",
        "plain-password-field",
    ]));
    assert_eq!(
        finding_lines(&doc, "fixtures/axum-shop/"),
        vec!["plain-password-field src/handlers/auth.rs:9"]
    );
}

#[test]
fn a_directory_inside_a_package_is_analysed_with_its_whole_package() {
    // The listener address comes from `config/default.toml`, outside `src/`: it is still resolved.
    let doc = json(&run(&[
        "check",
        "fixtures/axum-shop/src",
        "--format",
        "json",
        "--select",
        "plaintext-listener",
    ]));
    assert_eq!(doc["findings"][0]["severity"], "error", "{doc}");
    assert!(doc["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("0.0.0.0:8080"));
    // Only findings below the named directory are reported.
    let doc = json(&run(&[
        "check",
        "fixtures/axum-shop/src/routes",
        "--format",
        "json",
        "--select",
        "all",
    ]));
    assert_eq!(
        finding_lines(&doc, "fixtures/axum-shop/"),
        vec![
            "unauthenticated-cached-route src/routes/api.rs:22",
            "wildcard-cors src/routes/mod.rs:14",
            "unauthenticated-cached-route src/routes/public.rs:12"
        ]
    );
    // A directory of workspace members analyses exactly those members.
    let doc = json(&run(&[
        "check",
        "fixtures/axum-workspace/crates",
        "--format",
        "json",
    ]));
    assert_eq!(doc["summary"]["packages"], 2);
}

#[test]
fn reexported_handlers_resolve_and_fallible_conversions_validate() {
    let main = r#"
mod domain;
mod routes;

use crate::routes::{subscribe, unsubscribe};
use axum::{routing::post, Router};

pub fn app() -> Router {
    Router::new().route("/subscriptions", post(subscribe)).route("/unsubscribe", post(unsubscribe))
}
"#;
    let routes = r#"
mod subscriptions;
pub use subscriptions::*;
"#;
    let subscriptions = r#"
use crate::domain::NewSubscriber;
use axum::{http::StatusCode, Form};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct FormData {
    email: String,
    name: String,
}

pub async fn subscribe(form: Form<FormData>) -> Result<StatusCode, StatusCode> {
    let subscriber: NewSubscriber = form.0.try_into().map_err(|_| StatusCode::BAD_REQUEST)?;
    let _ = subscriber;
    Ok(StatusCode::CREATED)
}

pub async fn unsubscribe(form: Form<FormData>) -> StatusCode {
    let _ = (&form.email, &form.name);
    StatusCode::OK
}
"#;
    let domain = r#"
use crate::routes::FormData;

pub struct NewSubscriber(String);

impl TryFrom<FormData> for NewSubscriber {
    type Error = String;
    fn try_from(f: FormData) -> Result<Self, String> {
        Err(String::from("checked here"))
    }
}
"#;
    let pkg = package(&[
        ("src/main.rs", main),
        ("src/routes/mod.rs", routes),
        ("src/routes/subscriptions.rs", subscriptions),
        ("src/domain.rs", domain),
    ]);
    let doc = json(&run_in(
        pkg.path(),
        &["check", "--format", "json", "--select", "unvalidated-input"],
    ));
    assert_eq!(
        finding_lines(&doc, ""),
        vec!["unvalidated-input src/routes/subscriptions.rs:18"],
        "{doc}"
    );
}

const LOCKED_H2: &str = r#"version = 3

[[package]]
name = "h2"
version = "0.4.5"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "scratch"
version = "0.1.0"
"#;

fn advisory_db(advisory: &str) -> tempfile::TempDir {
    let db = tempfile::tempdir().unwrap();
    let dir = db.path().join("crates/h2");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("RUSTSEC-2099-0001.md"), advisory).unwrap();
    std::fs::write(db.path().join("README.md"), "# An advisory database\n").unwrap();
    db
}

const H2_ADVISORY: &str = r#"```toml
[advisory]
id = "RUSTSEC-2099-0001"
package = "h2"
date = "2099-01-01"

[versions]
patched = [">= 0.4.6"]
```

# A made-up flaw in h2
"#;

#[test]
fn an_advisory_database_adds_its_advisories() {
    let pkg = package(&[("Cargo.lock", LOCKED_H2), ("src/main.rs", "fn main() {}\n")]);
    let path = pkg.path().to_str().unwrap();
    // The curated set knows nothing against h2 0.4.5.
    let out = run(&["check", path, "--select", "vulnerable-dependency"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let db = advisory_db(H2_ADVISORY);
    let out = run(&[
        "check",
        path,
        "--select",
        "vulnerable-dependency",
        "--advisory-db",
        db.path().to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    let f = &doc["findings"][0];
    assert_eq!(f["line"], 5);
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("`h2 0.4.5` is affected by RUSTSEC-2099-0001"),
        "{f}"
    );
    assert!(f["help"].as_str().unwrap().contains(">= 0.4.6"), "{f}");
}

#[test]
fn a_broken_advisory_is_a_located_error() {
    let pkg = package(&[("Cargo.lock", LOCKED_H2), ("src/main.rs", "fn main() {}\n")]);
    let db = advisory_db(&H2_ADVISORY.replace(">= 0.4.6", ">= 0.4.x6"));
    let out = run(&[
        "check",
        pkg.path().to_str().unwrap(),
        "--advisory-db",
        db.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("invalid version requirement"), "{err}");
    assert!(err.contains("RUSTSEC-2099-0001.md:8:13"), "{err}");
    let out = run(&["check", ".", "--advisory-db", "no/such/db"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does not exist"));
}

#[test]
fn stale_misspelt_and_unexplained_suppressions_are_reported() {
    let src = PLAINTEXT_SERVICE
        .replace(
            "    let listener",
            "    // portcullis: ignore[plaintext-listener]\n    let listener",
        )
        .replace(
            "async fn echo",
            "// portcullis: ignore[unvalidated-input] the echo is for load-balancer checks\nasync fn echo",
        )
        + "\nfn unused() {\n    // portcullis: ignore[tls-verification-disabled] old client\n}\n";
    let pkg = package(&[("src/main.rs", &src)]);
    let dir = pkg.path().to_str().unwrap();
    let doc = json(&run(&[
        "check",
        dir,
        "--format",
        "json",
        "--select",
        "unused-suppression,plaintext-listener,unvalidated-input,tls-verification-disabled",
    ]));
    let lines = finding_lines(&doc, &format!("{dir}/"));
    assert_eq!(lines, vec!["unused-suppression src/main.rs:20"], "{doc}");
    // A suppression of a rule that did not run is not called unused.
    let doc = json(&run(&[
        "check",
        dir,
        "--format",
        "json",
        "--select",
        "unused-suppression,plaintext-listener,unvalidated-input",
    ]));
    assert!(finding_lines(&doc, "").is_empty(), "{doc}");
    // The configuration can require reasons.
    std::fs::write(
        pkg.path().join("portcullis.toml"),
        "require-suppression-reason = true\n",
    )
    .unwrap();
    let doc = json(&run(&[
        "check",
        dir,
        "--format",
        "json",
        "--select",
        "unused-suppression,plaintext-listener,unvalidated-input",
    ]));
    let f = &doc["findings"][0];
    assert_eq!(f["line"], 12, "{doc}");
    assert!(f["message"].as_str().unwrap().contains("gives no reason"));
}
