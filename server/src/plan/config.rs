//! Configuration in one place: the CLI fills it from flags, the server from
//! `workspace/configuration` (section `okstra`, camelCase keys).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// okstra's cap on effective steps per stage (`step ≤6 cap`).
pub(crate) const DEFAULT_CAP: usize = 6;
/// okstra's `RUN_STEP_BUDGET`.
pub(crate) const DEFAULT_RUN_BUDGET: usize = 8;
/// Documents above this size are not analysed.
pub(crate) const DEFAULT_MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Config {
    /// Most effective steps a stage may have.
    pub cap: usize,
    /// Steps one implementation run may take.
    pub run_budget: usize,
    /// Reproduce okstra exactly: started-but-not-done stages may be batched again.
    pub include_started: bool,
    /// Extra spellings for the plan's labels, keyed by the canonical label
    /// (`"Stage Map"`, `"Stepwise Execution Order"`, `"Stage Exit Contract"`,
    /// `"Stage Validation"`, `"Plan Body Verification"`,
    /// `"Clarification Items"`, `"Open Questions"`, `"Stage"`,
    /// `"Predicted files"`).
    pub label_aliases: BTreeMap<String, Vec<String>>,
    /// A rule code mapped to the severity to report it with, or `off`.
    pub severity_overrides: BTreeMap<String, SeverityOverride>,
    /// Larger documents get one `document-too-large` diagnostic instead of analysis.
    pub max_document_bytes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeverityOverride {
    Error,
    Warning,
    Info,
    Hint,
    Off,
}

impl SeverityOverride {
    pub fn severity(self) -> Option<Severity> {
        match self {
            SeverityOverride::Error => Some(Severity::Error),
            SeverityOverride::Warning => Some(Severity::Warning),
            SeverityOverride::Info | SeverityOverride::Hint => Some(Severity::Info),
            SeverityOverride::Off => None,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            cap: DEFAULT_CAP,
            run_budget: DEFAULT_RUN_BUDGET,
            include_started: false,
            label_aliases: BTreeMap::new(),
            severity_overrides: BTreeMap::new(),
            max_document_bytes: DEFAULT_MAX_DOCUMENT_BYTES,
        }
    }
}

impl Config {
    /// The aliases configured for a canonical label, lower-cased for matching.
    pub fn aliases(&self, canonical: &str) -> Vec<String> {
        self.label_aliases
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(canonical))
            .flat_map(|(_, v)| v.iter().map(|s| crate::plan::model::normalize_label(s)))
            .collect()
    }

    /// Reads a `workspace/configuration` answer; unknown keys are ignored and
    /// a malformed value keeps the default, with the reason returned.
    pub fn from_json(value: &serde_json::Value) -> (Config, Vec<String>) {
        let mut config = Config::default();
        let mut problems = Vec::new();
        let Some(obj) = value.as_object() else {
            if !value.is_null() {
                problems.push(format!("okstra settings must be an object, got {value}"));
            }
            return (config, problems);
        };
        let defaults = serde_json::to_value(Config::default()).unwrap_or_default();
        let mut merged = defaults.as_object().cloned().unwrap_or_default();
        for (key, v) in obj {
            if !merged.contains_key(key) {
                continue;
            }
            let mut trial = merged.clone();
            trial.insert(key.clone(), v.clone());
            match serde_json::from_value::<Config>(serde_json::Value::Object(trial)) {
                Ok(_) => {
                    merged.insert(key.clone(), v.clone());
                }
                Err(e) => problems.push(format!("okstra.{key}: {e}; using the default")),
            }
        }
        if let Ok(c) = serde_json::from_value::<Config>(serde_json::Value::Object(merged)) {
            config = c;
        }
        if config.cap == 0 {
            problems.push("okstra.cap must be at least 1; using 6".into());
            config.cap = DEFAULT_CAP;
        }
        if config.run_budget == 0 {
            problems.push("okstra.runBudget must be at least 1; using 8".into());
            config.run_budget = DEFAULT_RUN_BUDGET;
        }
        (config, problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn partial_and_bad_settings_keep_defaults() {
        let (c, problems) = Config::from_json(&json!({
            "cap": 4, "runBudget": "lots", "severityOverrides": {"parallel-file-overlap": "off"},
            "unknown": 1
        }));
        assert_eq!(c.cap, 4);
        assert_eq!(c.run_budget, 8);
        assert_eq!(
            c.severity_overrides["parallel-file-overlap"],
            SeverityOverride::Off
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("runBudget"));
    }

    #[test]
    fn zero_cap_is_refused() {
        let (c, problems) = Config::from_json(&json!({"cap": 0}));
        assert_eq!(c.cap, 6);
        assert_eq!(problems.len(), 1);
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}
