//! The OpenTelemetry resource (who is sending the spans), built from the resolved settings.

use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;

use super::settings::Settings;

const SERVICE_NAME: &str = "service.name";
const SERVICE_VERSION: &str = "service.version";
const TELEMETRY_SDK_NAME: &str = "telemetry.sdk.name";
const TELEMETRY_SDK_LANGUAGE: &str = "telemetry.sdk.language";
const TELEMETRY_SDK_VERSION: &str = "telemetry.sdk.version";
const PROCESS_PID: &str = "process.pid";
const PROCESS_EXECUTABLE_NAME: &str = "process.executable.name";
const PROCESS_RUNTIME_NAME: &str = "process.runtime.name";
const OS_TYPE: &str = "os.type";
const HOST_ARCH: &str = "host.arch";

/// The resource for `settings`: service, SDK, process and host attributes, then the configured
/// resource attributes (which replace any of those except `service.name`, which always comes
/// from [`Settings::service_name`]).
///
/// Starts from an empty resource: the SDK's detectors would read `OTEL_*` variables again,
/// behind the back of the configuration layers.
pub(crate) fn build_resource(settings: &Settings) -> Resource {
    let mut detected = vec![
        KeyValue::new(TELEMETRY_SDK_NAME, "zdk-trace"),
        KeyValue::new(TELEMETRY_SDK_LANGUAGE, "rust"),
        KeyValue::new(TELEMETRY_SDK_VERSION, env!("CARGO_PKG_VERSION")),
        KeyValue::new(PROCESS_PID, i64::from(std::process::id())),
        KeyValue::new(PROCESS_RUNTIME_NAME, "rust"),
        KeyValue::new(OS_TYPE, std::env::consts::OS),
        KeyValue::new(HOST_ARCH, std::env::consts::ARCH),
    ];
    if let Some(name) = executable_name() {
        detected.push(KeyValue::new(PROCESS_EXECUTABLE_NAME, name));
    }
    if let Some(version) = &settings.service_version {
        detected.push(KeyValue::new(SERVICE_VERSION, version.clone()));
    }
    let configured = settings
        .resource_attributes
        .iter()
        .filter(|(key, _)| key != SERVICE_NAME)
        .map(|(key, value)| KeyValue::new(key.clone(), value.clone()));

    // Each `with_attributes` merges over the previous ones, so later groups win.
    Resource::builder_empty()
        .with_attributes(detected)
        .with_attributes(configured)
        .with_attribute(KeyValue::new(SERVICE_NAME, settings.service_name.clone()))
        .build()
}

/// The file name of the running executable, if it can be found.
fn executable_name() -> Option<String> {
    let path = std::env::current_exe()
        .ok()
        .or_else(|| std::env::args_os().next().map(Into::into))?;
    Some(path.file_name()?.to_string_lossy().into_owned())
}

#[cfg(test)]
// Tests panic on failure by design.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use opentelemetry::{Key, Value};

    use super::*;
    use crate::config::resolve;
    use crate::config::Config;

    fn get(resource: &Resource, key: &'static str) -> Option<Value> {
        resource.get(&Key::from_static_str(key))
    }

    fn settings(layer: Config) -> Settings {
        resolve(&[&layer], &|_| None).unwrap()
    }

    #[test]
    fn standard_attributes() {
        let r = build_resource(&settings(
            Config::default()
                .with_service_name("svc")
                .with_service_version("1.2.3"),
        ));
        assert_eq!(get(&r, SERVICE_NAME), Some("svc".into()));
        assert_eq!(get(&r, SERVICE_VERSION), Some("1.2.3".into()));
        assert_eq!(get(&r, TELEMETRY_SDK_NAME), Some("zdk-trace".into()));
        assert_eq!(get(&r, TELEMETRY_SDK_LANGUAGE), Some("rust".into()));
        assert_eq!(
            get(&r, TELEMETRY_SDK_VERSION),
            Some(env!("CARGO_PKG_VERSION").into())
        );
        assert_eq!(
            get(&r, PROCESS_PID),
            Some(i64::from(std::process::id()).into())
        );
        assert_eq!(get(&r, PROCESS_RUNTIME_NAME), Some("rust".into()));
        assert_eq!(get(&r, OS_TYPE), Some(std::env::consts::OS.into()));
        assert_eq!(get(&r, HOST_ARCH), Some(std::env::consts::ARCH.into()));
        assert!(get(&r, PROCESS_EXECUTABLE_NAME).is_some());
    }

    #[test]
    fn no_version_no_attribute() {
        let r = build_resource(&settings(Config::default()));
        assert_eq!(get(&r, SERVICE_NAME), Some("unknown_service".into()));
        assert_eq!(get(&r, SERVICE_VERSION), None);
    }

    #[test]
    fn configured_attributes_override_except_service_name() {
        let mut s = settings(
            Config::default()
                .with_service_name("svc")
                .with_resource_attribute("deployment.environment", "prod")
                .with_resource_attribute(HOST_ARCH, "custom"),
        );
        // resolve() already moves `service.name` out; the resource must hold even if not.
        s.resource_attributes
            .push((SERVICE_NAME.to_owned(), "other".to_owned()));
        let r = build_resource(&s);
        assert_eq!(get(&r, "deployment.environment"), Some("prod".into()));
        assert_eq!(get(&r, HOST_ARCH), Some("custom".into()));
        assert_eq!(get(&r, SERVICE_NAME), Some("svc".into()));
    }
}
