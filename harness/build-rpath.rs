// Shared build script for every crate whose binaries or tests link libtorch (each lists torch-sys
// as a direct dependency so that cargo hands it DEP_TCH_LIBTORCH_LIB, or falls back on LIBTORCH).
// - rpath: binaries find libtorch without LD_LIBRARY_PATH or venv activation;
// - --no-as-needed torch_cuda: nothing references it by symbol, so the linker would drop it and
//   CUDA would be "unavailable" at run time;
// - VBENCH_LIBTORCH_VERSION / VBENCH_GIT_SHA: provenance recorded in results.json.
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    if std::env::var_os("DEP_TCH_LIBTORCH_LIB").is_none() {
        // A crate without torch-sys whose tests still link libtorch through a dev-dependency
        // (vbench-report's, via vbench-testkit's `torch` feature, unified across the workspace):
        // the rpath alone, from LIBTORCH (.cargo/config.toml sets it).
        if let Ok(torch) = std::env::var("LIBTORCH") {
            let lib = Path::new(&torch).join("lib");
            let lib = lib.canonicalize().unwrap_or(lib);
            println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
        }
    }
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        if Path::new(&lib).join("libtorch_cuda.so").exists() {
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
        }
        // The pip wheel keeps its version next to lib/: torch/version.py.
        let version_py = Path::new(&lib).join("../version.py");
        if let Ok(text) = std::fs::read_to_string(&version_py) {
            if let Some(v) = text
                .lines()
                .find_map(|l| l.strip_prefix("__version__ = "))
                .map(|v| v.trim().trim_matches('\'').trim_matches('"').to_string())
            {
                println!("cargo:rustc-env=VBENCH_LIBTORCH_VERSION={v}");
            }
        }
    }
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let git_dir = Path::new(&manifest)
        .ancestors()
        .map(|p| p.join(".git"))
        .find(|p| p.exists());
    if let Some(git_dir) = git_dir {
        println!("cargo:rerun-if-changed={}", git_dir.join("HEAD").display());
        println!(
            "cargo:rerun-if-changed={}",
            git_dir.join("refs/heads").display()
        );
        let sha = std::process::Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .current_dir(&manifest)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        if let Some(sha) = sha {
            println!("cargo:rustc-env=VBENCH_GIT_SHA={sha}");
        }
    }
}
