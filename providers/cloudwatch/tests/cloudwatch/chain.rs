//! The standard AWS chain, as `augur` uses it (`CloudWatchFactory::standard()`): region,
//! credentials and endpoint from environment variables. Each case re-runs this test
//! binary as a child process with a cleared environment plus the variables under test,
//! so nothing is set in this process and the developer's own AWS setup cannot leak in.

use std::collections::BTreeMap;

use augur_provider_api::ProviderFactory;
use augur_provider_cloudwatch::CloudWatchFactory;
use serde_json::json;

use crate::support::{T0, ctx, free_port, load_fixture, measure_at, start_moto, stat_query};

/// Set in the child: the test below measures instead of returning.
const CHILD: &str = "AUGUR_CLOUDWATCH_TEST_CHILD";

/// The child's side: one measurement through the standard factory, printed on one
/// line. In a normal test run (no `AUGUR_CLOUDWATCH_TEST_CHILD`) it does nothing.
#[tokio::test]
async fn child_measures_through_the_standard_chain() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let factory = CloudWatchFactory::standard();
    let config = json!({"metricDataQueries": [stat_query("m1", "canary", 60, "Average")]});
    let line = match measure_at(factory, config, &ctx(T0 + 600)).await {
        Ok(obs) => format!("CHILD-OK {}", obs.value),
        Err(err) => format!("CHILD-ERR {:?} {}", err.kind(), err.message()),
    };
    println!("{line}");
    assert_eq!(factory.kind(), "cloudWatch");
}

/// Runs the child with exactly `env` (plus isolation from AWS files and instance
/// metadata) and returns its one result line.
async fn run_child(env: &[(&str, &str)]) -> String {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut vars: BTreeMap<&str, &str> = BTreeMap::from([
        (CHILD, "1"),
        ("AWS_CONFIG_FILE", "/nonexistent/augur-test/config"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/augur-test/credentials"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("HOME", "/nonexistent/augur-test"),
    ]);
    vars.extend(env.iter().copied());
    let output = tokio::process::Command::new(exe)
        .args(["--exact", "chain::child_measures_through_the_standard_chain", "--nocapture", "--test-threads=1"])
        .env_clear()
        .envs(vars)
        .output()
        .await
        .expect("run the test binary as a child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    // libtest prints `test <name> ... ` before the test's own output, on the same line.
    match stdout.lines().find_map(|l| l.find("CHILD-").map(|i| &l[i..])) {
        Some(line) => line.to_string(),
        None => panic!(
            "the child printed no result ({}):\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

const KEYS: [(&str, &str); 2] = [("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")];

#[tokio::test]
async fn environment_credentials_region_and_aws_endpoint_url() {
    let moto = start_moto(&[]);
    load_fixture(&moto.endpoint).await;
    let line = run_child(&[KEYS[0], KEYS[1], ("AWS_REGION", "us-east-1"), ("AWS_ENDPOINT_URL", &moto.endpoint)]).await;
    assert_eq!(line, "CHILD-OK [[109 108 107 106 105]]");
    // The service-specific variable and AWS_DEFAULT_REGION work the same way.
    let line = run_child(&[
        KEYS[0],
        KEYS[1],
        ("AWS_DEFAULT_REGION", "eu-west-1"),
        ("AWS_ENDPOINT_URL_CLOUDWATCH", &moto.endpoint),
    ])
    .await;
    // moto keeps data per region: eu-west-1 has none.
    assert_eq!(line, "CHILD-OK [[]]");
}

#[tokio::test]
async fn augur_endpoint_override_wins_over_the_aws_chain() {
    let moto = start_moto(&[]);
    load_fixture(&moto.endpoint).await;
    let dead = format!("http://127.0.0.1:{}", free_port());
    let line = run_child(&[
        KEYS[0],
        KEYS[1],
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", &dead),
        ("AWS_ENDPOINT_URL_CLOUDWATCH", &dead),
        ("AUGUR_CLOUDWATCH_ENDPOINT", &moto.endpoint),
    ])
    .await;
    assert_eq!(line, "CHILD-OK [[109 108 107 106 105]]");
}

#[tokio::test]
async fn a_missing_region_is_a_config_error() {
    let line = run_child(&[KEYS[0], KEYS[1], ("AUGUR_CLOUDWATCH_ENDPOINT", "http://127.0.0.1:9")]).await;
    assert_eq!(
        line,
        "CHILD-ERR Config CloudWatch: no AWS region configured: set AWS_REGION (or AWS_DEFAULT_REGION, or `region` \
         in the AWS profile)"
    );
}

#[tokio::test]
async fn missing_credentials_are_an_auth_error() {
    let moto = start_moto(&[]);
    let line = run_child(&[("AWS_REGION", "us-east-1"), ("AUGUR_CLOUDWATCH_ENDPOINT", &moto.endpoint)]).await;
    assert!(line.starts_with("CHILD-ERR Auth CloudWatch GetMetricData: no usable AWS credentials: "), "{line}");
    assert!(
        line.ends_with("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or a web identity (IRSA) role"),
        "{line}"
    );
}
