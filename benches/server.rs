//! The language server's latency: from an edit of one file (`didChange` with unsaved text) to that
//! file's diagnostics, in a package of 500 files with a warm cache. Measured in the same run against
//! the pre-commit case (`portcullis check FILE` with the same warm cache after the same change: a new
//! process, discovery, the unit's analysis), so the machine's speed cancels out of the ratio.
//!
//! `cargo bench --bench server` generates a 500-file axum service in a scratch directory;
//! `cargo bench --bench server -- DIR FILE` measures a real package instead (copied first: `.rs`,
//! `.toml`, `Cargo.lock`). Target: ≤ 300 ms from change to diagnostics.

#[path = "../tests/support/lsp.rs"]
mod lsp;

use serde_json::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const EDITS: usize = 15;

/// A service of `n` files: a router per module, each with handlers that query a database, and one
/// SQL query built from request input in `src/routes/m0.rs` (so the edited file always has a finding).
fn generate(root: &Path, n: usize) -> PathBuf {
    let src = root.join("src/routes");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"bench-service\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\naxum = \"0.7\"\nsqlx = \"0.8\"\nserde = \"1\"\ntokio = \"1\"\n",
    )
    .unwrap();
    let modules = n - 2;
    let mut main = String::from("mod routes;\nuse axum::Router;\n\n#[tokio::main]\nasync fn main() {\n    let pool = sqlx::PgPool::connect_lazy(\"postgres://db/app\").unwrap();\n    let app = routes::router().with_state(pool);\n    let listener = tokio::net::TcpListener::bind(\"127.0.0.1:8080\").await.unwrap();\n    axum::serve(listener, app).await.unwrap();\n}\n");
    main.push('\n');
    std::fs::write(root.join("src/main.rs"), main).unwrap();
    let mut m = String::from("use axum::Router;\nuse sqlx::PgPool;\n\n");
    for i in 0..modules {
        writeln!(m, "pub mod m{i};").unwrap();
    }
    m.push_str("\npub fn router() -> Router<PgPool> {\n    Router::new()\n");
    for i in 0..modules {
        writeln!(m, "        .nest(\"/m{i}\", m{i}::router())").unwrap();
    }
    m.push_str("}\n");
    std::fs::write(src.join("mod.rs"), m).unwrap();
    for i in 0..modules {
        let mut f = format!(
            "use axum::extract::{{Path, Query, State}};\nuse axum::routing::get;\nuse axum::{{Json, Router}};\nuse serde::{{Deserialize, Serialize}};\nuse sqlx::PgPool;\n\n#[derive(Deserialize)]\npub struct Filter{i} {{\n    pub name: String,\n    pub limit: u32,\n}}\n\n#[derive(Serialize, sqlx::FromRow)]\npub struct Item{i} {{\n    pub id: i64,\n    pub name: String,\n}}\n\npub fn router() -> Router<PgPool> {{\n    Router::new()\n        .route(\"/\", get(list))\n        .route(\"/:id\", get(show))\n}}\n\n"
        );
        let query = if i == 0 {
            "    let sql = format!(\"SELECT id, name FROM items WHERE name = '{}' LIMIT {}\", filter.name, filter.limit);\n    let rows = sqlx::query_as::<_, Item0>(&sql).fetch_all(&db).await.unwrap();\n".to_string()
        } else {
            format!("    let rows = sqlx::query_as::<_, Item{i}>(\"SELECT id, name FROM items WHERE name = $1 LIMIT $2\")\n        .bind(&filter.name)\n        .bind(filter.limit as i64)\n        .fetch_all(&db)\n        .await\n        .unwrap();\n")
        };
        write!(
            f,
            "async fn list(State(db): State<PgPool>, Query(filter): Query<Filter{i}>) -> Json<Vec<Item{i}>> {{\n{query}    Json(rows)\n}}\n\nasync fn show(State(db): State<PgPool>, Path(id): Path<i64>) -> Json<Item{i}> {{\n    let row = sqlx::query_as::<_, Item{i}>(\"SELECT id, name FROM items WHERE id = $1\")\n        .bind(id)\n        .fetch_one(&db)\n        .await\n        .unwrap();\n    Json(row)\n}}\n"
        )
        .unwrap();
        std::fs::write(src.join(format!("m{i}.rs")), f).unwrap();
    }
    src.join("m0.rs")
}

fn copy_package(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from)
        .into_iter()
        .filter_entry(|e| !matches!(e.file_name().to_str(), Some(".git" | "target")))
        .filter_map(Result::ok)
    {
        let name = e.file_name().to_string_lossy();
        if e.file_type().is_file()
            && (name.ends_with(".rs") || name.ends_with(".toml") || name == "Cargo.lock")
        {
            let dest = to.join(e.path().strip_prefix(from).unwrap());
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

fn check(args: &[&Path], cache: &Path) -> f64 {
    let t = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg("check")
        .arg("--cache-dir")
        .arg(cache)
        .arg("--exit-zero")
        .args(args)
        .output()
        .expect("run portcullis check")
        .status;
    assert!(status.success(), "portcullis check failed: {status}");
    t.elapsed().as_secs_f64() * 1000.0
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path().canonicalize().unwrap().join("package");
    let cache = scratch.path().join("cache");
    let file = match args.as_slice() {
        [dir, file, ..] => {
            copy_package(Path::new(dir), &root);
            root.join(Path::new(file).strip_prefix(dir).unwrap_or(Path::new(file)))
        }
        _ => generate(&root, 500),
    };
    let files = walkdir::WalkDir::new(&root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        .count();
    println!(
        "package: {} ({files} .rs files), edited: {}",
        root.display(),
        file.display()
    );
    let cold = check(&[&root], &cache);
    let original = std::fs::read_to_string(&file).unwrap();
    let mut pre_commit = vec![];
    for n in 0..5 {
        std::fs::write(&file, format!("{original}// edit {n}\n")).unwrap();
        pre_commit.push(check(&[&file], &cache));
    }
    std::fs::write(&file, &original).unwrap();
    check(&[&root], &cache);

    let cache_arg = cache.to_string_lossy().to_string();
    let mut client = lsp::Client::start(&root, &["--cache-dir", &cache_arg], Value::Null);
    let name = file
        .strip_prefix(&root)
        .unwrap()
        .to_string_lossy()
        .to_string();
    let t = Instant::now();
    client.open(&file, 1);
    client.diagnostics_of_version(&name, 1);
    let first = t.elapsed().as_secs_f64() * 1000.0;
    let mut latencies = vec![];
    for v in 2..2 + EDITS as i32 {
        let text = format!("{original}// unsaved edit {v}\n");
        let t = Instant::now();
        client.change(&file, v, &text);
        client.diagnostics_of_version(&name, v);
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    client.shutdown();
    let best = latencies.iter().copied().fold(f64::INFINITY, f64::min);
    let med = median(&mut latencies);
    let pc = median(&mut pre_commit);
    println!("cold check of the package:              {cold:8.0} ms");
    println!("pre-commit check of the file (median):  {pc:8.0} ms");
    println!("server: open to first diagnostics:      {first:8.0} ms");
    println!(
        "server: change to diagnostics, median:  {med:8.0} ms  ({:.2} × the pre-commit check; best {best:.0} ms over {EDITS} edits; target ≤ 300 ms)",
        med / pc
    );
}
