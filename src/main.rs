use clap::Parser;
use portcullis::cli::{Cli, Command};
use portcullis::commands;

fn main() {
    let cli = Cli::parse();
    let code = match &cli.command {
        Command::Check(args) => commands::check(args),
        Command::Rules(args) => commands::rules(args),
        Command::Explain(args) => commands::explain(args),
        Command::Init(args) => commands::init(args),
        Command::Routes(args) => commands::routes(args),
    };
    std::process::exit(code);
}
