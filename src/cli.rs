//! Command-line interface definitions.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about = "Policy-as-code security linter for Rust and Python (FastAPI) web services"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per run: the size of the largest variant costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse Rust and Python web services and report policy violations.
    Check(CheckArgs),
    /// List every rule.
    Rules(RulesArgs),
    /// Explain a rule: what it finds, why it matters, how to fix it, with examples.
    Explain(ExplainArgs),
    /// Write a commented starter `portcullis.toml`.
    Init(InitArgs),
    /// List every route with its handler and what protects it: authentication, rate limit, cache
    /// policy, input validation, body limit, TLS.
    Routes(RoutesArgs),
    /// Run as a language server (LSP over stdio): diagnostics as you type, quick fixes to suppress a
    /// finding, each route's protections on hover.
    Server(ServerArgs),
}

/// The language server's settings; an editor can pass the same ones as `initializationOptions`
/// (`select`, `ignore`, `config`, `rules`, `cache-dir`, `no-cache`, ...), which take precedence.
#[derive(Debug, Args)]
pub struct ServerArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Only these rules (see `check --select`).
    #[arg(long, value_delimiter = ',', value_name = "RULE,...")]
    pub select: Vec<String>,
    /// Skip these rules (see `check --ignore`).
    #[arg(long, value_delimiter = ',', value_name = "RULE,...")]
    pub ignore: Vec<String>,
    /// The configuration file (default: found by walking up from each workspace folder).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The cache directory (see `check --cache-dir`).
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    pub cache_dir: Option<PathBuf>,
    /// Neither read nor write the cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Accepted for editors that pass it (`--stdio` is the only transport).
    #[arg(long, hide = true)]
    pub stdio: bool,
}

#[derive(Debug, Args)]
pub struct RoutesArgs {
    /// Files or directories to analyse.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// The configuration file (default: found by walking up from the first path).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Follow symbolic links met while walking the tree (see `check --follow-symlinks`).
    #[arg(long)]
    pub follow_symlinks: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The directory to write `portcullis.toml` in.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Overwrite an existing `portcullis.toml`.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

/// Output formats of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Diagnostics with source snippets (codespan).
    Human,
    /// One JSON document.
    Json,
    /// One JSON finding per line.
    Jsonl,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF consumers.
    Sarif,
    /// GitHub Actions annotations.
    Github,
    /// rustc's JSON diagnostics, one per line (rust-analyzer `check.overrideCommand`).
    RustcJson,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Note,
}

#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Extra rule directory (`*.toml` rules; `catalog/*.toml` catalog extensions). Repeatable.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files or directories to analyse (files are analysed within their package).
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    pub format: CheckFormat,
    /// Print the number of findings per rule instead of the findings.
    #[arg(long)]
    pub statistics: bool,
    /// SARIF `automationDetails.id`: distinguishes several analyses of one repository in code scanning.
    #[arg(long, value_name = "CATEGORY")]
    pub sarif_category: Option<String>,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Only these rules (comma-separated ids, tags such as `cwe-89` (default tier only), the tiers
    /// `default` and `audit`, or `all`); replaces the config's `select`.
    #[arg(long, value_delimiter = ',', value_name = "RULE,...")]
    pub select: Vec<String>,
    /// Skip these rules (comma-separated ids, tags or tiers); added to the config's `ignore`.
    #[arg(long, value_delimiter = ',', value_name = "RULE,...")]
    pub ignore: Vec<String>,
    /// The lowest severity that makes the run fail (exit 1) [default: the config's `fail-on`, else warning].
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// The configuration file (default: the nearest portcullis.toml, .portcullis.toml or Cargo.toml with
    /// `[workspace.metadata.portcullis]`/`[package.metadata.portcullis]`, walking up from the first path).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Apply the config's `exclude` to files named on the command line too (for pre-commit).
    #[arg(long)]
    pub force_exclude: bool,
    /// Record the current findings in FILE (then exit 0).
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Hide the findings recorded in FILE: report only new ones.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Follow symbolic links met while walking the tree, even out of it [default: the config's
    /// `follow-symlinks`, else off]. Paths named on the command line are always followed.
    #[arg(long)]
    pub follow_symlinks: bool,
    /// Files larger than this many bytes are reported, not analysed [default: 8388608, 8 MiB].
    #[arg(long, value_name = "BYTES")]
    pub max_file_size: Option<u64>,
    /// Report only findings on lines changed since this git revision (`git diff REV`, plus untracked
    /// files); the whole project is still analysed.
    #[arg(long, value_name = "REV")]
    pub diff_base: Option<String>,
    /// Exit 0 even when there are findings.
    #[arg(long)]
    pub exit_zero: bool,
    /// Never colour the output.
    #[arg(long)]
    pub no_color: bool,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// The cache directory [default: $PORTCULLIS_CACHE_DIR, else the config's `cache-dir`, else
    /// $XDG_CACHE_HOME/portcullis or ~/.cache/portcullis].
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    pub cache_dir: Option<PathBuf>,
    /// Neither read nor write the cache.
    #[arg(long)]
    pub no_cache: bool,
    /// A RustSec advisory-db checkout: match `Cargo.lock` against every advisory in it (in addition to
    /// the curated set built in). Read locally, never fetched.
    #[arg(long, value_name = "DIR")]
    pub advisory_db: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// The configuration file whose `rules` directories and `[catalog]` are added (default: found by
    /// walking up from the current directory).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The rule id.
    pub rule: String,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// The configuration file whose `rules` directories are added (default: found by walking up from
    /// the current directory).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}
