//! Gives libworkqueue.so its soname, so an installed copy can be versioned
//! the usual way (libworkqueue.so -> libworkqueue.so.0.1 -> libworkqueue.so.0.1.0).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "linux" {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_default();
        let minor = std::env::var("CARGO_PKG_VERSION_MINOR").unwrap_or_default();
        // Before 1.0 a minor release may break the ABI, so it is part of the soname.
        let soversion = if major == "0" {
            format!("0.{minor}")
        } else {
            major
        };
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libworkqueue.so.{soversion}");
    }
}
