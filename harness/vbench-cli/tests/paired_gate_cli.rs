//! `vbench gate`, `vbench compare`, `vbench score --reference-list` and `vbench simulate-gate` as a
//! user meets them, on runs whose accuracy comes from constructed predictions files with known
//! flips: reruns pass, a 0.5-point drop fails (exit 1), different dataset lists fall back to the
//! unpaired rule naming both sha256 values, compare lists the flips with Kinetics class names.

use serde_json::Value;
use std::path::Path;
use vbench_results::paired::synthetic::{video_id, write_synthetic, SyntheticRun};
use vbench_results::predictions::score_file;
use vbench_testkit::{text, vbench};

const N: usize = 2000;

/// A results.json of `vbench run --suite k400 --entry x3d_xs --no-latency` (no data), made once
/// per test folder.
fn base_results(dir: &Path) -> Value {
    let out = dir.join("base");
    if !out.join("results.json").is_file() {
        let o = vbench(&[
            "run",
            "--suite",
            "k400",
            "--entry",
            "x3d_xs",
            "--no-latency",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap()
}

fn labels() -> Vec<i64> {
    (0..N).map(|i| (i % 400) as i64).collect()
}

fn base_correct() -> Vec<bool> {
    (0..N).map(|i| i % 4 != 3).collect()
}

/// `dir/<name>/results.json` whose x3d_xs accuracy is scored from `dir/<name>/predictions/x3d_xs.jsonl`.
fn run(dir: &Path, name: &str, correct: &[bool], sha: &str) -> String {
    let folder = dir.join(name);
    let pred = folder.join("predictions/x3d_xs.jsonl");
    std::fs::create_dir_all(pred.parent().unwrap()).unwrap();
    write_synthetic(
        &pred,
        &SyntheticRun {
            num_classes: 400,
            labels: &labels(),
            correct,
            failed: &[],
            dataset_sha256: sha,
            entry: "k400/x3d_xs",
            task: "classification",
        },
    )
    .unwrap();
    let mut acc = score_file(&pred, None).unwrap().accuracy;
    // As a run records it: relative to the results folder.
    acc.predictions = Some("predictions/x3d_xs.jsonl".into());
    let mut r = base_results(dir);
    r["entries"][0]["accuracy"] = serde_json::json!({"status": "measured", "value": acc});
    let path = folder.join("results.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&r).unwrap()).unwrap();
    path.display().to_string()
}

/// Ten right videos broken: 0.5 points of 2000.
fn dropped() -> Vec<bool> {
    let mut c = base_correct();
    for i in (0..N).filter(|i| i % 4 == 0).step_by(20).take(10) {
        c[i] = false;
    }
    c
}

#[test]
fn gate_fails_a_paired_drop_and_passes_a_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let a = run(dir.path(), "a", &base_correct(), "s");
    let same = run(dir.path(), "same", &base_correct(), "s");
    let drop = run(dir.path(), "drop", &dropped(), "s");

    let o = vbench(&["gate", "--baseline", &a, "--candidate", &same]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("PASS k400/x3d_xs top1: unchanged: paired on 2000 videos"));

    let o = vbench(&["gate", "--baseline", &a, "--candidate", &drop]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("FAIL k400/x3d_xs top1: worse: p < α = 0.05 and drop ≥ 0.20 points"),
        "{out}"
    );
    assert!(
        out.contains("McNemar's exact test, two-sided p = 0.0020, fixed 0, broken 10"),
        "{out}"
    );

    // A policy with a larger minimum effect passes the same drop.
    let policy = dir.path().join("p.toml");
    std::fs::write(&policy, "[accuracy]\nmin_effect_points = 1.0\n").unwrap();
    let o = vbench(&[
        "gate",
        "--baseline",
        &a,
        "--candidate",
        &drop,
        "--policy",
        policy.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn different_lists_fall_back_naming_both_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let (sa, sb) = ("a".repeat(64), "b".repeat(64));
    let a = run(dir.path(), "a", &base_correct(), &sa);
    let b = run(dir.path(), "b", &dropped(), &sb);
    let o = vbench(&["gate", "--baseline", &a, "--candidate", &b]);
    let out = text(&o);
    // Unpaired, a 0.5-point drop is within the tolerance: the fallback passes it, and says why.
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("unpaired test (not paired: the runs scored different dataset lists"),
        "{out}"
    );
    assert!(out.contains(&sa) && out.contains(&sb), "{out}");
}

#[test]
fn compare_lists_flips_with_class_names_in_json_and_html() {
    let dir = tempfile::tempdir().unwrap();
    let a = run(dir.path(), "a", &base_correct(), "s");
    let b = run(dir.path(), "b", &dropped(), "s");
    let o = vbench(&["compare", &a, &b, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    let p = &j["pairing"]["entries"]["k400/x3d_xs"];
    let flips = p["flips"].as_array().unwrap();
    assert_eq!(flips.len(), 10);
    // Video 0 has label 0: Kinetics-400's first class.
    assert_eq!(flips[0]["class"], "abseiling");
    assert_eq!(flips[0]["candidate_class"], "air drumming");
    assert_eq!(flips[0]["change"], "broken");
    assert_eq!(p["metrics"][0]["key"], "top1");
    assert!(p["classes"].as_array().unwrap().len() == 400);

    let html = dir.path().join("c.html");
    let o = vbench(&[
        "compare",
        &a,
        &b,
        "--format",
        "html",
        "--output",
        html.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let html = std::fs::read_to_string(html).unwrap();
    assert_eq!(html.matches("<tr class=\"flip\">").count(), 10);
    assert!(html.contains("<td>abseiling</td><td>abseiling</td><td>air drumming</td>"));
}

#[test]
fn score_explains_the_gap_to_the_published_top1() {
    let dir = tempfile::tempdir().unwrap();
    let a = run(dir.path(), "a", &base_correct(), "s");
    let pred = Path::new(&a)
        .parent()
        .unwrap()
        .join("predictions/x3d_xs.jsonl");
    // The official list holds the 2000 videos and 200 more this copy lacks.
    let mut csv = String::from("label,youtube_id,time_start,time_end,split,is_cc\n");
    for i in 0..2200 {
        let id = video_id(i, 0);
        let yt = &id[id.find('/').unwrap() + 1..id.find('_').unwrap()];
        csv += &format!("x,{yt},10,20,val,0\n");
    }
    let list = dir.path().join("val.csv");
    std::fs::write(&list, csv).unwrap();
    let args = |published: &str| -> Vec<String> {
        [
            "score",
            "--predictions",
            pred.to_str().unwrap(),
            "--reference-list",
            list.to_str().unwrap(),
            "--published",
            published,
        ]
        .map(String::from)
        .to_vec()
    };
    // 1500 of 2000 right, 200 missing: [1500/2200, 1700/2200] = [68.18, 77.27].
    let run = |p: &str| {
        let a = args(p);
        vbench(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let o = run("75.0");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("lies in [68.18, 77.27]"), "{}", text(&o));
    assert!(
        text(&o).contains("The published 75 lies inside"),
        "{}",
        text(&o)
    );
    let o = run("80.0");
    assert!(
        text(&o).contains("The published 80 lies OUTSIDE"),
        "{}",
        text(&o)
    );

    // An unknown list format: exit 2, naming the file and line.
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "some_video.mp4 3\n").unwrap();
    let o = vbench(&[
        "score",
        "--predictions",
        pred.to_str().unwrap(),
        "--reference-list",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("{}:1:", bad.display())),
        "{}",
        text(&o)
    );
}

#[test]
fn simulate_gate_prints_the_table_and_refuses_bad_input() {
    let o = vbench(&[
        "simulate-gate",
        "--videos",
        "2000",
        "--replicates",
        "100",
        "--drops",
        "0,1",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["rows"].as_array().unwrap().len(), 2);
    assert_eq!(j["spec"]["seed"], 18);
    assert!(j["generator"].as_str().unwrap().contains("ChaCha20"));
    let o = vbench(&["simulate-gate", "--discordant", "0.01", "--drops", "5"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}
