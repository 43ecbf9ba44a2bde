// Every key of the usage allowlist is accepted (the macros crate and the runtime hold the same
// list; `duration_ms` and `success` are filled in by the macro), with every kind of value.
#![deny(warnings)]

use zdk_trace_runtime::usage::UsageLabel;
use zdk_trace_runtime::usage_event;

#[derive(Clone, Copy)]
enum Framework {
    Zdk,
}

impl UsageLabel for Framework {
    fn label(&self) -> &'static str {
        match self {
            Framework::Zdk => "zdk",
        }
    }
}

#[usage_event(
    name = "everything",
    fields(
        agent.type = "react",
        agent.framework = framework,
        framework = Framework::Zdk,
        framework.name = Some(framework),
        tool.type = None::<Framework>,
        workflow.type = "loop",
        error.type = "timeout",
        feature.name = "search",
        command.name = "run",
        component = 3_u64,
    )
)]
fn everything(framework: Framework) -> bool {
    matches!(framework, Framework::Zdk)
}

// Check the list here against the runtime's: a key added to the runtime but not used above
// fails this assertion at run time.
fn main() {
    let used = [
        "agent.type",
        "agent.framework",
        "framework",
        "framework.name",
        "tool.type",
        "workflow.type",
        "error.type",
        "feature.name",
        "command.name",
        "component",
        "duration_ms",
        "success",
    ];
    assert_eq!(zdk_trace_runtime::usage::ALLOWED_KEYS, used);
    assert!(everything(Framework::Zdk));
}
