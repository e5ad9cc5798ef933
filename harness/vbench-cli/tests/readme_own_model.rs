//! README "Benchmark your own model", followed as a new user would: its `python` block is run with
//! the venv's python, its `toml` block is written as `mine.toml`, and every `vbench` line of its `sh`
//! blocks runs in that order, in one folder holding `data/` (a Kinetics-layout tree of real videos
//! built here from `../shared/data`). Each command must exit 0; the gates must have judged
//! something (params and FLOPs against the inline published numbers, accuracy against the first run).

use serde_json::Value;
use std::path::Path;
use std::process::Command;
use vbench_testkit::repo_root as repo;

/// The README section's fenced blocks, in order: (language, text).
fn blocks() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme
        .find("## Benchmark your own model")
        .expect("README has the section");
    let section = &readme[start..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in section[..end].lines() {
        match (&mut current, line.trim_start().strip_prefix("```")) {
            (None, Some(lang)) => current = Some((lang.trim().to_string(), String::new())),
            (Some(_), Some(_)) => out.push(current.take().unwrap()),
            (Some((_, text)), None) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

fn data_tree(dir: &Path) {
    let videos = dir.join("data/videos");
    std::fs::create_dir_all(&videos).unwrap();
    let shared = repo().join("../shared/data/videos");
    std::os::unix::fs::symlink(shared.join("k400_demo.mp4"), videos.join("a.mp4")).unwrap();
    std::os::unix::fs::symlink(shared.join("mobile_demo_1.mp4"), videos.join("b.mp4")).unwrap();
    std::fs::write(
        dir.join("data/test.csv"),
        "videos/a.mp4 6\nvideos/b.mp4 1\n",
    )
    .unwrap();
}

#[test]
fn readme_benchmark_your_own_model_runs_as_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    data_tree(dir);
    let blocks = blocks();
    let langs: Vec<&str> = blocks.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        langs,
        ["python", "sh", "toml", "sh"],
        "the section's blocks"
    );
    let mut gates = Vec::new();
    for (lang, text) in &blocks {
        match lang.as_str() {
            "python" => {
                std::fs::write(dir.join("export.py"), text).unwrap();
                let o = Command::new(repo().join(".venv/bin/python"))
                    .arg("export.py")
                    .current_dir(dir)
                    .output()
                    .unwrap();
                assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            }
            "toml" => std::fs::write(dir.join("mine.toml"), text).unwrap(),
            _ => {
                for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                    let words: Vec<&str> = line.split_whitespace().collect();
                    assert_eq!(words[0], "vbench", "only vbench commands: {line}");
                    let o = Command::new(env!("CARGO_BIN_EXE_vbench"))
                        .args(&words[1..])
                        .current_dir(dir)
                        .output()
                        .unwrap();
                    let stdout = String::from_utf8_lossy(&o.stdout).to_string();
                    assert!(
                        o.status.success(),
                        "`{line}` exited {:?}\n{stdout}\n{}",
                        o.status.code(),
                        String::from_utf8_lossy(&o.stderr)
                    );
                    if words[1] == "gate" {
                        gates.push(stdout);
                    }
                }
            }
        }
    }
    assert_eq!(gates.len(), 2);
    for needle in ["params", "gflops"] {
        assert!(gates[0].contains(needle), "judged {needle}: {}", gates[0]);
    }
    assert!(gates[1].contains("top1"), "judged accuracy: {}", gates[1]);
    let results: Value =
        serde_json::from_slice(&std::fs::read(dir.join("out/mine/results.json")).unwrap()).unwrap();
    let e = &results["entries"][0];
    assert_eq!(e["id"], "mine/my_model");
    assert_eq!(e["protocol_from"], "k400/x3d_xs");
    assert_eq!(e["accuracy"]["status"], "measured", "{e}");
}
