//! Whether the usage layer may run, and if not, why: the user's opt-outs in precedence order,
//! then what the application asked for.

#[cfg(feature = "usage")]
use std::path::{Path, PathBuf};

#[cfg(feature = "usage")]
use super::status::UsageReason;
#[cfg(feature = "usage")]
use crate::config::UsageSettings;

/// Any value but `0`/`false`/`no`/`off` turns off *both* layers: tracing and usage.
pub(crate) const ZDK_DISABLE_ALL_TRACING: &str = "ZDK_DISABLE_ALL_TRACING";
/// `false` (or `0`/`no`/`off`) turns the usage layer off.
#[cfg(feature = "usage")]
pub(crate) const ZDK_TELEMETRY_ENABLED: &str = "ZDK_TELEMETRY_ENABLED";
/// The cross-tool convention (<https://consoledonottrack.com>): `1` turns the usage layer off.
#[cfg(feature = "usage")]
pub(crate) const DO_NOT_TRACK: &str = "DO_NOT_TRACK";
/// `1` keeps the usage layer on in CI, where it is otherwise off.
#[cfg(feature = "usage")]
pub(crate) const ZDK_ENABLE_TRACING_IN_CI: &str = "ZDK_ENABLE_TRACING_IN_CI";
/// `1` prints each batch to stderr, exactly as it would be sent, instead of sending it.
#[cfg(feature = "usage")]
pub(crate) const ZDK_TELEMETRY_DEBUG: &str = "ZDK_TELEMETRY_DEBUG";
/// Base of the per-user configuration directory (`~/.config` when unset).
#[cfg(feature = "usage")]
pub(crate) const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
#[cfg(feature = "usage")]
const HOME: &str = "HOME";
/// Windows has no XDG directory; its per-user application data directory stands in.
#[cfg(feature = "usage")]
const APPDATA: &str = "APPDATA";

/// The directory under the configuration base that holds the id, the notice marker and the
/// opt-out file.
#[cfg(feature = "usage")]
pub(crate) const APP_DIR: &str = "zdk";
/// A file of this name in the configuration directory turns the usage layer off.
#[cfg(feature = "usage")]
pub(crate) const OPT_OUT_FILE: &str = "no-tracing";

/// Variables set by CI services (any non-empty value other than `false`/`0` means CI).
#[cfg(feature = "usage")]
pub(crate) const CI_VARS: &[&str] = &[
    "CI",
    "CONTINUOUS_INTEGRATION",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "BUILDKITE",
    "JENKINS_URL",
    "TF_BUILD",
    "CIRCLECI",
    "TRAVIS",
    "BITBUCKET_BUILD_NUMBER",
    "TEAMCITY_VERSION",
    "CODEBUILD_BUILD_ID",
    "DRONE",
    "APPVEYOR",
    "BUILDKITE_BUILD_ID",
    "HEROKU_TEST_RUN_ID",
];

/// Reads a variable: the injected set of the builder, or the process environment.
pub(crate) type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

