//! Tests of the `job` provider: the command form with real processes, and the Kubernetes
//! form against a stand-in kube-apiserver on 127.0.0.1 (no real one can be had here).

// The local process form (augur only).
mod command;
// The shared provider conformance kit against the Kubernetes form.
mod conformance;
// The stand-in API server: batch/v1 Jobs, pods and pod logs.
mod fake_apiserver;
// The Kubernetes Job form (Argo's).
mod kubernetes;
