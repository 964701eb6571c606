//! `check -o junit`: the check as a JUnit XML report for CI (Jenkins, GitLab, GitHub
//! test reporters). One `<testsuite>` for the namespace, one `<testcase>` per signal
//! run: a failing finding is a `<failure>` whose text is the evidence and the fix, an
//! `unknown` one is `<skipped>` (triage could not tell), `ok` and `info` pass.
//!
//! The shape follows the Surefire/Jenkins `junit-10.xsd` (vendored as
//! tests/data/junit-10.xsd and validated against in tests/formats): `testsuites >
//! testsuite[name, tests, failures, errors] > properties?, testcase[name, classname]`.

use crate::check::Check;
use crate::finding::{Evidence, Finding, Status};

pub fn render(check: &Check) -> String {
    let tests = check.findings.len();
    let failures = check.summary.fail;
    let skipped = check.summary.unknown;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"triage check\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">\n"
    ));
    out.push_str(&format!(
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\"{}>\n",
        attr(&format!("triage check {}", check.namespace)),
        check
            .captured_at
            .map(|at| format!(" timestamp=\"{}\"", attr(&at.to_string())))
            .unwrap_or_default(),
    ));
    out.push_str("    <properties>\n");
    out.push_str(&property("namespace", &check.namespace));
    if let Some(at) = check.captured_at {
        out.push_str(&property("capturedAt", &at.to_string()));
    }
    out.push_str(&property(
        "profile",
        check.profile.as_deref().unwrap_or("none"),
    ));
    out.push_str("    </properties>\n");
    for finding in &check.findings {
        out.push_str(&testcase(&check.namespace, finding));
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

fn property(name: &str, value: &str) -> String {
    format!(
        "      <property name=\"{}\" value=\"{}\"/>\n",
        attr(name),
        attr(value)
    )
}

/// `classname` carries the namespace so that reports of several namespaces merged by
/// CI keep one test case per signal and namespace.
fn testcase(namespace: &str, finding: &Finding) -> String {
    let open = format!(
        "    <testcase classname=\"{}\" name=\"{}\"",
        attr(&format!("triage.{namespace}")),
        attr(finding.id)
    );
    match finding.status {
        Status::Fail => format!(
            "{open}>\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>\n",
            attr(finding.id),
            attr(&finding.summary),
            text(&failure_body(finding)),
        ),
        Status::Unknown => format!(
            "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>\n",
            attr(&finding.summary)
        ),
        Status::Ok | Status::Info => format!(
            "{open}>\n      <system-out>{}</system-out>\n    </testcase>\n",
            text(&format!("{}: {}", finding.status.name(), finding.summary))
        ),
    }
}

/// What `check`'s table prints under a failing signal: the objects, every piece of
/// evidence (log lines in full), the causes and the fix.
fn failure_body(finding: &Finding) -> String {
    let mut body = format!("{}\n", finding.summary);
    if !finding.objects.is_empty() {
        let names: Vec<String> = finding.objects.iter().map(|o| o.short()).collect();
        body.push_str(&format!("objects: {}\n", names.join(", ")));
    }
    for evidence in &finding.evidence {
        body.push_str(&format!("- {}\n", evidence.short()));
        if let Evidence::Log { lines, .. } = evidence {
            for line in lines {
                body.push_str(&format!("    | {line}\n"));
            }
        }
    }
    if !finding.caused_by.is_empty() {
        let names: Vec<String> = finding.caused_by.iter().map(|o| o.short()).collect();
        body.push_str(&format!("caused by: {}\n", names.join(", ")));
    }
    if let Some(fix) = &finding.fix {
        body.push_str(&format!("fix: {fix}\n"));
    }
    body
}

/// Escapes text content. Characters XML 1.0 cannot carry at all (most C0 controls,
/// which a crashing program's log may hold) become U+FFFD, so the report always parses.
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c if xml_char(c) => out.push(c),
            _ => out.push('\u{fffd}'),
        }
    }
    out
}

/// Escapes an attribute value (double-quoted); newlines and tabs are kept as character
/// references, since attribute-value normalisation would turn them into spaces.
fn attr(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if xml_char(c) => out.push(c),
            _ => out.push('\u{fffd}'),
        }
    }
    out
}

/// XML 1.0 `Char`: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attributes_escape_markup_and_controls() {
        assert_eq!(text("a<b>&c\u{1b}[31m\n"), "a&lt;b&gt;&amp;c\u{fffd}[31m\n");
        assert_eq!(attr("say \"hi\"\nnow"), "say &quot;hi&quot;&#10;now");
        assert!(!xml_char('\u{0}'));
        assert!(!xml_char('\u{fffe}'));
        assert!(xml_char('é'));
    }
}
