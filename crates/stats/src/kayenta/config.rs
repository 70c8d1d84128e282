//! Configuration as Kayenta's judge reads it.
//!
//! [`Config`] is one metric's `analysisConfigurations.canary` object resolved the way
//! `NetflixACAJudge.classifyMetric` resolves it through `MapUtils`: every key is optional with Kayenta's
//! default, unknown strings fall back (`direction` → `either`, `nanStrategy` → `remove`,
//! `outliers.strategy` → `keep`), numbers may be JSON integers or floats, and the value types that make
//! Kayenta throw (a string where a boolean is expected, a 64-bit integer where a double is expected, a null
//! string, …) are reported as errors, because Kayenta fails the whole judgement on them.
//!
//! [`CanaryConfig`] is the canary config document (§3.1 of the reference): metrics with their groups and
//! analysis configurations, and `classifier.groupWeights` for scoring.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Which changes of the canary relative to the baseline count as failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Only an increase (High) fails.
    Increase,
    /// Only a decrease (Low) fails.
    Decrease,
    /// Both High and Low fail. The default, and what any unknown string means.
    #[default]
    Either,
}

impl Direction {
    /// Kayenta's `MetricDirection.parse`: exact, case-sensitive match; anything else is `Either`.
    pub fn parse(text: &str) -> Self {
        match text {
            "increase" => Direction::Increase,
            "decrease" => Direction::Decrease,
            _ => Direction::Either,
        }
    }
}

/// What happens to NaN values (empty time-series steps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NanStrategy {
    /// NaNs are dropped. The default (Kayenta's default string `"none"` parses to this).
    #[default]
    Remove,
    /// NaNs become 0.0 (for counts, where no data means no events).
    Replace,
}

impl NanStrategy {
    /// Kayenta's `NaNStrategy.parse`: `"replace"` is `Replace`, anything else is `Remove`.
    pub fn parse(text: &str) -> Self {
        if text == "replace" { NanStrategy::Replace } else { NanStrategy::Remove }
    }
}

/// Whether outliers are removed before the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutlierStrategy {
    /// Outliers are kept. The default (Kayenta's default string `"none"` parses to this).
    #[default]
    Keep,
    /// Outliers are removed with the IQR detector and `reduceSensitivity = true`.
    Remove,
}

impl OutlierStrategy {
    /// Kayenta's `OutlierStrategy.parse`: `"remove"` is `Remove`, anything else is `Keep`.
    pub fn parse(text: &str) -> Self {
        if text == "remove" { OutlierStrategy::Remove } else { OutlierStrategy::Keep }
    }
}

/// The effect-size measure used by the High/Low gates and the critical gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum EffectSizeMeasure {
    /// `mean(canary) / mean(baseline)`, NaN when either mean is 0. The default.
    #[default]
    #[serde(rename = "meanRatio")]
    MeanRatio,
    /// The common-language effect size P(X > Y) + ½·P(X = Y).
    #[serde(rename = "cles")]
    Cles,
}

impl EffectSizeMeasure {
    /// `"cles"` is CLES; anything else (including the default `"meanRatio"`) is the mean ratio.
    pub fn parse(text: &str) -> Self {
        if text == "cles" { EffectSizeMeasure::Cles } else { EffectSizeMeasure::MeanRatio }
    }

    /// The default for all four thresholds: 0.5 for CLES, 1.0 for the mean ratio.
    pub fn default_threshold(self) -> f64 {
        match self {
            EffectSizeMeasure::MeanRatio => 1.0,
            EffectSizeMeasure::Cles => 0.5,
        }
    }
}

/// `analysisConfigurations.canary.effectSize`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EffectSize {
    /// The measure compared with the thresholds.
    pub measure: EffectSizeMeasure,
    /// High needs `effect ≥ allowed_increase` (unless the effect is NaN).
    pub allowed_increase: f64,
    /// Low needs `effect ≤ allowed_decrease` (unless the effect is NaN).
    pub allowed_decrease: f64,
    /// A High of a critical metric is critical when `effect ≥ critical_increase` (or NaN).
    pub critical_increase: f64,
    /// A Low of a critical metric is critical when `effect ≤ critical_decrease` (or NaN).
    pub critical_decrease: f64,
}

