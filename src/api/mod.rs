//! The transports: gRPC (tonic) and HTTP/JSON (axum) on one port. Only this module
//! knows protobuf and HTTP DTOs.

mod convert;
pub mod grpc;
pub mod http;

/// Generated protobuf types and service stubs for `augur.v1`.
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("augur.v1");

    /// The encoded descriptor set, for gRPC reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/augur_descriptor.bin"));
}
