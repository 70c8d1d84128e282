//! augur: a metrics judge for progressive delivery.
//!
//! # Layout
//!
//! Read in this order:
//! * `model`: the status objects (Argo's `AnalysisRunStatus`, `MetricResult`,
//!   `Measurement`) every output shows.
//! * `duration`: Go's duration syntax and messages.
//! * `template`: parsing, merging, arg substitution and validation of Argo templates.
//! * `condition`: `successCondition`/`failureCondition` in expr (Argo-exact) or CEL.
//! * `engine`: the pure state machine from measurements to a run verdict.
//! * `simulate`: the engine on a virtual clock with scripted outcomes.
//! * `registry`: the providers compiled into this build.
//! * `judge`: `augur judge`, canary-vs-baseline statistics from the `augur-stats` crate.
//! * `secrets`, `runner`, `cli`: the IO rim (secret files, the wall clock and tokio,
//!   the command line).
//! * The service: `store` (SQLite), `scheduler` (a tokio task per run), `service` (the
//!   operations), `api` (gRPC and HTTP/JSON), `app` (wiring), `config`, `client` (the
//!   client commands), `telemetry` (`/metrics`).
//!
//! The first five modules are pure and synchronous: no IO, no clock, no tokio.

pub mod api;
pub mod app;
pub mod canary;
pub mod cli;
pub mod client;
pub mod compare;
pub mod condition;
pub mod config;
pub mod duration;
pub mod engine;
pub mod judge;
pub mod model;
pub mod registry;
pub mod runner;
pub mod scheduler;
pub mod secrets;
pub mod service;
pub mod simulate;
pub mod store;
pub mod telemetry;
pub mod template;
