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
