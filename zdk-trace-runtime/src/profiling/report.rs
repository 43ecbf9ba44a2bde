//! [`Profile`]: a pprof profile (profile.proto), read from and written to gzipped pprof
//! bytes, rendered as a text report and a flamegraph.
//!
//! Every reading goes over one *main* sample type ([`Profile::main_sample_type`]): `cpu` when
//! the profile has it, else the profile's `default_sample_type`, else the last type (heap
//! profiles list `inuse_space` last), as `go tool pprof` picks it.
//!
//! The lookups never index: a profile built by the runtime or read from a file may name a
//! location, function or string that is not there, and that shows as `<unknown ...>` rather
//! than a panic. [`Profile::from_pprof`] still rejects such files, so that a file that is not a
//! profile at all (and happens to decode as protobuf) gets a clear error.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::time::Duration;

use pprof::protos::{Function, Location, Message, Sample};

/// The largest profile [`Profile::from_pprof`] unzips: real profiles take a few MiB, and this
/// bound stops a gzip bomb before it takes the memory.
const MAX_UNZIPPED: u64 = 1 << 30;

/// How many functions [`Profile::text_report`] lists.
const REPORT_FUNCTIONS: usize = 20;

/// How many values of each label [`Profile::text_report`] lists.
const REPORT_LABEL_VALUES: usize = 10;

/// The first two bytes of a gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A profile in pprof's format (`profile.proto`): a CPU profile from
/// [`Telemetry::profile_cpu`](crate::Telemetry::profile_cpu), a heap profile, or one read
/// from a file.
///
/// # Examples
///
/// ```no_run
/// use zdk_trace_runtime::profiling::Profile;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let profile = Profile::from_pprof(&std::fs::read("cpu.pb.gz")?)?;
/// println!("{}", profile.text_report());
/// std::fs::write("cpu.svg", profile.flamegraph_svg()?)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Profile {
    pub(crate) proto: pprof::protos::Profile,
}

