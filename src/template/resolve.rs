//! From templates and caller args to the metrics a run measures.

use std::collections::{BTreeMap, HashSet};

use super::{
    Argument, DryRun, MeasurementRetention, Metric, Problem, SecretSource, Template, TemplateKind, TemplateSpec,
};

/// Argo's `FlattenTemplates`, plus nested `templates[]` references resolved against the
/// given library: metrics of namespaced templates first, then cluster templates.
pub fn flatten(templates: &[Template]) -> Result<TemplateSpec, String> {
    let expanded = expand_nested(templates)?;
    let (ns, cluster): (Vec<&Template>, Vec<&Template>) =
        expanded.iter().partition(|t| t.kind != TemplateKind::ClusterAnalysisTemplate);
    let ordered: Vec<&Template> = ns.into_iter().chain(cluster).collect();

    let mut metrics: Vec<Metric> = Vec::new();
    let mut seen = HashSet::new();
    for t in &ordered {
        for m in &t.spec.metrics {
            if !seen.insert(m.name.clone()) {
                return Err(format!("two metrics have the same name '{}'", m.name));
            }
            metrics.push(m.clone());
        }
    }
    let dry_run: Vec<DryRun> = ordered.iter().flat_map(|t| t.spec.dry_run.iter().cloned()).collect();
    check_unique(dry_run.iter().map(|d| d.metric_name.as_str()), "Dry-Run")?;
    let retention: Vec<MeasurementRetention> =
        ordered.iter().flat_map(|t| t.spec.measurement_retention.iter().cloned()).collect();
    check_unique(retention.iter().map(|d| d.metric_name.as_str()), "Measurement Retention")?;

    let mut args: Vec<Argument> = Vec::new();
    for t in &ordered {
        for arg in &t.spec.args {
            match args.iter_mut().find(|a| a.name == arg.name) {
                Some(prev) => {
                    if let (Some(a), Some(b)) = (&prev.value, &arg.value)
                        && a != b
                    {
                        return Err(format!(
                            "Argument `{}` specified multiple times with different values: '{a}', '{b}'",
                            prev.name
                        ));
                    }
                    if prev.value.is_none() {
                        *prev = arg.clone();
                    }
                }
                None => args.push(arg.clone()),
            }
        }
    }
    Ok(TemplateSpec { metrics, args, dry_run, measurement_retention: retention, templates: Vec::new(), dialect: None })
}

fn check_unique<'a>(names: impl Iterator<Item = &'a str>, what: &str) -> Result<(), String> {
    let mut seen = HashSet::new();
    for n in names {
        if !seen.insert(n) {
            return Err(format!("two {what} metric rules have the same name '{n}'"));
        }
    }
    Ok(())
}

/// Adds templates referenced through `spec.templates` (recursively, once each), looked
/// up by name among `templates` themselves.
fn expand_nested(templates: &[Template]) -> Result<Vec<Template>, String> {
    let key = |t: &Template| (t.kind == TemplateKind::ClusterAnalysisTemplate, t.name.clone());
    let mut out: Vec<Template> = Vec::new();
    let mut seen: HashSet<(bool, Option<String>)> = HashSet::new();
    fn visit(
        t: &Template,
        all: &[Template],
        out: &mut Vec<Template>,
        seen: &mut HashSet<(bool, Option<String>)>,
        stack: &mut Vec<String>,
        key: &dyn Fn(&Template) -> (bool, Option<String>),
    ) -> Result<(), String> {
        let k = key(t);
        if k.1.is_some() && !seen.insert(k.clone()) {
            return Ok(());
        }
        let label = t.name.clone().unwrap_or_default();
        if stack.contains(&label) {
            return Err(format!("templates: cycle through template '{label}'"));
        }
        stack.push(label);
        for r in &t.spec.templates {
            let kind =
                if r.cluster_scope { TemplateKind::ClusterAnalysisTemplate } else { TemplateKind::AnalysisTemplate };
            let found = all.iter().find(|c| {
                c.name.as_deref() == Some(r.template_name.as_str())
                    && (c.kind == TemplateKind::ClusterAnalysisTemplate) == r.cluster_scope
            });
            match found {
                Some(child) => visit(child, all, out, seen, stack, key)?,
                None => {
                    return Err(format!(
                        "{} \"{}\" not found (pass it with another -f)",
                        kind.as_str(),
                        r.template_name
                    ));
                }
            }
        }
        stack.pop();
        out.push(t.clone());
        Ok(())
    }
    for t in templates {
        visit(t, templates, &mut out, &mut seen, &mut Vec::new(), &key)?;
    }
    Ok(out)
}

