// 1. Give the binary an rpath to libtorch's lib folder so `target/release/gatescope`
//    runs without LD_LIBRARY_PATH. torch-sys exports that folder to crates that
//    depend on it directly as DEP_TCH_LIBTORCH_LIB.
// 2. Embed the shipped model when assets/default.safetensors exists, so the
//    binary opens it from any working directory.
fn main() {
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    println!("cargo::rustc-check-cfg=cfg(default_model)");
    println!("cargo:rerun-if-changed=assets/default.safetensors");
    if std::path::Path::new("assets/default.safetensors").exists() {
        println!("cargo:rustc-cfg=default_model");
    }
}