/// What went wrong reading or rendering a [`Profile`].
///
/// # Examples
///
/// ```
/// use zdk_trace_runtime::profiling::{Profile, ProfileError};
///
/// let err = Profile::from_pprof(b"hello").unwrap_err();
/// assert!(matches!(err, ProfileError::Decode(_)));
/// assert!(err.to_string().starts_with("not a pprof profile"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The bytes are not a pprof profile (gzipped or not).
    #[error("not a pprof profile (profile.proto, gzipped or not): {0}")]
    Decode(String),
    /// Reading or writing failed.
    #[error("profile I/O failed")]
    Io(#[from] std::io::Error),
    /// The profile has no sample with a positive value of its main sample type (named here),
    /// so a flamegraph would be empty.
    #[error("the profile has no samples with a positive `{0}` value; there is nothing to draw")]
    NoSamples(String),
    /// The flamegraph renderer failed.
    #[error("rendering the flamegraph failed")]
    Render(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// One function's share of a profile, from [`Profile::top_functions`].
///
/// # Examples
///
/// ```no_run
/// use zdk_trace_runtime::profiling::{FunctionCost, Profile};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let profile = Profile::from_pprof(&std::fs::read("cpu.pb.gz")?)?;
/// for FunctionCost { name, self_value, total_value } in profile.top_functions(5) {
///     println!("{name}: {self_value} own, {total_value} with callees");
/// }
/// # Ok(())
/// # }
/// ```
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
    /// Wraps a profile built in the crate (the sampler's windows). Not validated: every
    /// reading copes with ids that point nowhere.
    pub(crate) fn from_proto(proto: pprof::protos::Profile) -> Profile {
        Profile { proto }
    }

    /// Reads a profile from pprof bytes: gzipped (as `go tool pprof`, Pyroscope and
    /// [`to_pprof`](Profile::to_pprof) write them) or raw `profile.proto`.
    ///
    /// # Errors
    ///
    /// [`ProfileError::Decode`], saying what is wrong, when the input is empty, its gzip
    /// stream is corrupt, it is not protobuf, or it decodes but is not a valid profile (no
    /// sample types, a string or id that points nowhere, a sample with the wrong number of
    /// values).
    ///
    /// # Examples
    ///
    /// ```
    /// use zdk_trace_runtime::profiling::Profile;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # // 30 ms of CPU in `work`, called by `main`, built with pprof-rs's profile.proto types.
    /// # use pprof::protos::{Function, Line, Location, Message, Sample, ValueType};
    /// # let function = |id, name| Function { id, name, ..Function::default() };
    /// # let location = |id, function_id| Location {
    /// #     id,
    /// #     line: vec![Line { function_id, line: 0 }],
    /// #     ..Location::default()
    /// # };
    /// # let bytes = pprof::protos::Profile {
    /// #     string_table: ["", "cpu", "nanoseconds", "main", "work"].map(String::from).to_vec(),
    /// #     sample_type: vec![ValueType { ty: 1, unit: 2 }],
    /// #     function: vec![function(1, 3), function(2, 4)],
    /// #     location: vec![location(1, 1), location(2, 2)],
    /// #     sample: vec![Sample { location_id: vec![2, 1], value: vec![30_000_000], label: vec![] }],
    /// #     ..pprof::protos::Profile::default()
    /// # }
    /// # .encode_to_vec();
    /// let profile = Profile::from_pprof(&bytes)?; // or `std::fs::read("cpu.pb.gz")?`
    /// assert_eq!(profile.folded(), "main;work 30000000\n");
    /// // Written back, it reads the same.
    /// let again = Profile::from_pprof(&profile.to_pprof())?;
    /// assert_eq!(again.folded(), profile.folded());
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_pprof(bytes: &[u8]) -> Result<Profile, ProfileError> {
        if bytes.is_empty() {
            return Err(ProfileError::Decode("the input is empty".to_owned()));
        }
        let raw: Cow<'_, [u8]> = if bytes.starts_with(&GZIP_MAGIC) {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(bytes)
                .take(MAX_UNZIPPED + 1)
                .read_to_end(&mut out)
                .map_err(|e| ProfileError::Decode(format!("the gzip stream is corrupt: {e}")))?;
            if out.len() as u64 > MAX_UNZIPPED {
                return Err(ProfileError::Decode(format!(
                    "unzipped, the input is larger than {} MiB",
                    MAX_UNZIPPED >> 20
                )));
            }
            Cow::Owned(out)
        } else {
            Cow::Borrowed(bytes)
        };
        let proto = pprof::protos::Profile::decode(&*raw)
            .map_err(|e| ProfileError::Decode(format!("not protobuf: {e}")))?;
        validate(&proto).map_err(ProfileError::Decode)?;
        Ok(Profile { proto })
    }

    /// The profile as gzipped pprof protobuf bytes (what `go tool pprof`, Pyroscope and
    /// Grafana read).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use zdk_trace_runtime::profiling::Profile;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let profile = Profile::from_pprof(&std::fs::read("cpu.pb")?)?;
    /// std::fs::write("cpu.pb.gz", profile.to_pprof())?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_pprof(&self) -> Vec<u8> {
        let raw = self.proto.encode_to_vec();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        // Writing into a Vec cannot fail.
        let _ = gz.write_all(&raw);
        gz.finish().unwrap_or_default()
    }

    /// The sample types as `(type, unit)` pairs, in the profile's order: `("cpu",
    /// "nanoseconds")`, `("samples", "count")`, `("inuse_space", "bytes")`...
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use zdk_trace_runtime::profiling::Profile;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let profile = Profile::from_pprof(&std::fs::read("cpu.pb.gz")?)?;
    /// for (ty, unit) in profile.sample_types() {
    ///     println!("{ty} in {unit}: {}", profile.total(&ty));
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn sample_types(&self) -> Vec<(String, String)> {
        self.proto
            .sample_type
            .iter()
            .map(|t| (self.string(t.ty).to_owned(), self.string(t.unit).to_owned()))
            .collect()
    }

    /// The sample type every other reading uses, as `(type, unit)`: `cpu` if the profile has
    /// it, else its `default_sample_type`, else its last type; `None` when it has no types.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use zdk_trace_runtime::profiling::Profile;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let profile = Profile::from_pprof(&std::fs::read("heap.pb.gz")?)?;
    /// if let Some((ty, unit)) = profile.main_sample_type() {
    ///     println!("ranked by {ty} ({unit})");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn main_sample_type(&self) -> Option<(String, String)> {
        let t = self.proto.sample_type.get(self.main_index()?)?;
        Some((self.string(t.ty).to_owned(), self.string(t.unit).to_owned()))
    }

    /// The sum over all samples of the values of `sample_type` (`"cpu"`, `"samples"`,
    /// `"alloc_space"`...); 0 when the profile has no such type.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use zdk_trace_runtime::profiling::Profile;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let profile = Profile::from_pprof(&std::fs::read("cpu.pb.gz")?)?;
    /// let cpu = std::time::Duration::from_nanos(profile.total("cpu").max(0) as u64);
    /// println!("{cpu:?} of CPU");
    /// # Ok(())
    /// # }
    /// ```
    pub fn total(&self, sample_type: &str) -> i64 {
        let Some(index) = self
            .proto
            .sample_type
            .iter()
            .position(|t| self.string(t.ty) == sample_type)
        else {
            return 0;
        };
        self.sum(index)
    }

    /// How long the profile was recorded for; `None` when the profile does not say.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use zdk_trace_runtime::profiling::Profile;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let profile = Profile::from_pprof(&std::fs::read("cpu.pb.gz")?)?;
    /// if let Some(d) = profile.duration() {
    ///     println!("recorded for {d:?}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn duration(&self) -> Option<Duration> {
        u64::try_from(self.proto.duration_nanos)
            .ok()
            .filter(|&n| n > 0)
            .map(Duration::from_nanos)
    }

    /// The number of samples (records of `profile.proto`; one record may stand for several
    /// ticks, see the `samples` type's [`total`](Profile::total)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use zdk_trace_runtime::profiling::Profile;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let profile = Profile::from_pprof(&std::fs::read("cpu.pb.gz")?)?;
    /// println!("{} samples", profile.sample_count());
    /// # Ok(())
    /// # }
    /// ```
    pub fn sample_count(&self) -> usize {
        self.proto.sample.len()
    }

    /// The keys of the string labels on the samples (`span`, `trace_id`, `thread`...),
    /// sorted.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use zdk_trace_runtime::profiling::Profile;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let profile = Profile::from_pprof(&std::fs::read("cpu.pb.gz")?)?;
    /// for key in profile.label_keys() {
    ///     println!("{key}: {} values", profile.label_values(&key).len());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn label_keys(&self) -> Vec<String> {
        let mut keys = std::collections::BTreeSet::new();
        for sample in &self.proto.sample {
            for label in sample.label.iter().filter(|l| l.str != 0) {
                keys.insert(self.string(label.key));
            }
        }
        keys.into_iter().map(str::to_owned).collect()
    }

    /// Each distinct string value of the label `key` with the summed main value of the
    /// samples that carry it, largest first: how much CPU each span or trace took, with `key`
    /// `"span"` or `"trace_id"`. Samples without the label are not counted.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use zdk_trace_runtime::profiling::Profile;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let profile = Profile::from_pprof(&std::fs::read("cpu.pb.gz")?)?;
    /// for (span, nanos) in profile.label_values("span") {
    ///     println!("{span}: {:.1} ms", nanos as f64 / 1e6);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn label_values(&self, key: &str) -> Vec<(String, i64)> {
        let Some(main) = self.main_index() else {
            return Vec::new();
        };
        let mut sums: HashMap<&str, i64> = HashMap::new();
        for sample in &self.proto.sample {
            let value = sample.value.get(main).copied().unwrap_or(0);
            // A value counts once per sample even if the label repeats.
            let mut seen = HashSet::new();
            for label in &sample.label {
                if label.str != 0 && self.string(label.key) == key {
                    let v = self.string(label.str);
                    if seen.insert(v) {
                        let sum = sums.entry(v).or_insert(0);
                        *sum = sum.saturating_add(value);
                    }
                }
            }
        }
        let mut values: Vec<(String, i64)> =
            sums.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        values
    }

    /// The `n` most expensive functions by their own (self) value of the main sample type,
    /// largest first (ties: larger total first, then by name).
    ///
    /// Every frame counts, inlined ones included (a location lists the functions inlined into
    /// it); a recursive function counts once per sample in its total.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use zdk_trace_runtime::profiling::Profile;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let profile = Profile::from_pprof(&std::fs::read("cpu.pb.gz")?)?;
    /// if let Some(hot) = profile.top_functions(1).first() {
    ///     println!("hottest: {} ({} ns)", hot.name, hot.self_value);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn top_functions(&self, n: usize) -> Vec<FunctionCost> {
        let mut all = self.function_costs();
        all.truncate(n);
        all
    }

    /// The report `go tool pprof -top` would print, trimmed to 20 functions: the sample types,
    /// duration, number of samples and total, then flat, flat%, cum, cum% and name of each
    /// function, then the largest values of each string label (the span, the trace...).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use zdk_trace_runtime::profiling::Profile;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let profile = Profile::from_pprof(&std::fs::read("cpu.pb.gz")?)?;
    /// print!("{}", profile.text_report());
    /// # Ok(())
    /// # }
    /// ```
    pub fn text_report(&self) -> String {
        self.text_report_top(REPORT_FUNCTIONS)
    }

    /// [`text_report`](Profile::text_report) listing the top `n` functions instead of 20.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use zdk_trace_runtime::profiling::Profile;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let profile = Profile::from_pprof(&std::fs::read("cpu.pb.gz")?)?;
    /// print!("{}", profile.text_report_top(5));
    /// # Ok(())
    /// # }
    /// ```
    pub fn text_report_top(&self, n: usize) -> String {
        let mut out = String::new();
        // `write!` into a String cannot fail; the results are ignored below for that reason.
        let types = self.sample_types();
        let main = self.main_sample_type();
        let listed: Vec<String> = types.iter().map(|(t, u)| format!("{t}/{u}")).collect();
        let listed = if listed.is_empty() {
            "none".to_owned()
        } else {
            listed.join(", ")
        };
        match &main {
            Some((ty, _)) if types.len() > 1 => {
                let _ = writeln!(out, "Sample types: {listed} (ranked by {ty})");
            }
            _ => {
                let _ = writeln!(out, "Sample types: {listed}");
            }
        }
        let _ = match self.duration() {
            Some(d) => writeln!(out, "Duration: {}", format_nanos(d.as_nanos() as f64)),
            None => writeln!(out, "Duration: not recorded"),
        };
        let _ = writeln!(out, "Samples: {}", self.sample_count());
        let Some((ty, unit)) = main else {
            return out;
        };
        let total = self.total(&ty);
        let _ = write!(out, "Total {ty}: {}", format_value(total, &unit));
        if let (Some(d), "nanoseconds") = (self.duration(), unit.as_str()) {
            // CPU time over wall time, as `go tool pprof` shows it (above 100% with threads).
            let _ = write!(
                out,
                " ({} of the duration)",
                percent(total, d.as_nanos() as i64)
            );
        }
        out.push('\n');

        let costs = self.function_costs();
        let shown = n.min(costs.len());
        let _ = writeln!(
            out,
            "Showing {shown} of {} functions, by flat (own) {ty}\n",
            costs.len()
        );
        let _ = writeln!(
            out,
            "{:>10} {:>7} {:>10} {:>7}  name",
            "flat", "flat%", "cum", "cum%"
        );
        for cost in costs.iter().take(shown) {
            let _ = writeln!(
                out,
                "{:>10} {:>7} {:>10} {:>7}  {}",
                format_value(cost.self_value, &unit),
                percent(cost.self_value, total),
                format_value(cost.total_value, &unit),
                percent(cost.total_value, total),
                cost.name
            );
        }

        for key in self.label_keys() {
            let values = self.label_values(&key);
            let _ = writeln!(
                out,
                "\nBy label `{key}` ({} of {} values):",
                values.len().min(REPORT_LABEL_VALUES),
                values.len()
            );
            for (value, sum) in values.iter().take(REPORT_LABEL_VALUES) {
                let _ = writeln!(
                    out,
                    "{:>10} {:>7}  {value}",
                    format_value(*sum, &unit),
                    percent(*sum, total)
                );
            }
        }
        out
    }

    /// The samples as folded stacks, the input of flamegraph tools (inferno, speedscope,
    /// Brendan Gregg's `flamegraph.pl`): one line `root;caller;...;leaf value` per distinct
    /// stack, values of the main sample type summed, sorted by stack. Samples whose value is
    /// not positive are left out; a `;` inside a name becomes `；` (U+FF1B), a line break a
    /// space.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use zdk_trace_runtime::profiling::Profile;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let profile = Profile::from_pprof(&std::fs::read("cpu.pb.gz")?)?;
    /// std::fs::write("cpu.folded", profile.folded())?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn folded(&self) -> String {
        let Some(main) = self.main_index() else {
            return String::new();
        };
        let index = Index::new(&self.proto);
        let mut stacks: BTreeMap<String, i64> = BTreeMap::new();
        for sample in &self.proto.sample {
            let value = sample.value.get(main).copied().unwrap_or(0);
            if value <= 0 {
                continue;
            }
            let frames = index.frames(sample);
            let stack = if frames.is_empty() {
                "<no stack>".to_owned()
            } else {
                frames
                    .iter()
                    .rev()
                    .map(|f| fold_name(f))
                    .collect::<Vec<_>>()
                    .join(";")
            };
            let sum = stacks.entry(stack).or_insert(0);
            *sum = sum.saturating_add(value);
        }
        let mut out = String::new();
        for (stack, value) in stacks {
            let _ = writeln!(out, "{stack} {value}");
        }
        out
    }

    /// The profile as a flamegraph: an SVG document (interactive in a browser) of the
    /// [`folded`](Profile::folded) stacks, drawn by inferno, titled "zdk-trace CPU profile"
    /// (or after the main sample type).
    ///
    /// # Errors
    ///
    /// [`ProfileError::NoSamples`] when no sample has a positive value (nothing to draw),
    /// [`ProfileError::Render`] if the renderer fails.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use zdk_trace_runtime::profiling::Profile;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let profile = Profile::from_pprof(&std::fs::read("cpu.pb.gz")?)?;
    /// std::fs::write("cpu.svg", profile.flamegraph_svg()?)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn flamegraph_svg(&self) -> Result<String, ProfileError> {
        let (ty, unit) = self.main_sample_type().unwrap_or_default();
        let folded = self.folded();
        if folded.is_empty() {
            return Err(ProfileError::NoSamples(ty));
        }
        let title = if ty == "cpu" {
            "zdk-trace CPU profile".to_owned()
        } else {
            format!("zdk-trace {ty} profile")
        };
        let total = self.total(&ty);
        let mut subtitle = format!("{ty} {}", format_value(total, &unit));
        if let Some(d) = self.duration() {
            let _ = write!(subtitle, " in {}", format_nanos(d.as_nanos() as f64));
        }
        let _ = write!(subtitle, ", {} samples", self.sample_count());
        let count_name = match unit.as_str() {
            "nanoseconds" => "ns".to_owned(),
            "count" | "" => "samples".to_owned(),
            other => other.to_owned(),
        };
        // `Options` is `#[non_exhaustive]`: no struct expression, fields set one by one.
        let mut options = pprof::flamegraph::Options::default();
        options.title = title;
        options.subtitle = Some(subtitle);
        options.count_name = count_name;
        // Same colour for a function in every graph; no randomness in the output.
        options.hash = true;
        options.deterministic = true;
        let mut svg = Vec::new();
        pprof::flamegraph::from_lines(&mut options, folded.lines(), &mut svg)
            .map_err(|e| ProfileError::Render(Box::new(e)))?;
        String::from_utf8(svg).map_err(|e| ProfileError::Render(Box::new(e)))
    }

    /// The string at `index` of the string table; `""` when it points nowhere.
    fn string(&self, index: i64) -> &str {
        string_at(&self.proto, index)
    }

    /// The index of the main sample type; see [`Profile::main_sample_type`].
    fn main_index(&self) -> Option<usize> {
        let types = &self.proto.sample_type;
        if let Some(i) = types.iter().position(|t| self.string(t.ty) == "cpu") {
            return Some(i);
        }
        if self.proto.default_sample_type != 0 {
            let default = self.string(self.proto.default_sample_type);
            if let Some(i) = types.iter().position(|t| self.string(t.ty) == default) {
                return Some(i);
            }
        }
        types.len().checked_sub(1)
    }

    /// The sum of value `index` over all samples.
    fn sum(&self, index: usize) -> i64 {
        self.proto
            .sample
            .iter()
            .filter_map(|s| s.value.get(index))
            .fold(0i64, |acc, v| acc.saturating_add(*v))
    }

    /// Every function's cost, sorted as [`Profile::top_functions`] returns them.
    fn function_costs(&self) -> Vec<FunctionCost> {
        let Some(main) = self.main_index() else {
            return Vec::new();
        };
        let index = Index::new(&self.proto);
        let mut costs: HashMap<Cow<'_, str>, (i64, i64)> = HashMap::new();
        for sample in &self.proto.sample {
            let value = sample.value.get(main).copied().unwrap_or(0);
            if value == 0 {
                continue;
            }
            let frames = index.frames(sample);
            if let Some(leaf) = frames.first() {
                let cost = costs.entry(leaf.clone()).or_insert((0, 0));
                cost.0 = cost.0.saturating_add(value);
            }
            // A recursive function is on the stack more than once, but its total counts the
            // sample once.
            let mut seen = HashSet::new();
            for frame in &frames {
                if seen.insert(frame) {
                    let cost = costs.entry(frame.clone()).or_insert((0, 0));
                    cost.1 = cost.1.saturating_add(value);
                }
            }
        }
        let mut all: Vec<FunctionCost> = costs
            .into_iter()
            .map(|(name, (self_value, total_value))| FunctionCost {
                name: name.into_owned(),
                self_value,
                total_value,
            })
            .collect();
        all.sort_by(|a, b| {
            b.self_value
                .cmp(&a.self_value)
                .then_with(|| b.total_value.cmp(&a.total_value))
                .then_with(|| a.name.cmp(&b.name))
        });
        all
    }
}

