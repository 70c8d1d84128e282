//! The templates/ corpus is valid; the fixtures are not, and say where.

use crate::support::augur;

fn yaml_files(dir: &str) -> Vec<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out: Vec<_> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml") && !p.to_string_lossy().contains("secrets.example"))
        .collect();
    out.sort();
    out
}

#[test]
fn every_template_lints_clean() {
    let files = yaml_files("templates");
    assert!(files.len() >= 8, "at least 8 templates, found {}", files.len());
    for f in files {
        let out = augur(&["lint", f.to_str().unwrap()]);
        assert_eq!(out.code, 0, "{}: {}{}", f.display(), out.stdout, out.stderr);
        assert!(!out.stdout.contains("error:"), "{}", out.stdout);
    }
}

#[test]
fn fixtures_fail_lint_with_field_paths() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let cases = [
        ("bad-duration.yaml", "interval: invalid interval string: time: unknown unit"),
        ("count-without-interval.yaml", "interval: interval must be specified when count > 1"),
        ("unknown-provider.yaml", "provider: no provider specified"),
        ("duplicate-metric.yaml", "same name 'healthz'"),
        ("malformed.yaml", "malformed YAML"),
        ("dryrun-nomatch.yaml", "Rule didn't match any metric name(s)"),
    ];
    for (file, needle) in cases {
        let path = dir.join(file);
        let out = augur(&["lint", path.to_str().unwrap()]);
        assert_eq!(out.code, 1, "{file}: {}", out.stdout);
        assert!(out.stdout.contains(needle), "{file}: expected {needle:?} in {}", out.stdout);
    }
    let out = augur(&["lint", dir.join("unknown-field.yaml").to_str().unwrap()]);
    assert!(out.stdout.contains("warning:") && out.stdout.contains("timeout"), "{}", out.stdout);
}

/// Argo validates a metric after its `{{args.*}}` are resolved, so lint leaves placeholder-driven
/// checks to run time, and still reports the same problems written literally.
#[test]
fn lint_leaves_placeholder_fields_to_run_time() {
    let template = |interval: &str, success: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nmetadata:\n  name: t\nspec:\n  args:\n  \
             - name: interval\n    value: 1m\n  - name: n\n    value: \"3\"\n  metrics:\n  - name: m\n    \
             interval: {interval}\n    count: 5\n    failureLimit: -1\n    consecutiveSuccessLimit: {success}\n    \
             successCondition: result == 1\n    provider:\n      web:\n        url: http://127.0.0.1:1/\n"
        )
    };
    let ok = crate::support::write_file("lint-placeholders.yaml", &template("\"{{args.interval}}\"", "\"{{args.n}}\""));
    let out = augur(&["lint", ok.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    // Literally invalid: a bad interval, and both limits disabled.
    let bad = crate::support::write_file("lint-literal.yaml", &template("5x", "0"));
    let out = augur(&["lint", bad.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains("metrics[0].interval"), "{}", out.stdout);
    assert!(out.stdout.contains("failureLimit"), "{}", out.stdout);
}
