// Shared build script for every crate whose binaries or tests link libtorch (each lists torch-sys
// as a direct dependency so that cargo hands it DEP_TCH_LIBTORCH_LIB).
// - rpath: binaries find libtorch without LD_LIBRARY_PATH or venv activation;
// - --no-as-needed torch_cuda: nothing references it by symbol, so the linker would drop it and
//   CUDA would be "unavailable" at run time.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        if std::path::Path::new(&lib).join("libtorch_cuda.so").exists() {
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
        }
    }
}
