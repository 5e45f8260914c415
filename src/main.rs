use clap::Parser;
use gatescope::cli::{Cli, Command};
use gatescope::commands;

fn main() {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Play(Default::default())) {
        Command::Play(a) => commands::play(a),
        Command::Generate(a) => commands::generate(a),
        Command::Train(a) => gatescope::train::run_train(a),
        Command::Eval(a) => commands::eval(a),
        Command::Info(a) => commands::info(a),
    };
    if let Err(e) = result {
        // One line: the error chain joined, as a user reads it.
        let msg: Vec<String> = e.chain().map(|c| c.to_string()).collect();
        eprintln!("gatescope: {}", msg.join(": "));
        std::process::exit(1);
    }
}
