//! JUnit XML for CI systems: one `<testsuite>` per entry, one `<testcase>` per check. Failures are
//! `<failure>`, skips `<skipped>`; passes and warnings keep their reason in `<system-out>`, which CI
//! viewers show next to the test.

use super::{Check, GateReport, Verdict};

/// XML 1.0 text/attribute escaping; characters XML 1.0 cannot carry at all are dropped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(ch),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

fn case(c: &Check) -> String {
    let head = format!(
        "    <testcase classname=\"{}\" name=\"{}\"",
        escape(&c.entry),
        escape(&c.name)
    );
    let msg = escape(&c.message);
    match c.verdict {
        Verdict::Fail => format!("{head}>\n      <failure message=\"{msg}\" type=\"regression\">{msg}</failure>\n    </testcase>\n"),
        Verdict::Skip => format!("{head}>\n      <skipped message=\"{msg}\"/>\n    </testcase>\n"),
        Verdict::Warn => format!("{head}>\n      <system-out>WARN: {msg}</system-out>\n    </testcase>\n"),
        Verdict::Pass => format!("{head}>\n      <system-out>{msg}</system-out>\n    </testcase>\n"),
    }
}

pub fn render(r: &GateReport) -> String {
    let mut entries: Vec<&str> = Vec::new();
    for c in &r.checks {
        if !entries.contains(&c.entry.as_str()) {
            entries.push(&c.entry);
        }
    }
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s += &format!(
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">\n",
        escape(&format!(
            "vbench gate: {} against {}",
            r.candidate, r.against
        )),
        r.checks.len(),
        r.count(Verdict::Fail),
        r.count(Verdict::Skip)
    );
    for e in entries {
        let cs: Vec<&Check> = r.checks.iter().filter(|c| c.entry == e).collect();
        let n = |v: Verdict| cs.iter().filter(|c| c.verdict == v).count();
        s += &format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">\n",
            escape(e),
            cs.len(),
            n(Verdict::Fail),
            n(Verdict::Skip)
        );
        for c in cs {
            s += &case(c);
        }
        s += "  </testsuite>\n";
    }
    s += "</testsuites>\n";
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(
            escape("a<b & \"c\" 'd'\u{1}>"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"
        );
    }
}