/// The locations and functions of a profile by id, to turn a sample into frame names.
struct Index<'a> {
    proto: &'a pprof::protos::Profile,
    locations: HashMap<u64, &'a Location>,
    functions: HashMap<u64, &'a Function>,
}

impl<'a> Index<'a> {
    fn new(proto: &'a pprof::protos::Profile) -> Self {
        Index {
            proto,
            locations: proto.location.iter().map(|l| (l.id, l)).collect(),
            functions: proto.function.iter().map(|f| (f.id, f)).collect(),
        }
    }

    /// The frames of `sample`, leaf first: its locations are leaf first, and each location's
    /// lines innermost first (the functions inlined into it, then the function it is in).
    fn frames(&self, sample: &Sample) -> Vec<Cow<'a, str>> {
        let mut frames = Vec::with_capacity(sample.location_id.len());
        for id in &sample.location_id {
            match self.locations.get(id) {
                Some(location) if !location.line.is_empty() => {
                    for line in &location.line {
                        frames.push(self.function_name(line.function_id));
                    }
                }
                // Not symbolized: the address is all there is.
                Some(location) => frames.push(Cow::Owned(format!("0x{:x}", location.address))),
                None => frames.push(Cow::Owned(format!("<unknown location {id}>"))),
            }
        }
        frames
    }

    fn function_name(&self, id: u64) -> Cow<'a, str> {
        let Some(function) = self.functions.get(&id) else {
            return Cow::Owned(format!("<unknown function {id}>"));
        };
        let name = string_at(self.proto, function.name);
        let name = if name.is_empty() {
            string_at(self.proto, function.system_name)
        } else {
            name
        };
        if name.is_empty() {
            Cow::Owned(format!("<function {id}>"))
        } else {
            Cow::Borrowed(name)
        }
    }
}

