// vbench-data's build script: the workspace's shared one (rpath to libtorch, provenance), plus
// the small C shim over the system libjpeg-turbo that decodes frame folders as OpenCV does.
mod rpath {
    include!("../build-rpath.rs");
    pub fn run() {
        main()
    }
}

fn main() {
    rpath::run();
    println!("cargo:rustc-check-cfg=cfg(vbench_libjpeg)");
    println!("cargo:rerun-if-changed=csrc/jpeg.c");
    // Debian's libjpeg62-turbo-dev ships libjpeg.pc. Without it the crate still builds and decodes
    // JPEGs with FFmpeg's mjpeg decoder, which is not bit-exact to PyTorchVideo (see frames.rs).
    let probe = pkg_config::Config::new()
        .cargo_metadata(false)
        .probe("libjpeg");
    match probe {
        Ok(lib) => {
            let mut build = cc::Build::new();
            build.file("csrc/jpeg.c").warnings(true);
            for dir in &lib.include_paths {
                build.include(dir);
            }
            // The static shim first: it must precede -ljpeg on the link line.
            build.compile("vbench_jpeg");
            for dir in &lib.link_paths {
                println!("cargo:rustc-link-search=native={}", dir.display());
            }
            for name in &lib.libs {
                println!("cargo:rustc-link-lib={name}");
            }
            println!("cargo:rustc-cfg=vbench_libjpeg");
        }
        Err(e) => {
            println!(
                "cargo:warning=libjpeg (libjpeg62-turbo-dev) not found ({e}); frame folders \
                 decode with FFmpeg's mjpeg decoder, not bit-exact to PyTorchVideo's OpenCV"
            );
        }
    }
}
