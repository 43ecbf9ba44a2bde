//! [`Profile`]: a pprof profile (profile.proto), read from and written to gzipped pprof
//! bytes, rendered as a text report and a flamegraph.
