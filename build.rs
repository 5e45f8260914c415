// 1. Give the binary an rpath to libtorch's lib folder so `target/release/gatescope`
//    runs without LD_LIBRARY_PATH. torch-sys exports that folder to crates that
//    depend on it directly as DEP_TCH_LIBTORCH_LIB.
// 2. Embed each shipped model (assets/default.safetensors, assets/python.safetensors)
//    that exists, so the binary opens it by name from any working directory.
fn main() {
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    for (cfg, file) in [("default_model", "assets/default.safetensors"), ("python_model", "assets/python.safetensors")]
    {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        println!("cargo:rerun-if-changed={file}");
        if std::path::Path::new(file).exists() {
            println!("cargo:rustc-cfg={cfg}");
        }
    }
}
