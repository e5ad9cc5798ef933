//! A fixed synthetic `Results` covering every state the exporters show (match, explained, unexplained,
//! not implemented, skipped, failed), and seeded lognormal latency samples for the gate tests.

pub mod paired;

use vbench_results::Published;
use vbench_results::*;
use vbench_suite::*;

/// SplitMix64: seeded, portable, so the simulated sample sets are the same on every machine.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in (0, 1).
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
    /// `n` lognormal samples with median `median` and coefficient of variation `cv`.
    pub fn lognormal(&mut self, n: usize, median: f64, cv: f64) -> Vec<f64> {
        let sigma = (1.0 + cv * cv).ln().sqrt();
        (0..n)
            .map(|_| median * (sigma * self.normal()).exp())
            .collect()
    }
}

fn printed(s: &str) -> Option<Printed> {
    Printed::parse(s)
}

pub fn protocol(frames: u32, rate: u32, alpha: Option<u32>, crop: u32) -> Protocol {
    Protocol {
        frames,
        sample_rate: rate,
        alpha,
        short_side: crop,
        crop,
        spatial_crops: 3,
        temporal_clips: 10,
        target_fps: 30,
        num_classes: 400,
        channels: ChannelOrder::Rgb,
        normalization: Normalization::Kinetics,
        head_activation: Activation::Softmax,
        aggregation: Aggregation::Sum,
        sampler: Sampler::ConstantClipsPerVideo,
        person_score_threshold: None,
    }
}

/// A latency measurement summarised from `samples` the way vbench-eval does (numpy-linear percentiles).
/// Built through JSON so that fields other crates add to the schema (with serde defaults) do not
/// break the fixture.
pub fn latency(samples: Vec<f64>, device: &str) -> LatencyResult {
    let mut s = samples.clone();
    s.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        let pos = q / 100.0 * (s.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
    };
    let mean = s.iter().sum::<f64>() / s.len() as f64;
    let sd =
        (s.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (s.len() - 1).max(1) as f64).sqrt();
    let half = 1.96 * sd / (s.len() as f64).sqrt();
    serde_json::from_value(serde_json::json!({
        "device": device,
        "threads": 4,
        "batch": 1,
        "precision": "fp32",
        "warmup": 2,
        "samples_ms": samples,
        "discarded_samples": 1,
        "p50_ms": pct(50.0),
        "p90_ms": pct(90.0),
        "p99_ms": pct(99.0),
        "mean_ms": mean,
        "mean_ci95_ms": [mean - half, mean + half],
        "cv": sd / mean,
        "clips_per_s": 1e3 / mean,
        "foreign_load": 0.02,
        "loadavg_1m": 0.5,
        "telemetry": null,
    }))
    .expect("fixture latency matches the schema")
}

fn layer(path: &str, op: &str, i: &[i64], o: &[i64], flops: u64, params: i64) -> LayerFlops {
    LayerFlops {
        path: path.into(),
        op: op.into(),
        input_shape: i.to_vec(),
        output_shape: o.to_vec(),
        flops,
        params,
    }
}

fn entry(name: &str, arch: &str, protocol: Protocol, published: Published) -> EntryResult {
    EntryResult {
        id: format!("k400/{name}"),
        name: name.into(),
        arch: arch.into(),
        protocol,
        checkpoint_url: format!("https://example.org/{name}.pyth"),
        protocol_from: None,
        model_file: None,
        published,
        notes: None,
        params: Measure::NotImplemented {
            reason: "no builder yet".into(),
        },
        flops: Measure::NotImplemented {
            reason: "FLOPs counting is not built yet (issue 5)".into(),
        },
        accuracy: Measure::Skipped {
            reason: "accuracy needs the dataset".into(),
        },
        latency: vec![],
        variants: vec![],
    }
}

