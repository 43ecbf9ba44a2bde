//! `zdk-trace profile FILE`: a pprof profile (the runtime's profile exporter, `go tool pprof
//! -proto`, Pyroscope), gzipped or not, summarized like `go tool pprof -top`, with its
//! flamegraph written as SVG beside it.

use std::path::{Path, PathBuf};

use clap::Args;
use zdk_trace_runtime::profiling::{Profile, ProfileError};

use crate::{shown, EXIT_FAILURE};

/// Suffixes a profile's file name loses to name its flamegraph (`cpu.pb.gz` → `cpu.svg`);
/// the first that matches wins, so the longer ones come first.
const PROFILE_SUFFIXES: [&str; 7] = [
    ".pb.gz",
    ".pprof.gz",
    ".prof.gz",
    ".pb",
    ".pprof",
    ".prof",
    ".gz",
];

#[derive(Debug, Args)]
pub(crate) struct ProfileArgs {
    /// The pprof file: `profile.proto`, gzipped (`.pb.gz`, as the runtime writes it) or not.
    file: PathBuf,
    /// Where to write the flamegraph [default: beside FILE, `cpu.pb.gz` → `cpu.svg`].
    #[arg(long, value_name = "OUT")]
    svg: Option<PathBuf>,
    /// How many functions to list, by their own (flat) value.
    #[arg(long, value_name = "N", default_value_t = 20)]
    top: usize,
}

pub(crate) fn run(args: &ProfileArgs) -> u8 {
    let bytes = match std::fs::read(&args.file) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!(
                "error: cannot read profile file `{}`: {e}",
                shown(&args.file)
            );
            return EXIT_FAILURE;
        }
    };
    let profile = match Profile::from_pprof(&bytes) {
        Ok(profile) => profile,
        Err(e) => {
            eprintln!("error: `{}`: {e}", shown(&args.file));
            eprintln!(
                "  hint: pass a pprof file, such as the `.pb.gz` files of the runtime's \
                 profile exporter, `go tool pprof -proto` output, or a Pyroscope download"
            );
            return EXIT_FAILURE;
        }
    };
    print!("{}", profile.text_report_top(args.top));

    let out = args.svg.clone().unwrap_or_else(|| svg_beside(&args.file));
    match profile.flamegraph_svg() {
        Ok(svg) => {
            if let Err(e) = std::fs::write(&out, svg) {
                eprintln!(
                    "error: cannot write the flamegraph to `{}`: {e}",
                    shown(&out)
                );
                return EXIT_FAILURE;
            }
            println!("\nflamegraph: {}", shown(&out));
            0
        }
        // An idle profile is still a profile: its report is all there is to show.
        Err(e @ ProfileError::NoSamples(_)) => {
            println!("\nno flamegraph: {e}");
            0
        }
        Err(e) => {
            eprintln!("error: {}", chain(&e));
            EXIT_FAILURE
        }
    }
}

/// Where the flamegraph of `file` goes by default: beside it, its profile suffix replaced by
/// `.svg`.
fn svg_beside(file: &Path) -> PathBuf {
    let name = file.file_name().map_or_else(
        || "profile".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let stem = PROFILE_SUFFIXES
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .filter(|stem| !stem.is_empty())
        .unwrap_or(&name);
    file.with_file_name(format!("{stem}.svg"))
}

/// `e` and its causes, `: `-separated.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flamegraph_goes_beside_the_profile() {
        let beside = |f: &str| svg_beside(Path::new(f));
        assert_eq!(beside("cpu.pb.gz"), PathBuf::from("cpu.svg"));
        assert_eq!(beside("dir/heap.pprof"), PathBuf::from("dir/heap.svg"));
        assert_eq!(beside("/tmp/p.prof.gz"), PathBuf::from("/tmp/p.svg"));
        assert_eq!(beside("profile"), PathBuf::from("profile.svg"));
        assert_eq!(beside("x.txt"), PathBuf::from("x.txt.svg"));
        // Nothing but a suffix: keep the name whole.
        assert_eq!(beside(".pb.gz"), PathBuf::from(".pb.gz.svg"));
    }
}