impl EffectSize {
    /// All thresholds at the measure's default.
    pub fn with_defaults(measure: EffectSizeMeasure) -> Self {
        let threshold = measure.default_threshold();
        EffectSize {
            measure,
            allowed_increase: threshold,
            allowed_decrease: threshold,
            critical_increase: threshold,
            critical_decrease: threshold,
        }
    }
}

impl Default for EffectSize {
    fn default() -> Self {
        EffectSize::with_defaults(EffectSizeMeasure::MeanRatio)
    }
}

/// One metric's resolved `analysisConfigurations.canary`, with Kayenta's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    /// `direction`, default `either`.
    pub direction: Direction,
    /// `nanStrategy`, default `remove`.
    pub nan_strategy: NanStrategy,
    /// `outliers.strategy`, default `keep`.
    pub outlier_strategy: OutlierStrategy,
    /// `outliers.outlierFactor`, default 3.0; always > 0.
    pub outlier_factor: f64,
    /// `critical`, default false: a failing critical metric fails the whole canary.
    pub critical: bool,
    /// `mustHaveData`, default false: missing data is `NodataFailMetric` instead of `Nodata`.
    pub must_have_data: bool,
    /// `muted`, default false: classified and reported, but left out of scoring.
    pub muted: bool,
    /// `effectSize`.
    pub effect_size: EffectSize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            direction: Direction::Either,
            nan_strategy: NanStrategy::Remove,
            outlier_strategy: OutlierStrategy::Keep,
            outlier_factor: 3.0,
            critical: false,
            must_have_data: false,
            muted: false,
            effect_size: EffectSize::default(),
        }
    }
}

impl Config {
    /// Resolves an `analysisConfigurations.canary` value (any JSON value: an object normally; null, a
    /// scalar or a missing key give all defaults; an array is searched element-wise as `MapUtils.get` does).
    ///
    /// Errors are the inputs on which Kayenta's judge throws: a null where a string is read, a non-boolean
    /// where a boolean is read, a non-number (or an integer outside Java's `int` range) where a double is
    /// read, and an `outlierFactor` that is not > 0.
    pub fn from_json(canary: &Value) -> Result<Config, String> {
        Reader { root: canary, prefix: &[], label: "canary" }.config()
    }

    /// Resolves the `canary` key of a metric's whole `analysisConfigurations` object (`null` or a missing
    /// object gives all defaults). See [`Config::from_json`].
    pub fn from_analysis_configurations(analysis_configurations: &Value) -> Result<Config, String> {
        match analysis_configurations {
            Value::Object(_) | Value::Null => {
                Reader { root: analysis_configurations, prefix: &["canary"], label: "canary" }.config()
            }
            other => Err(format!("analysisConfigurations: expected an object, found {}", kind(other))),
        }
    }
}

/// What `MapUtils.get` finds at a path.
enum Found<'a> {
    /// One JSON value (possibly null).
    One(&'a Value),
    /// A Scala sequence gathered from a JSON array on the path; it is never a string, boolean or number.
    Seq,
}

/// Kayenta's `MapUtils.get(data, path*)`: maps are walked by key; a list maps the *same* path over its
/// elements and yields a sequence if anything was found; any other value (including null) ends the walk.
fn lookup<'a>(data: &'a Value, path: &[&str]) -> Option<Found<'a>> {
    let Some((head, tail)) = path.split_first() else {
        return Some(Found::One(data));
    };
    match data {
        Value::Object(map) => map.get(*head).and_then(|value| lookup(value, tail)),
        Value::Array(items) => items.iter().any(|item| lookup(item, path).is_some()).then_some(Found::Seq),
        _ => None,
    }
}

/// A short name of a JSON value's type, for error messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads typed values below `root` with `MapUtils`' `getAs…WithDefault` semantics.
struct Reader<'a> {
    root: &'a Value,
    prefix: &'static [&'static str],
    label: &'static str,
}