/// Three entries: one that reproduces everything, one with explained and unexplained differences, and
/// one where nothing is built.
pub fn fixture() -> Results {
    let mut rng = Rng(7);
    let mut x3d = entry(
        "x3d_xs",
        "x3d_xs",
        protocol(4, 12, None, 182),
        Published {
            top1: printed("69.12"),
            top5: printed("88.63"),
            gflops: printed("0.91"),
            params_m: printed("3.79"),
            views: Some((3, 10)),
            ..Published::default()
        },
    );
    x3d.params = Measure::Measured {
        value: ParamsResult {
            count: 3_794_322,
            millions: 3.794322,
            matches_published: Some(true),
            note: None,
            counted_from: None,
        },
    };
    x3d.flops = Measure::Measured {
        value: FlopsResult {
            conventions: vec![
                ConventionFlops {
                    convention: "fvcore".into(),
                    flops: 910_000_000,
                    gflops: 0.91,
                },
                ConventionFlops {
                    convention: "macs_x2".into(),
                    flops: 1_820_000_000,
                    gflops: 1.82,
                },
            ],
            reproduced_by: Some("fvcore".into()),
            note: None,
            breakdown: vec![
                layer(
                    "blocks.0.conv.conv_t",
                    "conv3d",
                    &[1, 3, 4, 182, 182],
                    &[1, 24, 4, 91, 91],
                    400_000_000,
                    648,
                ),
                layer(
                    "blocks.1.res_blocks.0.branch2.conv_b",
                    "conv3d",
                    &[1, 24, 4, 91, 91],
                    &[1, 24, 4, 46, 46],
                    500_000_000,
                    5_400,
                ),
                layer(
                    "blocks.5.proj",
                    "linear",
                    &[1, 2048],
                    &[1, 400],
                    10_000_000,
                    819_600,
                ),
            ],
            uncounted_ops: Default::default(),
        },
    };
    x3d.accuracy = Measure::Measured {
        value: AccuracyResult {
            videos: 19_796,
            failed_videos: 4,
            top1: Some(68.81),
            top5: Some(88.63),
            clip_top1: Some(55.2),
            clip_top5: Some(79.0),
            top1_ci95: Some((68.16, 69.46)),
            predictions: Some("predictions/k400_x3d_xs.npz".into()),
            details: Some(AccuracyDetails {
                dataset_videos: 19_800,
                failures: vec![FailureGroup {
                    kind: "missing".into(),
                    count: 4,
                    examples: vec!["videos/a.mp4: no such file".into()],
                }],
                dataset_sha256: Some("ab".repeat(32)),
                ..AccuracyDetails::default()
            }),
            // Metrics the fixture does not set stay absent (a new registry metric included).
            ..AccuracyResult::default()
        },
    };
    x3d.latency = vec![
        Measure::Measured {
            value: latency(rng.lognormal(12, 21.0, 0.06), "cpu"),
        },
        Measure::Measured {
            value: latency(rng.lognormal(12, 2.4, 0.08), "cuda:0"),
        },
    ];

    let mut sf = entry(
        "slowfast_16x8_r101_50_50",
        "slowfast_r101_50_50",
        protocol(8, 8, Some(4), 256),
        Published {
            top1: printed("78.70"),
            top5: printed("93.61"),
            gflops: printed("213.00"),
            params_m: printed("53.77"),
            views: Some((3, 10)),
            ..Published::default()
        },
    );
    sf.notes =
        Some("R101_50_50: only the first 6 of 23 res4 blocks have a temporal conv_a.".into());
    sf.params = Measure::Measured {
        value: ParamsResult {
            count: 53_744_888,
            millions: 53.744888,
            matches_published: Some(false),
            note: Some(
                "the published count includes the unused detection head <bbox> & its bias".into(),
            ),
            counted_from: None,
        },
    };
    sf.flops = Measure::Measured {
        value: FlopsResult {
            conventions: vec![ConventionFlops {
                convention: "fvcore".into(),
                flops: 211_500_000_000,
                gflops: 211.5,
            }],
            reproduced_by: None,
            note: None,
            breakdown: vec![],
            uncounted_ops: Default::default(),
        },
    };
    sf.latency = vec![Measure::Failed {
        error: "CUDA out of memory".into(),
    }];

    let mvit = entry(
        "mvit_base_16x4",
        "mvit_base_16x4",
        protocol(16, 4, None, 224),
        Published {
            top1: printed("78.9"),
            top5: printed("93.9"),
            gflops: printed("70.80"),
            params_m: printed("36.61"),
            views: Some((1, 5)),
            ..Published::default()
        },
    );

    Results {
        schema_version: SCHEMA_VERSION,
        suite: SuiteSummary {
            name: "k400".into(),
            title: "Kinetics-400 (synthetic fixture)".into(),
            dataset: "kinetics400".into(),
            task: "classification".into(),
            source: "builtin:k400".into(),
            description: Some("A fixed synthetic run for snapshot tests.".into()),
        },
        provenance: Provenance {
            vbench_version: "0.1.0".into(),
            git_sha: Some("0123456789abcdef".into()),
            command: vec![
                "vbench".into(),
                "run".into(),
                "--suite".into(),
                "k400".into(),
            ],
            started_at: "2025-01-02T03:04:05Z".into(),
            finished_at: Some("2025-01-02T03:14:05Z".into()),
            host: Host {
                hostname: Some("bench-01".into()),
                cpu_model: "Example CPU @ 3.0GHz".into(),
                logical_cores: 16,
                physical_cores: Some(8),
                memory_bytes: 64 << 30,
                os: "Debian GNU/Linux 12".into(),
                kernel: Some("6.1.0".into()),
            },
            gpu: GpuProvenance::Available {
                driver_version: "550.54".into(),
                cuda_driver_version: Some("12.4".into()),
                devices: vec![GpuDevice {
                    index: 0,
                    name: "Example GPU".into(),
                    memory_total_bytes: 80 << 30,
                    uuid: None,
                }],
            },
            libtorch_version: Some("2.13.0".into()),
            ffmpeg_version: Some("5.1.6".into()),
            threads: 4,
            omp_env: vec![("OMP_NUM_THREADS".into(), "4".into())],
            threads_requested: None,
        },
        entries: vec![x3d, sf, mvit],
    }
}
