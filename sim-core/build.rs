//! Writes the ziggurat's layer tables (`src/ziggurat_layers.rs`) as constants, so drawing an
//! exponential or a normal variate reads them directly instead of checking a lazily built
//! table.

#[path = "src/ziggurat_layers.rs"]
mod ziggurat_layers;

use std::fmt::Write;

fn main() {
    println!("cargo::rerun-if-changed=src/ziggurat_layers.rs");
    let (x, f) = ziggurat_layers::layers();
    let (normal_x, normal_f) = ziggurat_layers::normal_layers();
    let mut text = String::new();
    let tables = [("LAYER_X", x), ("LAYER_F", f), ("NORMAL_X", normal_x), ("NORMAL_F", normal_f)];
    for (name, values) in tables {
        writeln!(text, "static {name}: [f64; 257] = [").expect("writing to a string");
        for value in values {
            writeln!(text, "    f64::from_bits({:#018x}),", value.to_bits()).expect("writing to a string");
        }
        writeln!(text, "];").expect("writing to a string");
    }
    let out_dir = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    std::fs::write(std::path::Path::new(&out_dir).join("ziggurat_tables.rs"), text)
        .expect("writing the ziggurat tables");
}