impl Reader<'_> {
    fn find(&self, path: &[&str]) -> Option<Found<'_>> {
        let full: Vec<&str> = self.prefix.iter().copied().chain(path.iter().copied()).collect();
        lookup(self.root, &full)
    }

    fn name(&self, path: &[&str]) -> String {
        let mut name = self.label.to_string();
        for key in path {
            name.push('.');
            name.push_str(key);
        }
        name
    }

    /// `getAsStringWithDefault`: `.toString` of whatever is there. Only the exact keywords matter to the
    /// callers, so non-string values are rendered in a form that never equals one.
    fn string(&self, default: &str, path: &[&str]) -> Result<String, String> {
        match self.find(path) {
            None => Ok(default.to_string()),
            Some(Found::One(Value::String(text))) => Ok(text.clone()),
            Some(Found::One(Value::Null)) => Err(format!(
                "{}: null where a string is expected (Kayenta fails the judgement with a NullPointerException)",
                self.name(path)
            )),
            Some(Found::One(other)) => Ok(other.to_string()),
            Some(Found::Seq) => Ok("ArrayBuffer(…)".to_string()),
        }
    }

    /// `getAsBooleanWithDefault`: `asInstanceOf[Boolean]`, so null reads as false and anything else throws.
    fn boolean(&self, default: bool, path: &[&str]) -> Result<bool, String> {
        match self.find(path) {
            None => Ok(default),
            Some(Found::One(Value::Bool(flag))) => Ok(*flag),
            Some(Found::One(Value::Null)) => Ok(false),
            Some(Found::One(other)) => Err(format!(
                "{}: expected a boolean, found {} (Kayenta fails the judgement with a ClassCastException)",
                self.name(path),
                kind(other)
            )),
            Some(Found::Seq) => Err(format!(
                "{}: expected a boolean, found a list (Kayenta fails the judgement with a ClassCastException)",
                self.name(path)
            )),
        }
    }

    /// `getAsDoubleWithDefault`: an `Integer` is widened, a `Double` taken as is, null reads as 0.0, and
    /// anything else (including a JSON integer that Jackson reads as a `Long`) throws.
    fn double(&self, default: f64, path: &[&str]) -> Result<f64, String> {
        let cast_error = |what: &str| {
            format!(
                "{}: expected a number, found {what} (Kayenta fails the judgement with a ClassCastException)",
                self.name(path)
            )
        };
        match self.find(path) {
            None => Ok(default),
            Some(Found::One(Value::Number(number))) => {
                if number.is_f64() {
                    number.as_f64().ok_or_else(|| cast_error("a number that is not a double"))
                } else {
                    match number.as_i64().map(i32::try_from) {
                        Some(Ok(int)) => Ok(f64::from(int)),
                        _ => Err(cast_error("an integer outside the 32-bit range")),
                    }
                }
            }
            Some(Found::One(Value::Null)) => Ok(0.0),
            Some(Found::One(other)) => Err(cast_error(kind(other))),
            Some(Found::Seq) => Err(cast_error("a list")),
        }
    }

    fn config(&self) -> Result<Config, String> {
        let direction = Direction::parse(&self.string("either", &["direction"])?);
        let nan_strategy = NanStrategy::parse(&self.string("none", &["nanStrategy"])?);
        let outlier_strategy = OutlierStrategy::parse(&self.string("none", &["outliers", "strategy"])?);
        let outlier_factor = self.double(3.0, &["outliers", "outlierFactor"])?;
        let critical = self.boolean(false, &["critical"])?;
        let must_have_data = self.boolean(false, &["mustHaveData"])?;
        let muted = self.boolean(false, &["muted"])?;
        let measure_text = self.string("meanRatio", &["effectSize", "measure"])?;
        let measure = EffectSizeMeasure::parse(&measure_text);
        let threshold = measure.default_threshold();
        let effect_size = EffectSize {
            measure,
            allowed_increase: self.double(threshold, &["effectSize", "allowedIncrease"])?,
            allowed_decrease: self.double(threshold, &["effectSize", "allowedDecrease"])?,
            critical_increase: self.double(threshold, &["effectSize", "criticalIncrease"])?,
            critical_decrease: self.double(threshold, &["effectSize", "criticalDecrease"])?,
        };
        // Kayenta builds `IQRDetector(factor = outlierFactor)` for every metric, whose constructor
        // requires factor > 0.
        if outlier_factor.is_nan() || outlier_factor <= 0.0 {
            return Err(format!(
                "{}: must be greater than zero, found {outlier_factor} (Kayenta's IQRDetector rejects it)",
                self.name(&["outliers", "outlierFactor"])
            ));
        }
        Ok(Config {
            direction,
            nan_strategy,
            outlier_strategy,
            outlier_factor,
            critical,
            must_have_data,
            muted,
            effect_size,
        })
    }
}

