//! Integration tests of the `cloudWatch` provider: against moto's CloudWatch server
//! (a real awsQuery server from PyPI, started per test on 127.0.0.1), and against
//! loopback fault servers for what moto cannot do (throttling, 5xx, slow and broken
//! answers).

// A moto_server child per test and the helpers to feed it.
mod support;

// Queries against moto: values, shape, window, dimensions, expressions, validation.
mod moto;

// The standard AWS chain (environment variables, endpoint overrides) in a child process.
mod chain;

// Failures: auth, throttling, 5xx, timeouts, refused connections, unparseable bodies.
mod faults;

// The shared conformance kit: happy and empty paths on moto, every failure on its fake.
mod conformance;
