//! On a real Slurm: the test starts a single-node cluster of its own (munged as the munge
//! user, `slurmctld -D`, `slurmd -D`, a generated slurm.conf in a temp folder, no systemd, no
//! accounting), submits a 4-shard job array and its merge job with `vbench slurm --submit`, and
//! checks that the merged results equal a single-process run bit for bit: metrics and every
//! video's predictions. Every daemon it started is stopped by PID, also when the test fails.
//!
//! Slurm missing is a failure, not a skip: CI installs it (`ci/setup.sh`).

use vbench_testkit::shards::*;
use vbench_testkit::{s, tempdir, text};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const APT: &str = "apt-get install -y slurm-wlm munge";

/// The programs the cluster needs, from PATH or the sbin folders (root's PATH may lack them).
fn program(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("`{name}` not found: Slurm and MUNGE are not installed; run `{APT}` (ci/setup.sh does)")
        })
}

/// The daemons this test started; dropping it stops them by PID (TERM, then KILL).
struct Cluster {
    dir: PathBuf,
    conf: PathBuf,
    children: Vec<(&'static str, Child)>,
    /// munged daemonises itself: its PID comes from its pid file.
    munged: Option<u32>,
    jobs: Vec<String>,
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([sig, &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if !self.jobs.is_empty() {
            let _ = self.ctl("scancel").args(&self.jobs).status();
        }
        for (_, c) in &mut self.children {
            signal(c.id(), "-TERM");
        }
        if let Some(pid) = self.munged {
            signal(pid, "-TERM");
        }
        let until = Instant::now() + Duration::from_secs(5);
        for (_, c) in &mut self.children {
            while Instant::now() < until && matches!(c.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(pid) = self.munged {
            while Instant::now() < until && alive(pid) {
                std::thread::sleep(Duration::from_millis(50));
            }
            if alive(pid) {
                signal(pid, "-KILL");
            }
        }
    }
}

impl Cluster {
    /// A Slurm client command against this cluster.
    fn ctl(&self, name: &str) -> Command {
        let mut c = Command::new(program(name));
        c.env("SLURM_CONF", &self.conf);
        c
    }

    fn log_tail(&self) -> String {
        let mut out = String::new();
        for f in ["slurmctld.log", "slurmd.log", "munge/munged.log"] {
            let text = std::fs::read_to_string(self.dir.join(f)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(15)..];
            out.push_str(&format!("--- {f}\n{}\n", tail.join("\n")));
        }
        out
    }

    fn start(dir: &Path) -> Cluster {
        for p in [
            "slurmctld",
            "slurmd",
            "munged",
            "mungekey",
            "sbatch",
            "scontrol",
            "sinfo",
        ] {
            program(p);
        }
        // munged runs as the munge user: it must reach its folder through ours.
        let mode = |p: &Path, m: u32| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
        };
        std::fs::create_dir_all(dir).unwrap();
        for d in [dir.parent().unwrap(), dir] {
            mode(d, 0o755);
        }
        let munge = dir.join("munge");
        std::fs::create_dir_all(&munge).unwrap();
        mode(&munge, 0o755);
        let key = munge.join("munge.key");
        let ok = Command::new(program("mungekey"))
            .args(["--create", "--keyfile"])
            .arg(&key)
            .status()
            .unwrap();
        assert!(ok.success(), "mungekey --create failed");
        let ok = Command::new("chown")
            .args(["-R", "munge:munge"])
            .arg(&munge)
            .status()
            .unwrap();
        assert!(
            ok.success(),
            "chown munge:munge failed: is there a munge user? `{APT}`"
        );
        let socket = munge.join("munge.socket");
        let ok = Command::new("runuser")
            .args(["-u", "munge", "--"])
            .arg(program("munged"))
            .arg(format!("--key-file={}", key.display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--pid-file={}", munge.join("munged.pid").display()))
            .arg(format!("--log-file={}", munge.join("munged.log").display()))
            .arg(format!(
                "--seed-file={}",
                munge.join("munged.seed").display()
            ))
            .status()
            .unwrap();
        let conf = dir.join("slurm.conf");
        let mut cluster = Cluster {
            dir: dir.to_path_buf(),
            conf: conf.clone(),
            children: Vec::new(),
            munged: None,
            jobs: Vec::new(),
        };
        // The pid file appears once munged has daemonised.
        let until = Instant::now() + Duration::from_secs(5);
        while cluster.munged.is_none() && Instant::now() < until {
            cluster.munged = std::fs::read_to_string(munge.join("munged.pid"))
                .ok()
                .and_then(|s| s.trim().parse().ok());
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            ok.success() && cluster.munged.is_some(),
            "munged did not start\n{}",
            cluster.log_tail()
        );

        // Ports from our PID, so that two test runs on one machine do not meet.
        let port = 20_000 + (std::process::id() % 10_000) * 2;
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        for d in ["state", "spool"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        let p = |name: &str| dir.join(name).display().to_string();
        let slurm_conf = format!(
            "ClusterName=vbenchtest\n\
             SlurmctldHost=localhost(127.0.0.1)\n\
             SlurmctldPort={port}\n\
             SlurmdPort={}\n\
             SlurmUser=root\n\
             SlurmdUser=root\n\
             AuthType=auth/munge\n\
             CredType=cred/munge\n\
             AuthInfo=socket={}\n\
             StateSaveLocation={}\n\
             SlurmdSpoolDir={}\n\
             SlurmctldPidFile={}\n\
             SlurmdPidFile={}\n\
             SlurmctldLogFile={}\n\
             SlurmdLogFile={}\n\
             ProctrackType=proctrack/linuxproc\n\
             TaskPlugin=task/none\n\
             SchedulerType=sched/backfill\n\
             SelectType=select/cons_tres\n\
             SelectTypeParameters=CR_Core\n\
             AccountingStorageType=accounting_storage/none\n\
             JobAcctGatherType=jobacct_gather/none\n\
             JobCompType=jobcomp/none\n\
             MpiDefault=none\n\
             ReturnToService=2\n\
             NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN\n\
             PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP\n",
            port + 1,
            socket.display(),
            p("state"),
            p("spool"),
            p("slurmctld.pid"),
            p("slurmd.pid"),
            p("slurmctld.log"),
            p("slurmd.log"),
        );
        std::fs::write(&conf, slurm_conf).unwrap();
        for (name, args) in [
            ("slurmctld", vec!["-D", "-i"]),
            ("slurmd", vec!["-D", "-N", "localhost"]),
        ] {
            let out = std::fs::File::create(dir.join(format!("{name}.out"))).unwrap();
            let child = Command::new(program(name))
                .args(&args)
                .env("SLURM_CONF", &conf)
                .stdin(Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .spawn()
                .unwrap();
            cluster.children.push((name, child));
        }
        // Ready when the node is idle.
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let o = cluster
                .ctl("sinfo")
                .args(["-h", "-o", "%T"])
                .output()
                .unwrap();
            if String::from_utf8_lossy(&o.stdout).trim() == "idle" {
                break;
            }
            let exited = cluster
                .children
                .iter_mut()
                .find_map(|(name, c)| c.try_wait().ok().flatten().map(|st| (*name, st)));
            if let Some((name, status)) = exited {
                panic!("{name} exited ({status})\n{}", cluster.log_tail());
            }
            assert!(
                Instant::now() < until,
                "the node did not come up: sinfo says {}\n{}",
                text(&o),
                cluster.log_tail()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        cluster
    }

    /// `ExitCode` of a job (of an array: of its first task), e.g. `3:0`.
    fn exit_code(&self, job: &str) -> String {
        let o = self
            .ctl("scontrol")
            .args(["show", "job", job])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .find_map(|w| w.strip_prefix("ExitCode="))
            .unwrap_or("")
            .to_string()
    }

    /// Submits `vbench slurm --submit` with `args`; returns the array's and the merge's job ids.
    fn submit(&mut self, args: &[&str]) -> (String, String) {
        let o = Command::new(env!("CARGO_BIN_EXE_vbench"))
            .arg("slurm")
            .args(args)
            .env("SLURM_CONF", &self.conf)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}\n{}", text(&o), self.log_tail());
        let stdout = String::from_utf8_lossy(&o.stdout);
        // "array job 12 (4 tasks), merge job 13"
        let ids: Vec<String> = stdout
            .split(|c: char| !c.is_ascii_digit())
            .filter(|w| !w.is_empty())
            .map(String::from)
            .collect();
        let (array, merge) = match ids.as_slice() {
            [a, _, m, ..] => (a.clone(), m.clone()),
            _ => panic!("no job ids in: {stdout}"),
        };
        self.jobs = vec![array.clone(), merge.clone()];
        (array, merge)
    }

    /// Waits until `job` leaves the queue; returns its final state.
    fn wait(&self, job: &str, logs: &dyn Fn() -> String) -> String {
        let until = Instant::now() + Duration::from_secs(150);
        loop {
            let (state, reason) = self.state(job);
            match state.as_str() {
                "PENDING" if reason != "DependencyNeverSatisfied" => {}
                "PENDING" | "RUNNING" | "CONFIGURING" | "COMPLETING" => {}
                _ => return state,
            }
            assert!(
                Instant::now() < until && reason != "DependencyNeverSatisfied",
                "job {job} still {state} ({reason})\n{}\n{}",
                logs(),
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// `JobState` of a job (of an array: of its first task).
    fn state(&self, job: &str) -> (String, String) {
        let o = self
            .ctl("scontrol")
            .args(["show", "job", job])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        let field = |key: &str| {
            text.split_whitespace()
                .find_map(|w| w.strip_prefix(key))
                .unwrap_or("")
                .to_string()
        };
        (field("JobState="), field("Reason="))
    }
}

#[test]
fn slurm_array_of_4_shards_merges_bit_identical_to_one_process() {
    let started = Instant::now();
    let dir = tempdir();
    let root = dir.path().to_path_buf();
    let mut cluster = Cluster::start(&root.join("slurm"));
    eprintln!("cluster up after {:.1?}", started.elapsed());

    let suite = make_suite(&root);
    let data = make_dataset(&root, 4);
    let weights = make_weights(&root);
    let sharded = root.join("sharded");
    let o = Command::new(env!("CARGO_BIN_EXE_vbench"))
        .args([
            "slurm",
            "--suite",
            s(&suite),
            "--shards",
            "4",
            "--entry",
            ENTRY,
        ])
        .args([
            "--data-root",
            s(&data),
            "--out",
            s(&sharded),
            "--time",
            "00:10:00",
        ])
        .args([
            "--submit",
            "--",
            "--weights",
            s(&weights),
            "--no-latency",
            "--threads",
            "1",
        ])
        .env("SLURM_CONF", &cluster.conf)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}\n{}", text(&o), cluster.log_tail());
    let stdout = String::from_utf8_lossy(&o.stdout);
    // "array job 12 (4 tasks), merge job 13"
    let ids: Vec<String> = stdout
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect();
    let (array, merge) = match ids.as_slice() {
        [a, _, m, ..] => (a.clone(), m.clone()),
        _ => panic!("no job ids in: {stdout}"),
    };
    cluster.jobs = vec![array.clone(), merge.clone()];
    eprintln!(
        "submitted array {array}, merge {merge} after {:.1?}",
        started.elapsed()
    );

    // The single-process reference runs while Slurm works.
    let single = root.join("single");
    run_single(&suite, &data, &weights, &single);

    let logs = |out: &Path| {
        let mut s = String::new();
        for i in 0..4 {
            let p = out.join(format!("slurm/shard-{i}.log"));
            s.push_str(&format!(
                "--- {}\n{}\n",
                p.display(),
                std::fs::read_to_string(&p).unwrap_or_default()
            ));
        }
        let p = out.join("slurm/merge.log");
        s + &format!(
            "--- {}\n{}",
            p.display(),
            std::fs::read_to_string(&p).unwrap_or_default()
        )
    };
    let until = Instant::now() + Duration::from_secs(150);
    loop {
        let (state, reason) = cluster.state(&merge);
        match state.as_str() {
            "COMPLETED" => break,
            "PENDING" if reason != "DependencyNeverSatisfied" => {}
            "RUNNING" | "CONFIGURING" | "COMPLETING" => {}
            _ => panic!(
                "merge job {merge}: {state} ({reason})\n{}\n{}",
                logs(&sharded),
                cluster.log_tail()
            ),
        }
        assert!(
            Instant::now() < until,
            "merge job {merge} still {state} ({reason})\n{}\n{}",
            logs(&sharded),
            cluster.log_tail()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    eprintln!("array and merge done after {:.1?}", started.elapsed());
    cluster.jobs.clear();

    assert_same_run(&single, &sharded);
    // Four shards, each in its own folder, cut by list position mod 4.
    for i in 0..4u64 {
        let d = sharded.join(format!("shard-{i}"));
        let m = read_json(&d.join("shard.json"));
        assert_eq!(
            (m["index"].as_u64(), m["count"].as_u64()),
            (Some(i), Some(4))
        );
        let (_, own) = records(&d);
        assert!(
            own.keys().all(|p| p % 4 == i),
            "shard {i}: {:?}",
            own.keys()
        );
    }
    let merged = read_json(&sharded.join("merge.json"));
    assert_eq!(merged["shards"].as_array().unwrap().len(), 4);
    assert!(sharded.join("report.html").is_file());

    // Shards whose entry failed (a data root, but no checkpoint in the weights folder) exit 3;
    // the array tasks still count as done, the merge runs, carries the failure and exits 3.
    let empty = root.join("no-weights");
    std::fs::create_dir_all(&empty).unwrap();
    let failing = root.join("failing");
    let (array, merge) = cluster.submit(&[
        "--suite",
        s(&suite),
        "--shards",
        "4",
        "--entry",
        ENTRY,
        "--data-root",
        s(&data),
        "--weights-dir",
        s(&empty),
        "--out",
        s(&failing),
        "--time",
        "00:10:00",
        "--submit",
        "--",
        "--no-latency",
        "--threads",
        "1",
    ]);
    let state = cluster.wait(&merge, &|| logs(&failing));
    assert_eq!(
        (state.as_str(), cluster.exit_code(&merge).as_str()),
        ("FAILED", "3:0"),
        "{}",
        logs(&failing)
    );
    assert_eq!(cluster.state(&array).0, "COMPLETED", "{}", logs(&failing));
    for i in 0..4 {
        let shard = read_json(&failing.join(format!("shard-{i}/results.json")));
        assert_eq!(shard["entries"][0]["accuracy"]["status"], "failed");
    }
    let merged = read_json(&failing.join("results.json"));
    let error = merged["entries"][0]["accuracy"]["error"].as_str().unwrap();
    assert!(
        error.contains("shard 0/4") && error.contains("shard 3/4") && error.contains("not in the"),
        "{error}"
    );
    let merge_log = std::fs::read_to_string(failing.join("slurm/merge.log")).unwrap();
    assert!(
        merge_log.contains("1 requested measurement produced no result"),
        "{merge_log}"
    );
    cluster.jobs.clear();
    drop(cluster);
    eprintln!("all done after {:.1?}", started.elapsed());
}