fn value(env: Lookup<'_>, var: &str) -> Option<String> {
    env(var)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Whether `v` says "no". Anything else set means "yes": an opt-out variable with a value we
/// do not recognise is honoured rather than ignored (failing closed protects the user).
fn is_no(v: &str) -> bool {
    ["0", "false", "no", "off"]
        .iter()
        .any(|no| v.eq_ignore_ascii_case(no))
}

#[cfg(feature = "usage")]
fn is_yes(v: &str) -> bool {
    ["1", "true", "yes", "on"]
        .iter()
        .any(|yes| v.eq_ignore_ascii_case(yes))
}

/// `ZDK_DISABLE_ALL_TRACING` is set: tracing is off too.
pub(crate) fn disable_all(env: Lookup<'_>) -> bool {
    value(env, ZDK_DISABLE_ALL_TRACING).is_some_and(|v| !is_no(&v))
}

/// `ZDK_TELEMETRY_DEBUG` is set.
#[cfg(feature = "usage")]
pub(crate) fn debug(env: Lookup<'_>) -> bool {
    value(env, ZDK_TELEMETRY_DEBUG).is_some_and(|v| !is_no(&v))
}

/// The per-user directory of zdk files: `$XDG_CONFIG_HOME/zdk`, else `$HOME/.config/zdk`
/// (`%APPDATA%\zdk` on Windows). `None` when none of them is set: then nothing is stored.
#[cfg(feature = "usage")]
pub(crate) fn config_dir(env: Lookup<'_>) -> Option<PathBuf> {
    // The XDG specification says relative values are invalid and must be ignored.
    let xdg = value(env, XDG_CONFIG_HOME)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    if let Some(base) = xdg {
        return Some(base.join(APP_DIR));
    }
    if let Some(home) = value(env, HOME) {
        return Some(Path::new(&home).join(".config").join(APP_DIR));
    }
    value(env, APPDATA).map(|base| Path::new(&base).join(APP_DIR))
}

/// Why the usage layer is on or off. The user's opt-outs come first, in the documented
/// precedence; only then does the application's choice count. An exporter given in code
/// (`has_exporter`) stands in for the endpoint.
#[cfg(feature = "usage")]
pub(crate) fn decide(
    app: &UsageSettings,
    has_exporter: bool,
    env: Lookup<'_>,
    dir: Option<&Path>,
) -> UsageReason {
    if disable_all(env) {
        return UsageReason::DisableAllTracing;
    }
    if value(env, ZDK_TELEMETRY_ENABLED).is_some_and(|v| !is_yes(&v)) {
        return UsageReason::TelemetryDisabled;
    }
    if value(env, DO_NOT_TRACK).is_some_and(|v| !is_no(&v)) {
        return UsageReason::DoNotTrack;
    }
    if let Some(file) = dir.map(|d| d.join(OPT_OUT_FILE)) {
        // `exists` is false when the directory cannot be read; there is then no opt-out to see.
        if file.exists() {
            return UsageReason::OptOutFile(file);
        }
    }
    let ci = CI_VARS
        .iter()
        .find(|var| value(env, var).is_some_and(|v| !is_no(&v)));
    if let Some(var) = ci {
        if !value(env, ZDK_ENABLE_TRACING_IN_CI).is_some_and(|v| is_yes(&v)) {
            return UsageReason::Ci((*var).to_owned());
        }
    }
    if !app.enabled {
        return UsageReason::NotEnabledByApp;
    }
    if app.url.is_none() && !has_exporter && !debug(env) {
        return UsageReason::NoEndpoint;
    }
    UsageReason::Enabled
}

#[cfg(all(test, feature = "usage"))]
// Tests panic on failure by design.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn app() -> UsageSettings {
        UsageSettings {
            enabled: true,
            url: Some("http://127.0.0.1:1/v1/traces".to_owned()),
            notice: true,
        }
    }

    fn decide_with(vars: &[(&str, &str)], dir: Option<&Path>) -> UsageReason {
        let env = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        decide(&app(), false, &env, dir)
    }

    #[test]
    fn each_variable_alone() {
        assert_eq!(decide_with(&[], None), UsageReason::Enabled);
        assert_eq!(
            decide_with(&[(ZDK_DISABLE_ALL_TRACING, "1")], None),
            UsageReason::DisableAllTracing
        );
        assert_eq!(
            decide_with(&[(ZDK_TELEMETRY_ENABLED, "false")], None),
            UsageReason::TelemetryDisabled
        );
        assert_eq!(
            decide_with(&[(DO_NOT_TRACK, "1")], None),
            UsageReason::DoNotTrack
        );
        assert_eq!(
            decide_with(&[("GITLAB_CI", "true")], None),
            UsageReason::Ci("GITLAB_CI".to_owned())
        );
    }

    #[test]
    fn values_that_mean_no() {
        for no in ["0", "false", "FALSE", "off", " "] {
            assert_eq!(
                decide_with(
                    &[
                        (ZDK_DISABLE_ALL_TRACING, no),
                        (DO_NOT_TRACK, no),
                        ("CI", no)
                    ],
                    None
                ),
                UsageReason::Enabled,
                "{no:?}"
            );
        }
        assert_eq!(
            decide_with(&[(ZDK_TELEMETRY_ENABLED, "true")], None),
            UsageReason::Enabled
        );
        // An unrecognised value of an opt-out variable is honoured, not ignored.
        assert_eq!(
            decide_with(&[(ZDK_TELEMETRY_ENABLED, "nope")], None),
            UsageReason::TelemetryDisabled
        );
        assert_eq!(
            decide_with(&[(DO_NOT_TRACK, "yes please")], None),
            UsageReason::DoNotTrack
        );
    }

    #[test]
    fn ci_override() {
        assert_eq!(
            decide_with(&[("CI", "true"), (ZDK_ENABLE_TRACING_IN_CI, "1")], None),
            UsageReason::Enabled
        );
        // The override does not beat an explicit opt-out.
        assert_eq!(
            decide_with(
                &[
                    ("CI", "true"),
                    (ZDK_ENABLE_TRACING_IN_CI, "1"),
                    (DO_NOT_TRACK, "1")
                ],
                None
            ),
            UsageReason::DoNotTrack
        );
    }

    #[test]
    fn config_dir_rules() {
        let dir = |vars: &[(&str, &str)]| {
            let env = |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            };
            config_dir(&env)
        };
        assert_eq!(
            dir(&[(XDG_CONFIG_HOME, "/x"), (HOME, "/h")]),
            Some(PathBuf::from("/x/zdk"))
        );
        assert_eq!(
            dir(&[(XDG_CONFIG_HOME, "relative"), (HOME, "/h")]),
            Some(PathBuf::from("/h/.config/zdk"))
        );
        assert_eq!(dir(&[]), None);
    }

    #[test]
    fn app_choice_comes_last() {
        let env = |_: &str| None;
        let off = UsageSettings {
            enabled: false,
            ..app()
        };
        assert_eq!(
            decide(&off, false, &env, None),
            UsageReason::NotEnabledByApp
        );
        let no_url = UsageSettings { url: None, ..app() };
        assert_eq!(decide(&no_url, false, &env, None), UsageReason::NoEndpoint);
        // An exporter given in code needs no endpoint.
        assert_eq!(decide(&no_url, true, &env, None), UsageReason::Enabled);
        let debug_env = |name: &str| (name == ZDK_TELEMETRY_DEBUG).then(|| "1".to_owned());
        assert_eq!(
            decide(&no_url, false, &debug_env, None),
            UsageReason::Enabled
        );
        // It does not beat the user's opt-outs.
        let ci_env = |name: &str| (name == "CI").then(|| "true".to_owned());
        assert_eq!(
            decide(&no_url, true, &ci_env, None),
            UsageReason::Ci("CI".to_owned())
        );
    }
}
