//! The JSON report: the model serialised as it is (schema in docs/report-schema.md). serde
//! escapes every control character in strings, so student output cannot break the format.

use super::Report;
use crate::i18n::verbatim;

pub fn render(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(report).unwrap_or_else(|e| {
        verbatim(format!(
            "{{\"error\": \"could not serialise the report: {e}\"}}"
        ))
    });
    s.push('\n');
    s
}

/// Several reports (a folder holding more than one exercise) as one JSON array.
pub fn render_many(reports: &[Report]) -> String {
    let mut s = serde_json::to_string_pretty(reports).unwrap_or_else(|e| {
        verbatim(format!(
            "{{\"error\": \"could not serialise the reports: {e}\"}}"
        ))
    });
    s.push('\n');
    s
}
