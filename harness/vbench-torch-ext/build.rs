// Builds cpp/shim.cpp against the libtorch that torch-sys links: torch-sys (`links = "tch"`)
// hands its lib dir over as DEP_TCH_LIBTORCH_LIB, and the headers sit beside it (pip wheel and
// libtorch zip alike), unless LIBTORCH_INCLUDE says otherwise, as for torch-sys. The C++ ABI
// flag follows torch-sys too (LIBTORCH_CXX11_ABI, default 1).
// Also the rpath of harness/build-rpath.rs, so this crate's tests run without LD_LIBRARY_PATH.
use std::path::PathBuf;

fn main() {
    for v in [
        "DEP_TCH_LIBTORCH_LIB",
        "LIBTORCH_INCLUDE",
        "LIBTORCH_CXX11_ABI",
    ] {
        println!("cargo:rerun-if-env-changed={v}");
    }
    println!("cargo:rerun-if-changed=cpp/shim.cpp");
    println!("cargo:rerun-if-changed=cpp/shim.h");
    let lib = PathBuf::from(
        std::env::var("DEP_TCH_LIBTORCH_LIB")
            .expect("torch-sys did not report its libtorch lib dir (DEP_TCH_LIBTORCH_LIB)"),
    );
    let root = std::env::var("LIBTORCH_INCLUDE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            lib.parent()
                .expect("libtorch lib dir has a parent")
                .to_path_buf()
        });
    let abi = std::env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".into());
    cc::Build::new()
        .cpp(true)
        .pic(true)
        .std("c++17")
        .include(root.join("include"))
        .include(root.join("include/torch/csrc/api/include"))
        .define("_GLIBCXX_USE_CXX11_ABI", abi.as_str())
        .define("GLOG_USE_GLOG_EXPORT", None)
        // As libtorch itself is built: its headers' debug-only checks are off.
        .define("NDEBUG", None)
        // libtorch's headers warn under -Wall and use C++20 bit-field initialisers.
        .warnings(false)
        .flag_if_supported("-Wno-c++20-extensions")
        .file("cpp/shim.cpp")
        .compile("vbench_torch_ext");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    if lib.join("libtorch_cuda.so").exists() {
        // Nothing references torch_cuda by symbol: keep it so CUDA loads at run time.
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    }
}
