//! The client commands (`augur get|list|watch|terminate|template`) and `augur serve`'s
//! configuration errors, through the real binary.

use crate::support::{Augur, augur, http_server, scratch_dir, write_file};

/// Runs the binary off the async runtime's worker threads.
async fn cli(args: Vec<String>) -> crate::support::Output {
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        augur(&refs)
    })
    .await
    .expect("the binary ran")
}

async fn create(c: &reqwest::Client, server: &Augur, body: serde_json::Value) -> serde_json::Value {
    c.post(server.url("/v1/runs")).json(&body).send().await.expect("create").json().await.expect("json")
}

fn args(server: &Augur, rest: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = rest.iter().map(ToString::to_string).collect();
    v.extend(["--server".to_string(), server.base.clone()]);
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_and_run_commands_against_a_server() {
    let target = http_server();
    let server = Augur::start(None).await;
    let template = write_file(
        "client-template.yaml",
        &format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nmetadata: {{name: rate}}\nspec:\n  metrics:\n  - name: rate\n    interval: 100ms\n    count: 3\n    successCondition: result >= 0.99\n    provider:\n      web: {{url: '{target}/ok', jsonPath: '{{$.rate}}'}}\n"
        ),
    );
    let put = cli(args(&server, &["template", "put", "default/rate", "-f", template.to_str().unwrap()])).await;
    assert_eq!(put.code, 0, "{}{}", put.stdout, put.stderr);
    assert_eq!(put.stdout.trim(), "default/rate stored (version 1)");
    let list = cli(args(&server, &["template", "list"])).await;
    assert!(list.stdout.contains("default/rate") && list.stdout.contains("AnalysisTemplate"), "{}", list.stdout);
    let get = cli(args(&server, &["template", "get", "default/rate", "-o", "json"])).await;
    assert_eq!(get.json()["template"]["spec"]["metrics"][0]["name"], "rate");

    // Start a run over HTTP, then follow it with `augur watch`: exit code = verdict.
    let c = reqwest::Client::new();
    let run = create(&c, &server, serde_json::json!({"templates": [{"name": "rate"}]})).await;
    let id = run["id"].as_str().unwrap().to_string();
    let watch = cli(args(&server, &["watch", &id])).await;
    assert_eq!(watch.code, 0, "Successful exits 0: {}{}", watch.stdout, watch.stderr);
    assert!(watch.stdout.contains("Successful"), "{}", watch.stdout);
    let got = cli(args(&server, &["get", "run", &id, "-o", "json"])).await;
    assert_eq!(got.json()["metricResults"][0]["count"], 3);
    let listed = cli(args(&server, &["list", "runs", "--phase", "Successful"])).await;
    assert!(listed.stdout.contains(&id), "{}", listed.stdout);
    let none = cli(args(&server, &["list", "runs", "--phase", "Failed"])).await;
    assert!(!none.stdout.contains(&id), "{}", none.stdout);

    // A failing run: watch exits 1.
    let bad = create(&c, &server, serde_json::json!({"spec": format!("metrics:\n- name: m\n  successCondition: result >= 0.99\n  provider:\n    web: {{url: '{target}/bad', jsonPath: '{{$.rate}}'}}\n")})).await;
    let watch = cli(args(&server, &["watch", bad["id"].as_str().unwrap()])).await;
    assert_eq!(watch.code, 1, "Failed exits 1: {}{}", watch.stdout, watch.stderr);

    // Terminate an indefinite run.
    let long = create(&c, &server, serde_json::json!({"spec": format!("metrics:\n- name: m\n  interval: 1h\n  successCondition: result >= 0.99\n  provider:\n    web: {{url: '{target}/ok', jsonPath: '{{$.rate}}'}}\n")})).await;
    let long_id = long["id"].as_str().unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let term = cli(args(&server, &["terminate", &long_id, "-o", "json"])).await;
    assert_eq!(term.code, 0, "{}{}", term.stdout, term.stderr);
    assert_eq!(term.json()["phase"], "Successful");
    assert_eq!(term.json()["message"], "Run Terminated");

    // The server's errors: exit 65 with its one-line message.
    let missing = cli(args(&server, &["get", "run", "no-such-run"])).await;
    assert_eq!(missing.code, 65, "{}{}", missing.stdout, missing.stderr);
    assert_eq!(missing.stderr.trim(), "augur: run \"no-such-run\" not found");
    let del = cli(args(&server, &["template", "delete", "default/rate"])).await;
    assert_eq!(del.code, 0);
    let del = cli(args(&server, &["template", "delete", "default/rate"])).await;
    assert_eq!(del.code, 65);
    let usage = cli(args(&server, &["template", "get", "just-a-name"])).await;
    assert_eq!(usage.code, 64, "{}", usage.stderr);
    server.stop().await;

    // No server there: exit 69.
    let gone = cli(vec!["get".into(), "run".into(), "x".into(), "--server".into(), "http://127.0.0.1:9".into()]).await;
    assert_eq!(gone.code, 69, "{}", gone.stderr);
}

#[test]
fn serve_reports_every_configuration_problem_at_once() {
    let dir = scratch_dir();
    let config = dir.join("augur.toml");
    std::fs::write(&config, "listen = \"nowhere\"\nerror_retry = \"10 seconds\"\ndefault_concurrency = 0\n").unwrap();
    let out = augur(&["serve", "--config", config.to_str().unwrap(), "--db", "/nonexistent-dir/augur.db"]);
    assert_eq!(out.code, 78, "{}", out.stderr);
    let line = out.stderr.trim();
    assert_eq!(line.lines().count(), 1, "one line: {line}");
    for needle in [
        "listen: \"nowhere\"",
        "error_retry: time:",
        "default_concurrency: must be at least 1",
        "db: directory /nonexistent-dir",
    ] {
        assert!(line.contains(needle), "{needle} in {line}");
    }
    std::fs::write(&config, "lisen = \"127.0.0.1:1\"\n").unwrap();
    let out = augur(&["serve", "--config", config.to_str().unwrap()]);
    assert_eq!(out.code, 78, "{}", out.stderr);
    assert!(out.stderr.contains("lisen"), "{}", out.stderr);
}
