//! The `augur` binary: parse the command line and hand over to `augur::cli`.

fn main() {
    std::process::exit(augur::cli::main_with_args(std::env::args().collect()));
}
