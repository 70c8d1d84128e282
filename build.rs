//! Compiles proto/augur/v1 with protox (no protoc needed) and writes the descriptor set
//! the server uses for gRPC reflection.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["proto/augur/v1/analysis.proto", "proto/augur/v1/template.proto"];
    for f in files {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(files, ["proto"])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("augur_descriptor.bin"), prost::Message::encode_to_vec(&fds))?;
    tonic_prost_build::configure().build_client(true).build_server(true).compile_fds(fds)?;
    Ok(())
}