/// Argo's `MergeArgs`: caller values override template args of the same name (caller
/// args the template does not declare are dropped); then every arg needs a value or a
/// `valueFrom` (`args.<name> was not resolved`).
pub fn merge_args(caller: &[(String, String)], template_args: &[Argument]) -> Result<Vec<Argument>, String> {
    let mut args = template_args.to_vec();
    for (name, value) in caller {
        if let Some(a) = args.iter_mut().find(|a| &a.name == name) {
            a.value = Some(value.clone());
        }
    }
    for a in &args {
        if a.value.is_none() && a.value_from.is_none() {
            return Err(format!("args.{} was not resolved", a.name));
        }
    }
    Ok(args)
}

/// The placeholder Argo substitutes for secret args when it only validates.
const SECRET_PLACEHOLDER: &str = "temp-for-secret";

/// A metric spec that is ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedAnalysis {
    /// The metrics after `{{args.*}}` substitution with real (secret) values.
    pub metrics: Vec<Metric>,
    /// Per metric: true when a dryRun rule matches it.
    pub dry_run: Vec<bool>,
    /// Per metric: how many measurements to keep.
    pub retention: Vec<usize>,
    /// Secret values, to redact from every message.
    pub secrets: Vec<String>,
    /// The args after merging, with secret values never filled in.
    pub args: Vec<Argument>,
}

/// Argo's default measurement history per metric.
pub const DEFAULT_MEASUREMENT_HISTORY: usize = 10;

/// How preparation failed: the run becomes Error with this message (Argo's prefixes:
/// `Unable to resolve metric arguments: …`, `Analysis spec invalid: …`).
pub type PrepareError = String;

/// Resolves, validates and matches rules the way Argo's reconcile does before measuring.
pub fn prepare(
    spec: &TemplateSpec,
    args: &[Argument],
    secrets: &dyn SecretSource,
) -> Result<PreparedAnalysis, PrepareError> {
    // 1. Resolve with placeholders for secrets, and validate that.
    let placeholder_values = arg_values(args, |_, _| Ok(SECRET_PLACEHOLDER.to_string()))
        .map_err(|e| format!("Unable to resolve metric arguments: {e}"))?;
    let mut checked = Vec::with_capacity(spec.metrics.len());
    for m in &spec.metrics {
        checked.push(
            substitute_metric(m, &placeholder_values)
                .map_err(|e| format!("Unable to resolve metric arguments: {e}"))?,
        );
    }
    super::validate::validate_metrics(&checked).map_err(|e| format!("Analysis spec invalid: {e}"))?;
    let dry_run_rules = match_rules(spec.dry_run.iter().map(|d| d.metric_name.as_str()), &checked, "dryRun")
        .map_err(|e| format!("Analysis spec invalid: {e}"))?;
    let retention_rules = match_rules(
        spec.measurement_retention.iter().map(|d| d.metric_name.as_str()),
        &checked,
        "measurementRetention",
    )
    .map_err(|e| format!("Analysis spec invalid: {e}"))?;

    // 2. Resolve for real, with secret values.
    let mut secret_values = Vec::new();
    let real_values = arg_values(args, |name, key| {
        let v = secrets.get(name, key)?;
        secret_values.push(v.clone());
        Ok(v)
    })
    .map_err(|e| format!("Unable to resolve metric arguments: {e}"))?;
    let mut metrics = Vec::with_capacity(spec.metrics.len());
    for m in &spec.metrics {
        let mut resolved =
            substitute_metric(m, &real_values).map_err(|e| format!("Unable to resolve metric arguments: {e}"))?;
        // The name keys the results; keep the validated one.
        resolved.name = m.name.clone();
        metrics.push(resolved);
    }
    let dry_run = (0..metrics.len()).map(|i| dry_run_rules.contains_key(&i)).collect();
    let retention = (0..metrics.len())
        .map(|i| {
            retention_rules
                .get(&i)
                .and_then(|rule| spec.measurement_retention.get(*rule))
                .map(|r| if r.limit > 0 { r.limit as usize } else { DEFAULT_MEASUREMENT_HISTORY })
                .unwrap_or(DEFAULT_MEASUREMENT_HISTORY)
        })
        .collect();
    secret_values.retain(|s| !s.is_empty());
    Ok(PreparedAnalysis { metrics, dry_run, retention, secrets: secret_values, args: args.to_vec() })
}

/// Resolves each arg to a string: `value`, or the secret, or Argo's error.
fn arg_values(
    args: &[Argument],
    mut secret: impl FnMut(&str, &str) -> Result<String, String>,
) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for a in args {
        let value = match (&a.value, a.value_from.as_ref().and_then(|v| v.secret_key_ref.as_ref())) {
            (Some(v), _) => v.clone(),
            (None, Some(r)) => secret(&r.name, &r.key)?,
            (None, None) => return Err(format!("argument \"{}\" was not supplied", a.name)),
        };
        out.insert(format!("args.{}", a.name), value);
    }
    Ok(out)
}

