//! `reference-results/` holds every row of the seed's tables, checked cell by cell against
//! the seed text in `../shared/seeds/` (a copy of PyTorchVideo's model-zoo page).

use vbench_suite::{builtin_reference, ReferenceRow};

/// The seed prints every table cell on its own line; a table starts after a bullet naming it and
/// its header ends with `Model`; each row ends with `link`.
fn seed_table(lines: &[String], title: &str) -> Vec<Vec<String>> {
    let start = lines
        .iter()
        .position(|l| l.starts_with('•') && l.trim_start_matches('•').trim() == title)
        .unwrap_or_else(|| panic!("seed has no table `{title}`"));
    let header_end = lines[start..].iter().position(|l| l == "Model").unwrap() + start;
    let width = header_end - start; // cells from `arch` to `Model`
    let mut rows = Vec::new();
    let mut i = header_end + 1;
    while i + width <= lines.len() && lines[i + width - 1] == "link" {
        rows.push(lines[i..i + width].to_vec());
        i += width;
    }
    rows
}

fn seed_lines() -> Vec<String> {
    let dir = vbench_testkit::shared_dir().join("seeds");
    let mut text = String::new();
    for f in std::fs::read_dir(&dir).expect("../shared/seeds exists") {
        text += &std::fs::read_to_string(f.unwrap().path()).unwrap();
    }
    text.lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

fn fmt_opt(p: Option<vbench_suite::Printed>) -> String {
    p.map(|p| p.to_string()).unwrap_or_default()
}

/// "25.89 x 3 x 10" → (gflops, spatial, temporal)
fn flops_views(cell: &str) -> (String, u32, u32) {
    let parts: Vec<&str> = cell.split(" x ").map(str::trim).collect();
    assert_eq!(parts.len(), 3, "`{cell}`");
    (
        parts[0].to_string(),
        parts[1].parse().unwrap(),
        parts[2].parse().unwrap(),
    )
}

fn check_common(seed: &[String], row: &ReferenceRow) {
    assert_eq!(seed[0], row.arch, "{}", row.row);
    assert_eq!(seed[1], row.depth, "{}", row.row);
    assert_eq!(seed[2], row.pretrain, "{}", row.row);
    assert_eq!(
        seed[3],
        format!("{}x{}", row.frames, row.sample_rate),
        "{}",
        row.row
    );
}

#[test]
fn k400_and_ssv2_rows_equal_the_seed() {
    let lines = seed_lines();
    for (title, file, n) in [
        ("Kinetics-400", "k400.csv", 16),
        ("Something-Something V2", "ssv2.csv", 2),
    ] {
        let seed = seed_table(&lines, title);
        let rows = builtin_reference(file).unwrap();
        assert_eq!(seed.len(), n, "{title}");
        assert_eq!(rows.len(), n, "{file}");
        for (s, r) in seed.iter().zip(&rows) {
            check_common(s, r);
            assert_eq!(s[4], fmt_opt(r.top1), "{}", r.row);
            assert_eq!(s[5], fmt_opt(r.top5), "{}", r.row);
            let (g, sp, t) = flops_views(&s[6]);
            assert_eq!(g, fmt_opt(r.gflops), "{}", r.row);
            assert_eq!(
                (Some(sp), Some(t)),
                (r.spatial_views, r.temporal_views),
                "{}",
                r.row
            );
            assert_eq!(s[7], fmt_opt(r.params_m), "{}", r.row);
        }
    }
}

#[test]
fn charades_and_ava_rows_equal_the_seed() {
    let lines = seed_lines();
    let seed = seed_table(&lines, "Charades");
    let rows = builtin_reference("charades.csv").unwrap();
    assert_eq!((seed.len(), rows.len()), (2, 2));
    for (s, r) in seed.iter().zip(&rows) {
        check_common(s, r);
        assert_eq!(s[4], fmt_opt(r.map), "{}", r.row);
        let (g, sp, t) = flops_views(&s[5]);
        assert_eq!(g, fmt_opt(r.gflops));
        assert_eq!((Some(sp), Some(t)), (r.spatial_views, r.temporal_views));
        assert_eq!(s[6], fmt_opt(r.params_m));
    }
    let seed = seed_table(&lines, "AVA (V2.2)");
    let rows = builtin_reference("ava.csv").unwrap();
    assert_eq!((seed.len(), rows.len()), (2, 2));
    for (s, r) in seed.iter().zip(&rows) {
        check_common(s, r);
        assert_eq!(s[4], fmt_opt(r.map), "{}", r.row);
        assert_eq!(s[5], fmt_opt(r.params_m), "{}", r.row);
    }
}

#[test]
fn checkpoint_urls_follow_the_zoo_pattern() {
    let base = "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/";
    for (file, dir) in [
        ("k400.csv", "kinetics"),
        ("ssv2.csv", "ssv2"),
        ("charades.csv", "charades"),
        ("ava.csv", "ava"),
        ("mobile.csv", "kinetics"),
    ] {
        for r in builtin_reference(file).unwrap() {
            assert!(
                r.checkpoint_url.starts_with(&format!("{base}{dir}/")),
                "{}",
                r.checkpoint_url
            );
            assert!(r.checkpoint_file().ends_with(".pyth") || r.checkpoint_file().ends_with(".pt"));
        }
    }
}

#[test]
fn mobile_table_has_the_three_accelerator_rows() {
    let rows = builtin_reference("mobile.csv").unwrap();
    let got: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.row.clone(), fmt_opt(r.latency_ms)))
        .collect();
    assert_eq!(
        got,
        [
            ("efficient_x3d_xs", "233"),
            ("efficient_x3d_xs_int8", "165"),
            ("efficient_x3d_s", "764")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
}
