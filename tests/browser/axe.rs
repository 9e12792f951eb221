//! The axe-core accessibility checker (pinned in static/package.json), run inside the page.
//!
//! The page's CSP allows no inline script, so axe cannot be added as a `<script>`; WebDriver's
//! execute_script runs through DevTools, which the CSP does not govern.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::ui::Ui;

#[derive(Debug, Deserialize)]
pub struct Violation {
    pub id: String,
    pub impact: Option<String>,
    pub help: String,
    pub nodes: Vec<String>,
}

/// Runs axe on the page as it is now and fails on any "serious" or "critical" violation,
/// printing every violation found (the minor ones too, as a to-do list).
pub async fn check(ui: &Ui, screen: &str) {
    let violations = violations(ui).await;
    let mut serious = Vec::new();
    for v in &violations {
        let impact = v.impact.as_deref().unwrap_or("?");
        let line = format!(
            "axe [{screen}] {impact} {}: {}\n    {}",
            v.id,
            v.help,
            v.nodes.join("\n    ")
        );
        eprintln!("{line}");
        if matches!(impact, "serious" | "critical") {
            serious.push(line);
        }
    }
    assert!(
        serious.is_empty(),
        "axe: serious violations on {screen}:\n{}",
        serious.join("\n")
    );
}

/// What axe finds wrong with the page as it is now.
pub async fn violations(ui: &Ui) -> Vec<Violation> {
    let loaded = ui
        .script(&format!("{}\n;return typeof window.axe;", source()))
        .await;
    assert_eq!(loaded, "object", "axe loaded into the page");
    let answer = ui
        .client
        .execute_async(RUN, vec![])
        .await
        .unwrap_or_else(|e| panic!("axe did not run: {e}"));
    let answer = answer.as_str().unwrap_or_default();
    serde_json::from_str(answer).unwrap_or_else(|e| panic!("axe answered {answer:?}: {e}"))
}

/// axe.min.js, read once.
fn source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/static/node_modules/axe-core/axe.min.js"
        );
        std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {path} ({e}); run `npm ci --prefix static`"))
    })
}

/// Runs axe against WCAG 2.x A and AA and best practices; answers the violations as JSON, each
/// node as its selector and what to fix.
const RUN: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, {
  runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] },
  resultTypes: ["violations"],
}).then(
  (r) => done(JSON.stringify(r.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => n.target.join(" ") + " — " + (n.failureSummary || "").replace(/\s+/g, " ")),
  })))),
  (e) => done("axe failed: " + e),
);
"#;
