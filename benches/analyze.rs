//! Throughput of a full analysis on a generated service: many modules, each a router with handlers,
//! extractors, layers and validated and unvalidated inputs. Run with `cargo bench`; numbers go to stdout.

use portcullis::discover::discover;
use portcullis::engine::{analyze, load_policy};
use std::fmt::Write;
use std::time::Instant;

fn module(i: usize) -> String {
    let mut s = String::new();
    writeln!(
        s,
        "use axum::{{routing::{{get, post}}, Json, Router, extract::{{Path, Query}}}};"
    )
    .unwrap();
    writeln!(s, "use serde::Deserialize;\nuse validator::Validate;\n").unwrap();
    writeln!(s, "#[derive(Deserialize, Validate)]\npub struct Create{i} {{ #[validate(length(max = 64))] name: String, tags: Vec<String> }}").unwrap();
    writeln!(
        s,
        "#[derive(Deserialize)]\npub struct Filter{i} {{ q: Option<String>, page: Option<u32> }}"
    )
    .unwrap();
    for h in 0..8 {
        writeln!(s, "async fn list_{h}(Query(f): Query<Filter{i}>) -> String {{ let _ = f.q; format!(\"{{}}\", {h}) }}").unwrap();
        writeln!(s, "async fn create_{h}(Json(c): Json<Create{i}>) -> String {{ c.validate().ok(); c.name }}").unwrap();
        writeln!(
            s,
            "async fn show_{h}(Path(id): Path<u64>) -> String {{ id.to_string() }}"
        )
        .unwrap();
    }
    writeln!(s, "pub fn router() -> Router {{\n    Router::new()").unwrap();
    for h in 0..8 {
        writeln!(s, "        .route(\"/r{h}\", get(list_{h}).post(create_{h}))\n        .route(\"/r{h}/:id\", get(show_{h}))").unwrap();
    }
    writeln!(
        s,
        "        .layer(tower_http::trace::TraceLayer::new_for_http())\n}}"
    )
    .unwrap();
    s
}

fn main() {
    let modules = 400;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("src/api")).unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"bench-service\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    let mut main = String::from(
        "mod api;\n\n#[tokio::main]\nasync fn main() {\n    let app = axum::Router::new()",
    );
    let mut api_mod = String::new();
    for i in 0..modules {
        std::fs::write(root.join(format!("src/api/m{i}.rs")), module(i)).unwrap();
        writeln!(api_mod, "pub mod m{i};").unwrap();
        write!(main, "\n        .nest(\"/m{i}\", api::m{i}::router())").unwrap();
    }
    main.push_str(";\n    let l = tokio::net::TcpListener::bind(\"0.0.0.0:8080\").await.unwrap();\n    axum::serve(l, app).await.unwrap();\n}\n");
    std::fs::write(root.join("src/api/mod.rs"), api_mod).unwrap();
    std::fs::write(root.join("src/main.rs"), main).unwrap();

    let policy = load_policy(&[]).unwrap();
    let bytes: u64 = walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum();
    let runs = 5;
    let mut best = f64::MAX;
    let mut findings = 0;
    let mut routes = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let disc = discover(&[root.to_path_buf()], Default::default()).unwrap();
        let out = analyze(&disc, &policy, &|_| true);
        best = best.min(t.elapsed().as_secs_f64());
        findings = out.findings.len();
        routes = out.model.routes.len();
    }
    println!(
        "analyze: {} files, {:.1} MiB, {routes} routes, {findings} findings: best of {runs} {:.3}s ({:.0} files/s)",
        modules + 2,
        bytes as f64 / (1024.0 * 1024.0),
        best,
        (modules + 2) as f64 / best
    );
}
