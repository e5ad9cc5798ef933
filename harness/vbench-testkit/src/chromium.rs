//! Headless Chromium (Debian's `chromium`) for the report tests: offline, quiet, one profile per
//! test.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("VBENCH_CHROMIUM") {
        return p.into();
    }
    for name in ["chromium", "chromium-browser"] {
        for dir in std::env::var("PATH").unwrap_or_default().split(':') {
            let p = Path::new(dir).join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!("headless Chromium not found: `apt-get install -y --no-install-recommends chromium fonts-dejavu-core` (or set VBENCH_CHROMIUM)");
}

/// Runs headless Chromium on `page` with the flags that keep it offline and quiet; returns
/// (stdout, stderr).
pub fn headless(profile: &Path, page: &Path, extra: &[&str]) -> (String, String) {
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "chromium failed: {stderr}");
    (stdout, stderr)
}