/// The string at `index` of `proto`'s string table; `""` when it points nowhere.
fn string_at(proto: &pprof::protos::Profile, index: i64) -> &str {
    usize::try_from(index)
        .ok()
        .and_then(|i| proto.string_table.get(i))
        .map_or("", String::as_str)
}

/// Checks what `go tool pprof` checks before it reads a profile (Go's `CheckValid`), so that
/// bytes that happen to decode as protobuf but are no profile are rejected, with the reason.
fn validate(proto: &pprof::protos::Profile) -> Result<(), String> {
    match proto.string_table.first() {
        None => return Err("the string table is empty".to_owned()),
        Some(first) if !first.is_empty() => {
            return Err(format!(
                "the string table must start with \"\", not {first:?}"
            ))
        }
        Some(_) => {}
    }
    if proto.sample_type.is_empty() {
        return Err("it has no sample types".to_owned());
    }
    let strings = proto.string_table.len();
    let string = |what: &str, index: i64| -> Result<(), String> {
        if usize::try_from(index).is_ok_and(|i| i < strings) {
            Ok(())
        } else {
            Err(format!(
                "{what} is string {index}, but the string table has {strings} strings"
            ))
        }
    };
    for (i, t) in proto.sample_type.iter().enumerate() {
        string(&format!("the name of sample type {i}"), t.ty)?;
        string(&format!("the unit of sample type {i}"), t.unit)?;
    }
    if let Some(t) = &proto.period_type {
        string("the period type", t.ty)?;
        string("the period unit", t.unit)?;
    }
    string("the default sample type", proto.default_sample_type)?;
    string("`drop_frames`", proto.drop_frames)?;
    string("`keep_frames`", proto.keep_frames)?;
    for c in &proto.comment {
        string("a comment", *c)?;
    }
    for m in &proto.mapping {
        string(&format!("the file name of mapping {}", m.id), m.filename)?;
        string(&format!("the build id of mapping {}", m.id), m.build_id)?;
    }
    let mut functions = HashSet::new();
    for f in &proto.function {
        if f.id == 0 || !functions.insert(f.id) {
            return Err(format!("function id {} is zero or used twice", f.id));
        }
        string(&format!("the name of function {}", f.id), f.name)?;
        string(
            &format!("the system name of function {}", f.id),
            f.system_name,
        )?;
        string(&format!("the file name of function {}", f.id), f.filename)?;
    }
    let mut locations = HashSet::new();
    for l in &proto.location {
        if l.id == 0 || !locations.insert(l.id) {
            return Err(format!("location id {} is zero or used twice", l.id));
        }
        for line in &l.line {
            // 0 means "no function" in profile.proto.
            if line.function_id != 0 && !functions.contains(&line.function_id) {
                return Err(format!(
                    "location {} names function {}, which is not in the profile",
                    l.id, line.function_id
                ));
            }
        }
    }
    for (i, s) in proto.sample.iter().enumerate() {
        if s.value.len() != proto.sample_type.len() {
            return Err(format!(
                "sample {i} has {} values for {} sample types",
                s.value.len(),
                proto.sample_type.len()
            ));
        }
        if let Some(id) = s.location_id.iter().find(|id| !locations.contains(id)) {
            return Err(format!(
                "sample {i} names location {id}, which is not in the profile"
            ));
        }
        for label in &s.label {
            string(&format!("a label key of sample {i}"), label.key)?;
            string(&format!("a label value of sample {i}"), label.str)?;
            string(&format!("a label unit of sample {i}"), label.num_unit)?;
        }
    }
    Ok(())
}

