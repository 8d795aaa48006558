//! Shared by the catalog tests: which keys of a catalog JSON value man/pglcr-catalog.5 does not
//! document.

use std::collections::HashMap;

use serde_json::Value;

/// The man page's `.SS` sections by title.
fn sections() -> HashMap<String, String> {
    let page = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man/pglcr-catalog.5"),
    )
    .expect("read man/pglcr-catalog.5");
    let mut sections = HashMap::new();
    let mut title = String::new();
    for line in page.lines() {
        if let Some(t) = line.strip_prefix(".SS ") {
            title = t.trim().to_string();
        } else if line.starts_with(".SH ") {
            title.clear();
        } else if !title.is_empty() {
            let text: &mut String = sections.entry(title.clone()).or_default();
            text.push_str(line);
            text.push('\n');
        }
    }
    sections
}

/// Every key of `value` (an object found under `parent`) is documented in the
/// section for `parent`, recursively, that the man page does not document, as `parent.key`.
pub fn undocumented(value: &Value) -> Vec<String> {
    let sections = sections();
    let mut missing = Vec::new();
    walk(value, "document", &sections, &mut missing);
    missing
}

fn walk(
    value: &Value,
    parent: &str,
    sections: &HashMap<String, String>,
    missing: &mut Vec<String>,
) {
    match value {
        Value::Array(items) => {
            for item in items {
                walk(item, parent, sections, missing);
            }
        }
        Value::Object(map) => {
            let section = sections
                .iter()
                .find(|(title, _)| title.split(", ").any(|t| t == parent))
                .map(|(_, text)| text.as_str());
            for (key, child) in map {
                let documented =
                    section.is_some_and(|text| text.contains(&format!("\\fB{key}\\fR")));
                if !documented {
                    missing.push(format!("{parent}.{key}"));
                }
                walk(child, key, sections, missing);
            }
        }
        _ => {}
    }
}
