//! [`Profile`]: a pprof profile (profile.proto), read from and written to gzipped pprof
//! bytes, rendered as a text report and a flamegraph.

use std::io::Write;

use pprof::protos::Message;

/// A profile in pprof's format (`profile.proto`): a CPU profile from
/// [`Telemetry::profile_cpu`](crate::Telemetry::profile_cpu), a heap profile, or one read
/// from a file.
#[derive(Debug, Clone)]
pub struct Profile {
    pub(crate) proto: pprof::protos::Profile,
}

/// What went wrong reading or rendering a [`Profile`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The bytes are not a pprof profile (gzipped or not).
    #[error("not a pprof profile (profile.proto, gzipped or not): {0}")]
    Decode(String),
    /// Reading or writing failed.
    #[error("profile I/O failed")]
    Io(#[from] std::io::Error),
}

/// One function's share of a profile, from [`Profile::top_functions`].
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionCost {
    /// The function's (demangled) name.
    pub name: String,
    /// The value of samples whose innermost frame is this function.
    pub self_value: i64,
    /// The value of samples with this function anywhere on the stack.
    pub total_value: i64,
}

impl Profile {
    pub(crate) fn from_proto(proto: pprof::protos::Profile) -> Profile {
        Profile { proto }
    }

    /// The profile as gzipped pprof protobuf bytes (what `go tool pprof`, Pyroscope and
    /// Grafana read).
    pub fn to_pprof(&self) -> Vec<u8> {
        let raw = self.proto.encode_to_vec();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        // Writing into a Vec cannot fail.
        let _ = gz.write_all(&raw);
        gz.finish().unwrap_or_default()
    }
}
