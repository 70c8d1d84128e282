//! YAML/JSON documents into templates.

use serde::Deserialize;

use super::{ARGO_PROVIDERS, Problem, TemplateSpec};
use crate::condition::Dialect;

/// The API versions whose templates augur accepts.
pub const ARGO_API_VERSION: &str = "argoproj.io/v1alpha1";
/// augur's own API version: Argo's schema plus augur's documented extensions.
pub const AUGUR_API_VERSION: &str = "augur.dev/v1alpha1";
/// The annotation that selects the condition dialect on an Argo template.
pub const DIALECT_ANNOTATION: &str = "augur.dev/dialect";

/// What kind of document a template came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TemplateKind {
    /// `kind: AnalysisTemplate`.
    AnalysisTemplate,
    /// `kind: ClusterAnalysisTemplate`.
    ClusterAnalysisTemplate,
    /// A bare `spec` (no `kind`), treated as a namespaced template.
    Spec,
}

impl TemplateKind {
    /// The Kubernetes kind name.
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateKind::AnalysisTemplate | TemplateKind::Spec => "AnalysisTemplate",
            TemplateKind::ClusterAnalysisTemplate => "ClusterAnalysisTemplate",
        }
    }
}

/// One parsed template document.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// The document's kind.
    pub kind: TemplateKind,
    /// `metadata.name`, if any.
    pub name: Option<String>,
    /// `metadata.namespace`, if any.
    pub namespace: Option<String>,
    /// The spec, with each metric's dialect filled in.
    pub spec: TemplateSpec,
    /// Fields that were ignored, as paths (`spec.metrics[0].timeout`). Argo's CRD prunes
    /// them silently; `lint` warns about them.
    pub unknown_fields: Vec<String>,
}

/// Parses every document of a YAML or JSON text (`---`-separated). Empty documents are
/// skipped. Errors name the document (when there are several) and the field.
pub fn parse_documents(text: &str) -> Result<Vec<Template>, Problem> {
    let mut out = Vec::new();
    let docs: Vec<serde_json::Value> = {
        let mut docs = Vec::new();
        for (i, de) in serde_norway::Deserializer::from_str(text).enumerate() {
            let value = serde_json::Value::deserialize(de).map_err(|e| {
                Problem::new(
                    String::new(),
                    format!("malformed YAML in document {}: {}", i + 1, one_line(&e.to_string())),
                )
            })?;
            docs.push(value);
        }
        docs
    };
    let several = docs.iter().filter(|d| !d.is_null()).count() > 1;
    for (i, doc) in docs.into_iter().enumerate() {
        if doc.is_null() {
            continue;
        }
        let prefix = if several { format!("document {}: ", i + 1) } else { String::new() };
        let t = parse_document(doc).map_err(|p| Problem::new(p.path, format!("{prefix}{}", p.message)))?;
        out.push(t);
    }
    if out.is_empty() {
        return Err(Problem::new("", "no template found (the document is empty)"));
    }
    Ok(out)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Parses one document already decoded to JSON.
pub fn parse_document(doc: serde_json::Value) -> Result<Template, Problem> {
    let serde_json::Value::Object(mut obj) = doc else {
        return Err(Problem::new("", format!("expected a mapping (a template), found {}", json_kind(&doc))));
    };
    let kind_value = obj.remove("kind");
    let (kind, spec_value, name, namespace, dialect_annotation, prefix, mut unknown) = match kind_value {
        None if obj.contains_key("metrics") || obj.contains_key("args") || obj.contains_key("templates") => {
            (TemplateKind::Spec, serde_json::Value::Object(obj), None, None, None, String::new(), Vec::new())
        }
        None => {
            return Err(Problem::new(
                "kind",
                "missing: expected AnalysisTemplate or ClusterAnalysisTemplate (or a bare spec with metrics)",
            ));
        }
        Some(serde_json::Value::String(k)) => {
            let kind = match k.as_str() {
                "AnalysisTemplate" => TemplateKind::AnalysisTemplate,
                "ClusterAnalysisTemplate" => TemplateKind::ClusterAnalysisTemplate,
                other => {
                    return Err(Problem::new(
                        "kind",
                        format!("unsupported kind {other:?} (expected AnalysisTemplate or ClusterAnalysisTemplate)"),
                    ));
                }
            };
            match obj.remove("apiVersion") {
                Some(serde_json::Value::String(v)) if v == ARGO_API_VERSION || v == AUGUR_API_VERSION => {}
                Some(v) => {
                    return Err(Problem::new(
                        "apiVersion",
                        format!("unsupported apiVersion {v} (expected {ARGO_API_VERSION} or {AUGUR_API_VERSION})"),
                    ));
                }
                None => return Err(Problem::new("apiVersion", format!("missing (expected {ARGO_API_VERSION})"))),
            }
            let metadata = obj.remove("metadata").unwrap_or(serde_json::Value::Null);
            let name = metadata.get("name").and_then(|v| v.as_str()).map(str::to_string);
            let namespace = metadata.get("namespace").and_then(|v| v.as_str()).map(str::to_string);
            let dialect_annotation = metadata
                .get("annotations")
                .and_then(|a| a.get(DIALECT_ANNOTATION))
                .and_then(|v| v.as_str())
                .map(str::to_string);
            let spec = obj.remove("spec").ok_or_else(|| Problem::new("spec", "missing"))?;
            let unknown = obj.keys().filter(|k| k.as_str() != "status").cloned().collect();
            (kind, spec, name, namespace, dialect_annotation, "spec.".to_string(), unknown)
        }
        Some(other) => return Err(Problem::new("kind", format!("expected a string, found {}", json_kind(&other)))),
    };
    if !spec_value.is_object() {
        return Err(Problem::new(
            prefix.trim_end_matches('.'),
            format!("expected a mapping, found {}", json_kind(&spec_value)),
        ));
    }

    let mut ignored = Vec::new();
    let mut on_ignored = |path: serde_ignored::Path<'_>| {
        ignored.push(format!("{prefix}{}", ignored_path(&path)));
    };
    let de = serde_ignored::Deserializer::new(spec_value, &mut on_ignored);
    let mut spec: TemplateSpec = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { prefix.trim_end_matches('.').to_string() } else { format!("{prefix}{path}") };
        Problem::new(path, one_line(&e.inner().to_string()))
    })?;
    unknown.extend(ignored);

    let dialect = match (spec.dialect, dialect_annotation) {
        (Some(d), _) => d,
        (None, Some(a)) => {
            a.parse::<Dialect>().map_err(|e| Problem::new(format!("metadata.annotations.{DIALECT_ANNOTATION}"), e))?
        }
        (None, None) => Dialect::Expr,
    };
    for (i, m) in spec.metrics.iter_mut().enumerate() {
        m.dialect = dialect;
        for key in m.provider.keys() {
            if !ARGO_PROVIDERS.contains(&key.as_str()) {
                unknown.push(format!("{prefix}metrics[{i}].provider.{key}"));
            }
        }
    }
    Ok(Template { kind, name, namespace, spec, unknown_fields: unknown })
}

fn ignored_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", ignored_path(parent)),
        Path::Map { parent, key } => {
            let p = ignored_path(parent);
            if p.is_empty() { key.clone() } else { format!("{p}.{key}") }
        }
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => {
            ignored_path(parent)
        }
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a mapping",
    }
}