/// `name` as one frame of a folded line: `;` separates frames there and a line break ends the
/// line, so neither may appear inside a name.
fn fold_name(name: &str) -> Cow<'_, str> {
    if name.contains([';', '\n', '\r']) {
        Cow::Owned(name.replace(';', "\u{ff1b}").replace(['\n', '\r'], " "))
    } else {
        Cow::Borrowed(name)
    }
}

/// `value` in `unit` for people: nanoseconds as ms or s, bytes as B, KiB, MiB or GiB, counts
/// plain.
fn format_value(value: i64, unit: &str) -> String {
    match unit {
        "nanoseconds" => format_nanos(value as f64),
        "microseconds" => format_nanos(value as f64 * 1e3),
        "milliseconds" => format_nanos(value as f64 * 1e6),
        "seconds" => format_nanos(value as f64 * 1e9),
        "bytes" => {
            const KIB: f64 = 1024.0;
            let v = value as f64;
            match value.unsigned_abs() {
                0..1024 => format!("{value}B"),
                1024..1_048_576 => format!("{:.2}KiB", v / KIB),
                1_048_576..1_073_741_824 => format!("{:.2}MiB", v / (KIB * KIB)),
                _ => format!("{:.2}GiB", v / (KIB * KIB * KIB)),
            }
        }
        "count" | "" => value.to_string(),
        other => format!("{value} {other}"),
    }
}

