//! `vbench compare` video by video on constructed predictions files: a drop concentrated in one
//! class shows as flips with class names, per-class deltas and the class that moved most, in the
//! text, JSON and HTML forms.

use vbench_testkit::fixtures as common;

use common::paired::{base, pair, run, CLASSES, N};
use vbench_report::{compare_paired, Policy};

#[test]
fn a_drop_in_one_class_shows_as_flips_and_the_class_that_moved_most() {
    let dir = tempfile::tempdir().unwrap();
    let mut cand = base();
    let class3: Vec<usize> = (0..N).filter(|i| i % CLASSES == 3 && cand[*i]).collect();
    for &i in class3.iter().take(30) {
        cand[i] = false;
    }
    // One wrong video of class 7 fixed.
    let wrong7 = (0..N).find(|i| i % CLASSES == 7 && !cand[*i]).unwrap();
    cand[wrong7] = true;
    let a = run(dir.path(), "a", &base(), "s");
    let b = run(dir.path(), "b", &cand, "s");
    let c = compare_paired(
        &a.0,
        &b.0,
        ("A.json", "B.json"),
        pair(&a, &b, &Policy::default()),
    );

    let json: serde_json::Value = serde_json::from_str(&c.render("json").unwrap()).unwrap();
    let p = &json["pairing"]["entries"]["k400/x3d_xs"];
    assert_eq!(p["status"], "paired");
    assert_eq!(p["paired"], N);
    let flips = p["flips"].as_array().unwrap();
    let broken = flips.iter().filter(|f| f["change"] == "broken").count();
    let fixed = flips.iter().filter(|f| f["change"] == "fixed").count();
    assert_eq!((broken, fixed), (30, 1), "{flips:?}");
    let first = &flips[0];
    assert_eq!(first["class"], format!("action {}", first["label"]));
    assert_eq!(p["moved_most"][0]["class"], "action 3");
    assert_eq!(p["moved_most"][0]["broken"], 30);
    assert_eq!(p["classes"].as_array().unwrap().len(), CLASSES);
    assert!(p["metrics"][0]["p_value"].as_f64().unwrap() < 1e-6);
    // The accuracy row carries the paired test too.
    let row = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["entry"] == "k400/x3d_xs" && r["metric"] == "top1")
        .unwrap();
    assert!(row["note"].as_str().unwrap().contains("McNemar"), "{row}");

    let text = c.render("table").unwrap();
    assert!(text.contains("top-1 flips: 1 fixed, 30 broken"), "{text}");
    // Class 3: videos 3, 13, 23, … of which those ≡ 1 (mod 4) are right: 50 %.
    assert!(
        text.contains("action 3: 50.00 → 35.00 (-15.00 points; 200 videos, fixed 0, broken 30)"),
        "{text}"
    );
    assert!(
        text.contains("action 7: 50.00 → 50.50 (+0.50 points; 200 videos, fixed 1, broken 0)"),
        "{text}"
    );
    assert!(text.contains("… and 11 more"), "{text}");

    let html = c.render("html").unwrap();
    assert_eq!(html.matches("<tr class=\"flip\">").count(), 31);
    assert!(
        html.contains("<td>action 3</td><td>action 3</td><td>action 4</td>"),
        "flip row with class names"
    );
}

#[test]
fn without_predictions_compare_says_it_is_unpaired() {
    let dir = tempfile::tempdir().unwrap();
    let a = run(dir.path(), "a", &base(), "x");
    let b = run(dir.path(), "b", &base(), "y");
    let c = compare_paired(&a.0, &b.0, ("A", "B"), pair(&a, &b, &Policy::default()));
    let text = c.render("markdown").unwrap();
    assert!(
        text.contains("not paired, accuracy compared unpaired: not paired: the runs scored different dataset lists"),
        "{text}"
    );
}