/// One entry of a canary config's `metrics`: its name, groups and resolved analysis configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricConfig {
    /// The metric's name; results are matched to configs by name (the first match wins, as in Kayenta).
    pub name: String,
    /// The scoring groups the metric belongs to (may be several, or none).
    pub groups: Vec<String>,
    /// The resolved `analysisConfigurations.canary`.
    pub config: Config,
}

impl MetricConfig {
    /// A metric config from its parts.
    pub fn new(name: impl Into<String>, groups: Vec<String>, config: Config) -> Self {
        MetricConfig { name: name.into(), groups, config }
    }

    /// Parses one element of a canary config's `metrics` array (`name`, `groups`,
    /// `analysisConfigurations`; other keys such as `query` and `scopeName` are ignored).
    pub fn from_json(metric: &Value) -> Result<Self, String> {
        let Value::Object(fields) = metric else {
            return Err(format!("metric: expected an object, found {}", kind(metric)));
        };
        let name = match fields.get("name") {
            Some(Value::String(name)) => name.clone(),
            Some(other) => return Err(format!("metric name: expected a string, found {}", kind(other))),
            None => return Err("metric: missing name".to_string()),
        };
        let groups = match fields.get("groups") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(group) => Ok(group.clone()),
                    other => Err(format!("metric {name:?}: groups: expected strings, found {}", kind(other))),
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(other) => return Err(format!("metric {name:?}: groups: expected an array, found {}", kind(other))),
        };
        let analysis_configurations = fields.get("analysisConfigurations").unwrap_or(&Value::Null);
        let config = Config::from_analysis_configurations(analysis_configurations)
            .map_err(|err| format!("metric {name:?}: {err}"))?;
        Ok(MetricConfig { name, groups, config })
    }
}

/// A canary config document (§3.1 of the reference), reduced to what judging and scoring need.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryConfig {
    /// `name`, if given.
    pub name: Option<String>,
    /// `metrics`, in document order.
    pub metrics: Vec<MetricConfig>,
    /// `classifier.groupWeights` (0–100 each, documented to sum to 100; not renormalised).
    pub group_weights: Vec<(String, f64)>,
}