/// Matches unanchored Go regexps against metric names; a rule matching nothing is an
/// error. Returns metric index → index of the last matching rule.
fn match_rules<'a>(
    rules: impl Iterator<Item = &'a str>,
    metrics: &[Metric],
    what: &str,
) -> Result<BTreeMap<usize, usize>, String> {
    let mut out = BTreeMap::new();
    for (ri, pattern) in rules.enumerate() {
        // Go's regexp.MatchString error is ignored by Argo: an invalid pattern matches nothing.
        let re = regex::Regex::new(pattern).ok();
        let mut matched = 0;
        for (mi, m) in metrics.iter().enumerate() {
            if re.as_ref().is_some_and(|re| re.is_match(&m.name)) {
                out.insert(mi, ri);
                matched += 1;
            }
        }
        if matched == 0 {
            return Err(format!("{what}[{ri}]: Rule didn't match any metric name(s)"));
        }
    }
    Ok(out)
}

/// Argo's `ResolveArgs` on the JSON form of one metric: each `{{ tag }}` is replaced by
/// the JSON-escaped value of `args.<name>`.
pub fn substitute_metric(metric: &Metric, values: &BTreeMap<String, String>) -> Result<Metric, String> {
    let json = serde_json::to_string(metric).map_err(|e| e.to_string())?;
    let resolved = substitute(&json, values)?;
    let mut out: Metric = serde_json::from_str(&resolved)
        .map_err(|e| format!("metric '{}' is not valid after substituting args: {e}", metric.name))?;
    out.dialect = metric.dialect;
    Ok(out)
}

/// fasttemplate with `{{`/`}}` and Argo's tag function.
pub fn substitute(template: &str, values: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    let mut unresolved: Option<String> = None;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(format!("cannot find end tag=\"}}}}\" in the template starting from {:?}", &rest[start..]));
        };
        let tag = &after[..end];
        match values.get(tag.trim()) {
            Some(v) => {
                let quoted = serde_json::to_string(v).map_err(|e| e.to_string())?;
                out.push_str(&quoted[1..quoted.len() - 1]);
            }
            None => unresolved = Some(format!("failed to resolve {{{{{tag}}}}}")),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    match unresolved {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// The counting and timing fields whose checks involve each other (`failureLimit: -1` with
/// `consecutiveSuccessLimit` disabled, `count` against the limits, …).
const LIMIT_FIELDS: [&str; 7] = [
    "interval",
    "initialDelay",
    "count",
    "failureLimit",
    "inconclusiveLimit",
    "consecutiveErrorLimit",
    "consecutiveSuccessLimit",
];

/// Whether the problem at `path` (`metrics[i].field`) may depend on a `{{…}}` placeholder:
/// the field itself holds one, or it is a counting/timing field and any of those holds one.
fn is_placeholder(metrics: &[super::Metric], path: &str) -> bool {
    let Some(rest) = path.strip_prefix("metrics[") else { return false };
    let Some((index, field)) = rest.split_once("].") else { return false };
    let Some(metric) = index.parse::<usize>().ok().and_then(|i| metrics.get(i)) else { return false };
    let Ok(value) = serde_json::to_value(metric) else { return false };
    let holds = |f: &str| value.get(f).and_then(serde_json::Value::as_str).is_some_and(|v| v.contains("{{"));
    holds(field) || (LIMIT_FIELDS.contains(&field) && LIMIT_FIELDS.iter().any(|f| holds(f)))
}

/// A problem list for `lint`, from flattening and preparing with placeholder values.
pub fn lint_problems(templates: &[Template]) -> Vec<Problem> {
    let spec = match flatten(templates) {
        Ok(s) => s,
        Err(e) => return vec![Problem::new("", e)],
    };
    let mut out = super::validate::all_problems(&spec.metrics, "");
    // Argo validates a metric after its `{{args.*}}` are resolved (at run time), so a field
    // that is still a placeholder here is not a problem yet (`interval: "{{args.interval}}"`).
    out.retain(|p| !is_placeholder(&spec.metrics, &p.path));
    // Rule matching only makes sense on the merged metric list.
    let placeholder: Vec<Argument> = spec
        .args
        .iter()
        .map(|a| Argument {
            name: a.name.clone(),
            value: Some(a.value.clone().unwrap_or_else(|| "1".to_string())),
            value_from: None,
        })
        .collect();
    if let Err(e) = prepare(&spec, &placeholder, &super::NoSecrets)
        && (e.contains("dryRun[") || e.contains("measurementRetention[") || e.contains("failed to resolve"))
    {
        let msg =
            e.trim_start_matches("Analysis spec invalid: ").trim_start_matches("Unable to resolve metric arguments: ");
        match msg.split_once(": ") {
            Some((path, rest)) if path.starts_with("dryRun[") || path.starts_with("measurementRetention[") => {
                out.push(Problem::new(format!("{path}.metricName"), rest))
            }
            _ => out.push(Problem::new("", msg)),
        }
    }
    out
}