/// Nanoseconds as milliseconds under a second, else seconds.
fn format_nanos(nanos: f64) -> String {
    if nanos.abs() < 1e9 {
        format!("{:.2}ms", nanos / 1e6)
    } else {
        format!("{:.2}s", nanos / 1e9)
    }
}

/// `part` as a percentage of `whole`; `-` when `whole` is 0.
fn percent(part: i64, whole: i64) -> String {
    if whole == 0 {
        "-".to_owned()
    } else {
        format!("{:.2}%", part as f64 * 100.0 / whole as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pprof::protos::{Label, Line, ValueType};

    /// A profile of two sample types (`samples/count`, `cpu/nanoseconds`) built by hand:
    ///
    /// - `main;work;hash`: 30 ms, span `chat`, trace `t1` (`hash` inlined into `work`: one
    ///   location, two lines);
    /// - `main;work`: 20 ms, span `chat`, trace `t1`;
    /// - `main;parse;parse`: 10 ms (recursive), span `tool`, trace `t2`;
    /// - `main`: 0 ms (a sample with no cpu value), no labels.
    fn fixture() -> pprof::protos::Profile {
        let strings = [
            "",
            "samples",
            "count",
            "cpu",
            "nanoseconds",
            "main",
            "work",
            "hash",
            "parse",
            "span",
            "chat",
            "tool",
            "trace_id",
            "t1",
            "t2",
        ];
        let s = |name: &str| strings.iter().position(|x| *x == name).unwrap_or(0) as i64;
        let function = |id: u64, name: &str| Function {
            id,
            name: s(name),
            system_name: s(name),
            ..Function::default()
        };
        let location = |id: u64, functions: &[u64]| Location {
            id,
            address: 0x1000 + id,
            line: functions
                .iter()
                .map(|&function_id| Line {
                    function_id,
                    line: 1,
                })
                .collect(),
            ..Location::default()
        };
        let label = |key: &str, value: &str| Label {
            key: s(key),
            str: s(value),
            ..Label::default()
        };
        let ms = 1_000_000;
        pprof::protos::Profile {
            sample_type: vec![
                ValueType {
                    ty: s("samples"),
                    unit: s("count"),
                },
                ValueType {
                    ty: s("cpu"),
                    unit: s("nanoseconds"),
                },
            ],
            sample: vec![
                Sample {
                    // Leaf first; location 2 is `hash` inlined into `work`.
                    location_id: vec![2, 1],
                    value: vec![3, 30 * ms],
                    label: vec![label("span", "chat"), label("trace_id", "t1")],
                },
                Sample {
                    location_id: vec![3, 1],
                    value: vec![2, 20 * ms],
                    label: vec![label("span", "chat"), label("trace_id", "t1")],
                },
                Sample {
                    location_id: vec![4, 4, 1],
                    value: vec![1, 10 * ms],
                    label: vec![label("span", "tool"), label("trace_id", "t2")],
                },
                Sample {
                    location_id: vec![1],
                    value: vec![1, 0],
                    label: vec![],
                },
            ],
            location: vec![
                location(1, &[1]),
                location(2, &[3, 2]),
                location(3, &[2]),
                location(4, &[4]),
            ],
            function: vec![
                function(1, "main"),
                function(2, "work"),
                function(3, "hash"),
                function(4, "parse"),
            ],
            string_table: strings.iter().map(|s| (*s).to_owned()).collect(),
            duration_nanos: 1_000_000_000,
            ..pprof::protos::Profile::default()
        }
    }

    /// The fixture after a trip through gzipped pprof bytes.
    fn round_tripped() -> Profile {
        let bytes = Profile::from_proto(fixture()).to_pprof();
        assert_eq!(bytes[..2], GZIP_MAGIC);
        Profile::from_pprof(&bytes).unwrap_or_else(|e| panic!("round trip: {e}"))
    }

    fn cost(name: &str, self_value: i64, total_value: i64) -> FunctionCost {
        FunctionCost {
            name: name.to_owned(),
            self_value,
            total_value,
        }
    }

    #[test]
    fn round_trip_keeps_the_profile() {
        let profile = round_tripped();
        assert_eq!(profile.proto, fixture());
        // Raw (not gzipped) protobuf reads too.
        let raw = Profile::from_pprof(&fixture().encode_to_vec())
            .unwrap_or_else(|e| panic!("raw protobuf: {e}"));
        assert_eq!(raw.proto, fixture());
    }

    #[test]
    fn accessors() {
        let profile = round_tripped();
        assert_eq!(
            profile.sample_types(),
            vec![
                ("samples".to_owned(), "count".to_owned()),
                ("cpu".to_owned(), "nanoseconds".to_owned())
            ]
        );
        assert_eq!(
            profile.main_sample_type(),
            Some(("cpu".to_owned(), "nanoseconds".to_owned()))
        );
        assert_eq!(profile.total("cpu"), 60_000_000);
        assert_eq!(profile.total("samples"), 7);
        assert_eq!(profile.total("alloc_space"), 0);
        assert_eq!(profile.duration(), Some(Duration::from_secs(1)));
        assert_eq!(profile.sample_count(), 4);
        assert_eq!(profile.label_keys(), vec!["span", "trace_id"]);
        assert_eq!(
            profile.label_values("span"),
            vec![
                ("chat".to_owned(), 50_000_000),
                ("tool".to_owned(), 10_000_000)
            ]
        );
        assert_eq!(
            profile.label_values("trace_id"),
            vec![("t1".to_owned(), 50_000_000), ("t2".to_owned(), 10_000_000)]
        );
        assert!(profile.label_values("thread").is_empty());
    }

    #[test]
    fn top_functions_count_inlined_frames_and_recursion_once() {
        let profile = round_tripped();
        assert_eq!(
            profile.top_functions(10),
            vec![
                cost("hash", 30_000_000, 30_000_000),
                cost("work", 20_000_000, 50_000_000),
                cost("parse", 10_000_000, 10_000_000),
                cost("main", 0, 60_000_000),
            ]
        );
        assert_eq!(
            profile.top_functions(1),
            vec![cost("hash", 30_000_000, 30_000_000)]
        );
        assert!(profile.top_functions(0).is_empty());
    }

    #[test]
    fn main_sample_type_is_cpu_then_default_then_last() {
        let mut proto = fixture();
        assert_eq!(Profile::from_proto(proto.clone()).main_index(), Some(1));
        // Without `cpu`: the last type (as heap profiles put `inuse_space` last)...
        proto.string_table[3] = "alloc_space".to_owned();
        proto.string_table[4] = "bytes".to_owned();
        let profile = Profile::from_proto(proto.clone());
        assert_eq!(
            profile.main_sample_type(),
            Some(("alloc_space".to_owned(), "bytes".to_owned()))
        );
        // ...unless the profile names its default.
        proto.default_sample_type = 1;
        let profile = Profile::from_proto(proto.clone());
        assert_eq!(
            profile.main_sample_type(),
            Some(("samples".to_owned(), "count".to_owned()))
        );
        assert_eq!(profile.top_functions(1), vec![cost("hash", 3, 3)]);
        proto.sample_type.clear();
        let profile = Profile::from_proto(proto);
        assert_eq!(profile.main_sample_type(), None);
        assert!(profile.top_functions(5).is_empty());
        assert!(profile.folded().is_empty());
    }

    #[test]
    fn folded_lines_are_root_first_and_summed() {
        let mut proto = fixture();
        // A second sample of an existing stack adds to its line.
        proto.sample.push(Sample {
            location_id: vec![3, 1],
            value: vec![1, 5_000_000],
            label: vec![],
        });
        let profile = Profile::from_proto(proto);
        assert_eq!(
            profile.folded(),
            "main;parse;parse 10000000\n\
             main;work 25000000\n\
             main;work;hash 30000000\n"
        );
    }

    #[test]
    fn folded_names_cannot_break_lines() {
        assert_eq!(
            fold_name("<[u8; 4] as Debug>::fmt"),
            "<[u8\u{ff1b} 4] as Debug>::fmt"
        );
        assert_eq!(fold_name("a\nb"), "a b");
        assert_eq!(fold_name("plain"), "plain");
    }

    #[test]
    fn flamegraph_is_an_svg_naming_the_functions() {
        let svg = round_tripped()
            .flamegraph_svg()
            .unwrap_or_else(|e| panic!("flamegraph: {e}"));
        assert!(svg.starts_with("<?xml"), "{}", &svg[..svg.len().min(200)]);
        assert!(svg.contains("<svg"));
        assert!(svg.contains("zdk-trace CPU profile"));
        for name in ["hash", "work", "parse", "main"] {
            assert!(svg.contains(&format!("<title>{name} (")), "{name} missing");
        }
        // Deterministic: the same profile draws the same graph.
        assert_eq!(round_tripped().flamegraph_svg().unwrap_or_default(), svg);
    }

    #[test]
    fn flamegraph_of_an_empty_profile_is_an_error() {
        let mut proto = fixture();
        proto.sample.clear();
        let err = Profile::from_proto(proto)
            .flamegraph_svg()
            .err()
            .unwrap_or_else(|| panic!("an empty profile drew a flamegraph"));
        assert!(
            matches!(err, ProfileError::NoSamples(ref t) if t == "cpu"),
            "{err}"
        );
    }

    #[test]
    fn text_report_lists_the_top_functions_with_units() {
        let report = round_tripped().text_report();
        let expected = "\
Sample types: samples/count, cpu/nanoseconds (ranked by cpu)
Duration: 1.00s
Samples: 4
Total cpu: 60.00ms (6.00% of the duration)
Showing 4 of 4 functions, by flat (own) cpu

      flat   flat%        cum    cum%  name
   30.00ms  50.00%    30.00ms  50.00%  hash
   20.00ms  33.33%    50.00ms  83.33%  work
   10.00ms  16.67%    10.00ms  16.67%  parse
    0.00ms   0.00%    60.00ms 100.00%  main

By label `span` (2 of 2 values):
   50.00ms  83.33%  chat
   10.00ms  16.67%  tool

By label `trace_id` (2 of 2 values):
   50.00ms  83.33%  t1
   10.00ms  16.67%  t2
";
        assert_eq!(report, expected, "\n{report}");
        let top1 = round_tripped().text_report_top(1);
        assert!(top1.contains("Showing 1 of 4 functions"), "{top1}");
        assert!(!top1.contains("  work\n"), "{top1}");
    }

    #[test]
    fn units() {
        assert_eq!(format_value(1_500_000, "nanoseconds"), "1.50ms");
        assert_eq!(format_value(2_500_000_000, "nanoseconds"), "2.50s");
        assert_eq!(format_value(512, "bytes"), "512B");
        assert_eq!(format_value(1536, "bytes"), "1.50KiB");
        assert_eq!(format_value(3 << 20, "bytes"), "3.00MiB");
        assert_eq!(format_value(5 << 30, "bytes"), "5.00GiB");
        assert_eq!(format_value(42, "count"), "42");
        assert_eq!(format_value(7, "objects"), "7 objects");
        assert_eq!(percent(1, 0), "-");
    }

    #[test]
    fn bad_input_is_rejected_with_the_reason() {
        let reason = |bytes: &[u8]| match Profile::from_pprof(bytes) {
            Ok(_) => panic!("{bytes:?} read as a profile"),
            Err(ProfileError::Decode(reason)) => reason,
            Err(e) => panic!("unexpected error {e}"),
        };
        assert_eq!(reason(b""), "the input is empty");
        assert!(reason(b"hello, this is text\n").starts_with("not protobuf"));
        assert!(reason(&[0x1f, 0x8b, 0, 1, 2, 3]).starts_with("the gzip stream is corrupt"));

        let mut proto = fixture();
        proto.sample[0].location_id.push(99);
        assert_eq!(
            reason(&proto.encode_to_vec()),
            "sample 0 names location 99, which is not in the profile"
        );
        let mut proto = fixture();
        proto.sample[1].value.pop();
        assert_eq!(
            reason(&proto.encode_to_vec()),
            "sample 1 has 1 values for 2 sample types"
        );
        let mut proto = fixture();
        proto.function[0].name = 100;
        assert_eq!(
            reason(&proto.encode_to_vec()),
            "the name of function 1 is string 100, but the string table has 15 strings"
        );
        let mut proto = fixture();
        proto.sample_type.clear();
        assert_eq!(reason(&proto.encode_to_vec()), "it has no sample types");
        let mut proto = fixture();
        proto.string_table[0] = "x".to_owned();
        assert_eq!(
            reason(&proto.encode_to_vec()),
            "the string table must start with \"\", not \"x\""
        );
    }

    #[test]
    fn unknown_references_never_panic() {
        // A profile built in the crate is not validated: dangling ids still read.
        let mut proto = fixture();
        proto.sample[2].location_id = vec![42];
        proto.location[0].line[0].function_id = 77;
        proto.location.push(Location {
            id: 5,
            address: 0xabc,
            ..Location::default()
        });
        proto.sample[1].location_id = vec![5];
        let folded = Profile::from_proto(proto).folded();
        assert_eq!(
            folded,
            "0xabc 20000000\n\
             <unknown function 77>;work;hash 30000000\n\
             <unknown location 42> 10000000\n"
        );
    }
}
