//! The single integration-test binary (ripgrep style): one module per feature area.

// Shared helpers: a real HTTP server on 127.0.0.1:0, temp files, running the binary.
mod support;
// `augur run`, `eval`, `simulate` and `lint` end to end through the real binary.
mod cli;
// Every file in templates/ parses and lints clean; fixtures fail with field paths.
mod templates;
// Hundreds of table-driven cases from the contract, in tests/cases/*.yaml.
mod cases;
// Mutational fuzzing of the template parser and the condition compiler (stable Rust).
mod fuzz;
// The HTTP/JSON API of a real server on 127.0.0.1:0.
mod http;
// kill -9 of the real server mid-run, restarted on the same database.
mod crash;
// The client commands against a server, and serve's configuration errors.
mod client;
// The gRPC API in process on 127.0.0.1:0: runs, watch, terminate, templates, health, reflection.
mod grpc;
// Every provider template in templates/ run by the real binary against real local servers.
mod providers;