impl CanaryConfig {
    /// Parses a canary config document. `metrics` and `classifier` may be missing (no metrics, no
    /// weights); group weights may be JSON numbers or numeric strings (Jackson coerces those).
    pub fn from_json(config: &Value) -> Result<Self, String> {
        let Value::Object(fields) = config else {
            return Err(format!("canary config: expected an object, found {}", kind(config)));
        };
        let name = match fields.get("name") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => Some(name.clone()),
            Some(other) => return Err(format!("canary config name: expected a string, found {}", kind(other))),
        };
        let metrics = match fields.get("metrics") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.iter().map(MetricConfig::from_json).collect::<Result<Vec<_>, _>>()?,
            Some(other) => return Err(format!("metrics: expected an array, found {}", kind(other))),
        };
        let weights = match fields.get("classifier") {
            None | Some(Value::Null) => None,
            Some(Value::Object(classifier)) => classifier.get("groupWeights"),
            Some(other) => return Err(format!("classifier: expected an object, found {}", kind(other))),
        };
        let group_weights = match weights {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(weights)) => weights
                .iter()
                .map(|(group, weight)| {
                    let value = match weight {
                        Value::Number(number) => number.as_f64(),
                        Value::String(text) => text.trim().parse::<f64>().ok(),
                        _ => None,
                    };
                    value.map(|value| (group.clone(), value)).ok_or_else(|| {
                        format!("classifier.groupWeights.{group}: expected a number, found {}", kind(weight))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(other) => return Err(format!("classifier.groupWeights: expected an object, found {}", kind(other))),
        };
        Ok(CanaryConfig { name, metrics, group_weights })
    }

    /// The first metric config with this name (Kayenta's `getMetrics.find(_.getName == name)`).
    pub fn metric(&self, name: &str) -> Option<&MetricConfig> {
        self.metrics.iter().find(|metric| metric.name == name)
    }

    /// The configured weight of a group, if any.
    pub fn group_weight(&self, group: &str) -> Option<f64> {
        self.group_weights.iter().find(|(name, _)| name == group).map(|&(_, weight)| weight)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[track_caller]
    fn check(canary: Value, expect: Config) {
        assert_eq!(Config::from_json(&canary), Ok(expect));
    }

    #[track_caller]
    fn check_err(canary: Value, needle: &str) {
        match Config::from_json(&canary) {
            Ok(config) => panic!("expected an error containing {needle:?}, got {config:?}"),
            Err(err) => assert!(err.contains(needle), "{err:?} does not contain {needle:?}"),
        }
    }

    #[test]
    fn defaults() {
        let defaults = Config::default();
        assert_eq!(defaults.direction, Direction::Either);
        assert_eq!(defaults.nan_strategy, NanStrategy::Remove);
        assert_eq!(defaults.outlier_strategy, OutlierStrategy::Keep);
        assert_eq!(defaults.outlier_factor, 3.0);
        assert!(!defaults.critical && !defaults.must_have_data && !defaults.muted);
        assert_eq!(defaults.effect_size, EffectSize::with_defaults(EffectSizeMeasure::MeanRatio));
        assert_eq!(defaults.effect_size.allowed_increase, 1.0);
        check(json!({}), defaults);
        check(Value::Null, defaults);
        check(json!(5), defaults);
        check(json!("canary"), defaults);
        check(json!([]), defaults);
        assert_eq!(Config::from_analysis_configurations(&json!({})), Ok(defaults));
        assert_eq!(Config::from_analysis_configurations(&Value::Null), Ok(defaults));
        assert_eq!(Config::from_analysis_configurations(&json!({"canary": null})), Ok(defaults));
    }

    #[test]
    fn full_config_from_the_reference() {
        let canary = json!({
            "direction": "increase", "nanStrategy": "replace", "critical": true, "mustHaveData": false,
            "muted": false,
            "effectSize": {"measure": "meanRatio", "allowedIncrease": 1.1, "allowedDecrease": 0.9,
                           "criticalIncrease": 5.0, "criticalDecrease": 0.5},
            "outliers": {"strategy": "remove", "outlierFactor": 3.0}
        });
        check(
            canary,
            Config {
                direction: Direction::Increase,
                nan_strategy: NanStrategy::Replace,
                outlier_strategy: OutlierStrategy::Remove,
                outlier_factor: 3.0,
                critical: true,
                must_have_data: false,
                muted: false,
                effect_size: EffectSize {
                    measure: EffectSizeMeasure::MeanRatio,
                    allowed_increase: 1.1,
                    allowed_decrease: 0.9,
                    critical_increase: 5.0,
                    critical_decrease: 0.5,
                },
            },
        );
    }

    #[test]
    fn unknown_strings_fall_back() {
        let parsed = Config::from_json(&json!({
            "direction": "INCREASE", "nanStrategy": "zero", "outliers": {"strategy": "drop"},
            "effectSize": {"measure": "cohen"}
        }))
        .unwrap();
        assert_eq!(parsed.direction, Direction::Either);
        assert_eq!(parsed.nan_strategy, NanStrategy::Remove);
        assert_eq!(parsed.outlier_strategy, OutlierStrategy::Keep);
        assert_eq!(parsed.effect_size.measure, EffectSizeMeasure::MeanRatio);
        // Non-string values are `.toString`-ed, which never equals a keyword.
        let parsed =
            Config::from_json(&json!({"direction": 1, "nanStrategy": true, "outliers": {"strategy": {}}})).unwrap();
        assert_eq!(parsed.direction, Direction::Either);
        assert_eq!(parsed.nan_strategy, NanStrategy::Remove);
        assert_eq!(parsed.outlier_strategy, OutlierStrategy::Keep);
        assert_eq!(Direction::parse("decrease"), Direction::Decrease);
        assert_eq!(NanStrategy::parse("none"), NanStrategy::Remove);
        assert_eq!(OutlierStrategy::parse("none"), OutlierStrategy::Keep);
    }

    #[test]
    fn cles_changes_the_default_thresholds() {
        let parsed = Config::from_json(&json!({"effectSize": {"measure": "cles"}})).unwrap();
        assert_eq!(parsed.effect_size, EffectSize::with_defaults(EffectSizeMeasure::Cles));
        assert_eq!(parsed.effect_size.allowed_increase, 0.5);
        assert_eq!(parsed.effect_size.critical_decrease, 0.5);
        let parsed = Config::from_json(&json!({"effectSize": {"measure": "cles", "allowedIncrease": 0.8}})).unwrap();
        assert_eq!(parsed.effect_size.allowed_increase, 0.8);
        assert_eq!(parsed.effect_size.allowed_decrease, 0.5);
    }

    #[test]
    fn numbers_accept_int_and_double() {
        let parsed = Config::from_json(&json!({
            "effectSize": {"allowedIncrease": 2, "allowedDecrease": 0.5},
            "outliers": {"outlierFactor": 1}
        }))
        .unwrap();
        assert_eq!(parsed.effect_size.allowed_increase, 2.0);
        assert_eq!(parsed.effect_size.allowed_decrease, 0.5);
        assert_eq!(parsed.outlier_factor, 1.0);
        // A JSON null reads as 0.0 (Scala unboxes null to 0.0).
        let parsed = Config::from_json(&json!({"effectSize": {"criticalIncrease": null}})).unwrap();
        assert_eq!(parsed.effect_size.critical_increase, 0.0);
        // Integers beyond Java's int are Longs for Jackson and fail the cast; so do strings and booleans.
        check_err(json!({"effectSize": {"allowedIncrease": 3_000_000_000u64}}), "canary.effectSize.allowedIncrease");
        check_err(json!({"effectSize": {"allowedIncrease": "1.5"}}), "found a string");
        check_err(json!({"effectSize": {"allowedIncrease": true}}), "found a boolean");
        check_err(json!({"effectSize": {"allowedIncrease": [1.0]}}), "found an array");
    }

    #[test]
    fn booleans_are_cast() {
        check_err(json!({"critical": "true"}), "canary.critical: expected a boolean, found a string");
        check_err(json!({"mustHaveData": 1}), "found a number");
        check_err(json!({"muted": {}}), "found an object");
        // A JSON null unboxes to false.
        let parsed = Config::from_json(&json!({"critical": null, "muted": true, "mustHaveData": true})).unwrap();
        assert!(!parsed.critical);
        assert!(parsed.muted && parsed.must_have_data);
    }

    #[test]
    fn null_string_throws() {
        check_err(json!({"direction": null}), "canary.direction: null");
        check_err(json!({"effectSize": {"measure": null}}), "canary.effectSize.measure: null");
    }

    #[test]
    fn non_objects_on_the_path_give_defaults() {
        // `effectSize` is a string: the walk stops, defaults apply.
        let parsed = Config::from_json(&json!({"effectSize": "big", "outliers": 7})).unwrap();
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn lists_are_searched_element_wise() {
        // MapUtils maps the path over list elements: a found string is a Scala sequence, which matches no
        // keyword; a found boolean or number is a sequence, which fails the cast.
        let parsed = Config::from_json(&json!([{"direction": "increase"}])).unwrap();
        assert_eq!(parsed.direction, Direction::Either);
        check_err(json!([{"critical": true}]), "found a list");
        check_err(json!({"effectSize": [{"allowedIncrease": 2.0}]}), "found a list");
        // Nothing found in the list: defaults.
        assert_eq!(Config::from_json(&json!([{"other": 1}])), Ok(Config::default()));
    }

    #[test]
    fn outlier_factor_must_be_positive() {
        check_err(json!({"outliers": {"outlierFactor": 0}}), "must be greater than zero");
        check_err(json!({"outliers": {"outlierFactor": -1.5}}), "must be greater than zero");
        check_err(json!({"outliers": {"outlierFactor": null}}), "must be greater than zero");
    }

    #[test]
    fn analysis_configurations_wrapper() {
        let parsed = Config::from_analysis_configurations(&json!({"canary": {"direction": "decrease"}})).unwrap();
        assert_eq!(parsed.direction, Direction::Decrease);
        assert!(Config::from_analysis_configurations(&json!([1])).is_err());
    }

    #[test]
    fn canary_config_document() {
        let doc = json!({
            "name": "my-app canary", "description": "...", "configVersion": "1", "applications": ["my-app"],
            "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
            "metrics": [{
                "name": "5xx rate", "groups": ["errors"], "scopeName": "default",
                "query": {"type": "prometheus", "metricName": "http_5xx", "customFilterTemplate": "tpl"},
                "analysisConfigurations": {"canary": {
                    "direction": "increase", "nanStrategy": "replace", "critical": true, "mustHaveData": false,
                    "muted": false,
                    "effectSize": {"measure": "meanRatio", "allowedIncrease": 1.1, "allowedDecrease": 0.9,
                                   "criticalIncrease": 5.0, "criticalDecrease": 0.5},
                    "outliers": {"strategy": "remove", "outlierFactor": 3.0}}}
            }, {
                "name": "latency", "groups": ["latency", "errors"]
            }],
            "templates": {"tpl": "namespace='${namespace}', scope='${scope}'"},
            "classifier": {"groupWeights": {"errors": 60, "latency": "40"}}
        });
        let config = CanaryConfig::from_json(&doc).unwrap();
        assert_eq!(config.name.as_deref(), Some("my-app canary"));
        assert_eq!(config.metrics.len(), 2);
        let errors = config.metric("5xx rate").unwrap();
        assert_eq!(errors.groups, vec!["errors".to_string()]);
        assert!(errors.config.critical);
        assert_eq!(errors.config.effect_size.critical_increase, 5.0);
        assert_eq!(config.metric("latency").unwrap().config, Config::default());
        assert_eq!(config.group_weight("errors"), Some(60.0));
        assert_eq!(config.group_weight("latency"), Some(40.0));
        assert_eq!(config.group_weight("other"), None);
        assert!(config.metric("missing").is_none());
    }

    #[test]
    fn canary_config_errors() {
        assert!(CanaryConfig::from_json(&json!([])).is_err());
        assert!(CanaryConfig::from_json(&json!({"metrics": [{"groups": []}]})).unwrap_err().contains("missing name"));
        assert!(CanaryConfig::from_json(&json!({"metrics": [{"name": 3}]})).is_err());
        assert!(CanaryConfig::from_json(&json!({"metrics": [{"name": "a", "groups": "g"}]})).is_err());
        assert!(CanaryConfig::from_json(&json!({"classifier": {"groupWeights": {"g": null}}})).is_err());
        assert!(CanaryConfig::from_json(&json!({"classifier": {"groupWeights": {"g": "x"}}})).is_err());
        let err = CanaryConfig::from_json(&json!({"metrics": [{"name": "a",
            "analysisConfigurations": {"canary": {"critical": "yes"}}}]}))
        .unwrap_err();
        assert!(err.contains("metric \"a\": canary.critical"), "{err}");
        // Empty document: no metrics, no weights.
        assert_eq!(CanaryConfig::from_json(&json!({})), Ok(CanaryConfig::default()));
    }
}
