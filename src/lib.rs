//! portcullis: a policy-as-code security linter for Rust web services.
//!
//! The pipeline, one module each: [`discover`] → [`facts`] (parse once, one pass per file) → [`model`]
//! (routes, middleware, handlers, listeners across files) → [`rules`] (declarative TOML rules over the
//! model) → [`report`]. [`engine`] runs it; [`commands`] implements the CLI.

pub mod catalog;
pub mod cli;
pub mod commands;
pub mod discover;
pub mod engine;
pub mod facts;
pub mod model;
pub mod policy_error;
pub mod report;
pub mod rules;
pub mod source;
pub mod suppress;
