use clap::Parser;
use portcullis::cli::{Cli, Command};
use portcullis::commands;

// The analysis allocates many small, short-lived values (syntax trees, facts, model entities) on every
// core at once; mimalloc's per-thread heaps make that markedly cheaper than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = Cli::parse();
    let code = match &cli.command {
        Command::Check(args) => commands::check(args),
        Command::Rules(args) => commands::rules(args),
        Command::Explain(args) => commands::explain(args),
        Command::Init(args) => commands::init(args),
        Command::Routes(args) => commands::routes(args),
        Command::Server(args) => portcullis::server::run(args),
    };
    std::process::exit(code);
}
