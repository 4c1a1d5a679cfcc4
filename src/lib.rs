//! portcullis: a policy-as-code security linter for Rust and Python (FastAPI) web services.
//!
//! The pipeline, one module each: [`discover`] → [`facts`] (parse once, one pass per file) → [`model`]
//! (routes, middleware, handlers, listeners across files) → [`rules`] (declarative TOML rules over the
//! model) → [`report`]. [`engine`] runs it; [`commands`] implements the CLI.
//!
//! Using the library directly, on sources held in memory:
//!
//! ```
//! use portcullis::engine::{analyze_sources, load_policy};
//!
//! let policy = load_policy(&[]).expect("the built-in rules load");
//! let main = r#"
//!     #[tokio::main]
//!     async fn main() {
//!         let app = axum::Router::new();
//!         let listener = tokio::net::TcpListener::bind("0.0.0.0:80").await.unwrap();
//!         axum::serve(listener, app).await.unwrap();
//!     }
//! "#;
//! let outcome = analyze_sources("demo", &[("src/main.rs", main)], &policy, &|_| true);
//! let finding = &outcome.findings[0];
//! assert_eq!(finding.rule, "plaintext-listener");
//! assert_eq!(finding.loc.span.line, 5);
//! ```

pub mod advisories;
pub mod baseline;
pub mod catalog;
pub mod cli;
pub mod commands;
pub mod config;
pub mod diff;
pub mod discover;
pub mod engine;
pub mod facts;
pub mod fingerprint;
pub mod frontend;
pub mod model;
pub mod policy_error;
pub mod project;
pub mod report;
pub mod rules;
pub mod server;
pub mod source;
pub mod suppress;
