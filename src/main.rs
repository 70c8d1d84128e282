//! The `augur` binary: parse the command line and hand over to `augur::cli`.

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("AUGUR_LOG"))
        .with_writer(std::io::stderr)
        .init();
    std::process::exit(augur::cli::main_with_args(std::env::args().collect()));
}
