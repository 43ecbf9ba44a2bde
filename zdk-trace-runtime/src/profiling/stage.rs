//! The profiling stage as installed: the settings, continuous CPU profiling and its exporter.

use std::sync::Arc;
use std::time::Duration;

use super::export::{ProfileExportError, ProfileExporter, ProfileSink};
use super::{Profile, ProfilingError};
use crate::config::{ProfileExporterKind, ProfilingSettings};

/// What `Telemetry` keeps of profiling.
#[derive(Debug)]
pub(crate) struct Stage {
    frequency_hz: u32,
    continuous: Option<Arc<ProfileExporter>>,
    /// Allocations are being sampled.
    heap: bool,
}

impl Stage {
    /// Starts what `settings` ask for (nothing unless `[telemetry.profiling] enabled`).
    pub(crate) fn start(
        settings: &ProfilingSettings,
        service_name: &str,
    ) -> Result<Stage, StageError> {
        let mut stage = Stage {
            frequency_hz: settings.cpu_frequency_hz,
            continuous: None,
            heap: false,
        };
        if settings.enabled
            && settings.memory_enabled
            && (settings.track_allocations || settings.heap_profiling)
        {
            start_heap(settings);
            stage.heap = true;
        }
        if !(settings.enabled && settings.cpu_enabled && settings.cpu_continuous) {
            return Ok(stage);
        }
        let sink = match &settings.exporter {
            ProfileExporterKind::File { dir } => ProfileSink::File { dir: dir.clone() },
            ProfileExporterKind::Pyroscope {
                endpoint,
                application_name,
            } => ProfileSink::Pyroscope {
                endpoint: endpoint.clone(),
                application_name: application_name
                    .clone()
                    .unwrap_or_else(|| service_name.to_owned()),
                tags: Vec::new(),
            },
        };
        let exporter = Arc::new(ProfileExporter::start(sink, service_name)?);
        start_continuous(settings, &exporter)?;
        stage.continuous = Some(exporter);
        Ok(stage)
    }

    /// Profiling off (all telemetry is off): on-demand profiles still work.
    pub(crate) fn off(settings: &ProfilingSettings) -> Stage {
        Stage {
            frequency_hz: settings.cpu_frequency_hz,
            continuous: None,
            heap: false,
        }
    }

    /// A CPU profile of the next `duration`.
    pub(crate) fn profile_cpu(&self, duration: Duration) -> Result<Profile, ProfilingError> {
        profile_cpu(duration, self.frequency_hz)
    }

    /// Starts a CPU profile that runs until the returned guard's `stop`.
    pub(crate) fn start_cpu_profile(&self) -> Result<super::CpuProfileGuard, ProfilingError> {
        start_cpu_profile(self.frequency_hz)
    }

    /// Closes and exports the continuous window, then stops the exporter (within `deadline`).
    /// The heap profile so far.
    pub(crate) fn heap_profile(&self) -> Result<Profile, ProfilingError> {
        heap_profile()
    }

    pub(crate) fn shutdown(&mut self, deadline: Duration) {
        if std::mem::take(&mut self.heap) {
            stop_heap();
        }
        if let Some(exporter) = self.continuous.take() {
            stop_continuous();
            match Arc::try_unwrap(exporter) {
                Ok(exporter) => {
                    exporter.shutdown(deadline);
                }
                // Still held by a window the profiler thread has not closed: its drop shuts
                // it down.
                Err(exporter) => drop(exporter),
            }
        }
    }
}

#[cfg(target_os = "linux")]
fn start_continuous(
    settings: &ProfilingSettings,
    exporter: &Arc<ProfileExporter>,
) -> Result<(), StageError> {
    super::cpu::start_continuous(
        settings.cpu_window,
        settings.cpu_frequency_hz,
        Arc::clone(exporter),
    )
    .map_err(StageError::Cpu)
}

#[cfg(not(target_os = "linux"))]
fn start_continuous(_: &ProfilingSettings, _: &Arc<ProfileExporter>) -> Result<(), StageError> {
    Err(StageError::Cpu(ProfilingError::Unsupported))
}

#[cfg(target_os = "linux")]
fn stop_continuous() {
    super::cpu::stop_continuous();
}

#[cfg(not(target_os = "linux"))]
fn stop_continuous() {}

#[cfg(target_os = "linux")]
fn profile_cpu(duration: Duration, frequency_hz: u32) -> Result<Profile, ProfilingError> {
    super::cpu::profile(duration, frequency_hz)
}

#[cfg(not(target_os = "linux"))]
fn profile_cpu(_: Duration, _: u32) -> Result<Profile, ProfilingError> {
    Err(ProfilingError::Unsupported)
}

/// Why profiling could not start at install.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StageError {
    /// The profile exporter could not start (its directory, its endpoint).
    #[error("cannot start the profile exporter ([telemetry.profiling.exporter]): {0}")]
    Exporter(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// Continuous CPU profiling could not start.
    #[error("cannot start continuous CPU profiling ([telemetry.profiling.cpu]): {0}")]
    Cpu(#[source] ProfilingError),
}

impl From<ProfileExportError> for StageError {
    fn from(e: ProfileExportError) -> Self {
        StageError::Exporter(Box::new(e))
    }
}

#[cfg(target_os = "linux")]
fn start_cpu_profile(frequency_hz: u32) -> Result<super::CpuProfileGuard, ProfilingError> {
    let (id, rx) = super::cpu::begin(frequency_hz)?;
    Ok(super::CpuProfileGuard { id, rx })
}

#[cfg(not(target_os = "linux"))]
fn start_cpu_profile(_: u32) -> Result<super::CpuProfileGuard, ProfilingError> {
    Err(ProfilingError::Unsupported)
}

#[cfg(target_os = "linux")]
fn start_heap(settings: &ProfilingSettings) {
    if !crate::resources::alloc::is_installed() {
        crate::warn::warn_once(
            ("profiling", "heap"),
            "[telemetry.profiling.memory] track_allocations needs zdk_trace_runtime::\
             CountingAllocator as the #[global_allocator]; no allocation will be sampled",
        );
    }
    super::heap::start(u64::from(settings.sampling_rate), settings.heap_profiling);
}

#[cfg(not(target_os = "linux"))]
fn start_heap(_: &ProfilingSettings) {}

#[cfg(target_os = "linux")]
fn stop_heap() {
    super::heap::stop();
}

#[cfg(not(target_os = "linux"))]
fn stop_heap() {}

#[cfg(target_os = "linux")]
fn heap_profile() -> Result<Profile, ProfilingError> {
    super::heap::profile()
}

#[cfg(not(target_os = "linux"))]
fn heap_profile() -> Result<Profile, ProfilingError> {
    Err(ProfilingError::Unsupported)
}
