//! The JSON report: the model serialised as it is (schema in docs/report-schema.md). serde
//! escapes every control character in strings, so student output cannot break the format.

use super::Report;

pub fn render(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(report)
        .unwrap_or_else(|e| format!("{{\"error\": \"could not serialise the report: {e}\"}}"));
    s.push('\n');
    s
}
