//! End-to-end against a real trace backend, Arize Phoenix: the example apps export over
//! OTLP/gRPC and OTLP/HTTP, and the tests read back what Phoenix stored and check the whole
//! tree. A third test runs two processes, an agent and the tool server it calls over HTTP,
//! and checks that Phoenix shows one trace across both.
//!
//! Skipped (with a note on stderr) unless `ZDK_E2E_PHOENIX=1`:
//!
//! ```sh
//! tests/backends/phoenix/start.sh
//! ZDK_E2E_PHOENIX=1 cargo test -p zdk-trace-tests --test e2e_phoenix
//! tests/backends/phoenix/stop.sh
//! ```
//!
//! Every test files its spans under its own Phoenix project (the resource attribute
//! `openinference.project.name`), named uniquely per run, and deletes it when it passes.

use serde_json::json;
use zdk_trace_tests::phoenix::{
    example_command, render_tree, run_to_end, unique_project, Phoenix, ServerProcess, StoredSpan,
    Transport,
};

/// One turn of `agent_app` as [`render_tree`] draws it: the tree in the app's docs.
const AGENT_APP_TREE: &str = "\
runner.run
  session.get_or_create
  session.append_event session.event.author=user
  invoke_workflow trip_planner workflow.type=sequential
    invoke_agent planner gen_ai.agent.id=planner-1
      chat sim-chat-1 gen_ai.usage.input_tokens=8 gen_ai.usage.output_tokens=13
      execute_tool get_weather gen_ai.tool.call.id=call_1
        GET /v1/forecast
      execute_tool search_flights [ERROR] gen_ai.tool.call.id=call_2 error.type=timeout
      chat sim-chat-1 gen_ai.usage.input_tokens=36 gen_ai.usage.output_tokens=16
    invoke_workflow research workflow.type=parallel
      invoke_agent researcher gen_ai.agent.id=researcher-1
        chat sim-chat-1 gen_ai.usage.input_tokens=2 gen_ai.usage.output_tokens=9
      invoke_agent researcher gen_ai.agent.id=researcher-2
        chat sim-chat-1 gen_ai.usage.input_tokens=2 gen_ai.usage.output_tokens=9
      invoke_agent researcher gen_ai.agent.id=researcher-3
        chat sim-chat-1 gen_ai.usage.input_tokens=2 gen_ai.usage.output_tokens=9
    invoke_workflow refine workflow.type=loop
      invoke_agent critic gen_ai.agent.id=critic-1
        chat sim-chat-1 gen_ai.usage.input_tokens=45 gen_ai.usage.output_tokens=7
      invoke_agent critic gen_ai.agent.id=critic-1
        chat sim-chat-1 gen_ai.usage.input_tokens=52 gen_ai.usage.output_tokens=7
      invoke_agent critic gen_ai.agent.id=critic-1
        chat sim-chat-1 gen_ai.usage.input_tokens=59 gen_ai.usage.output_tokens=7
  session.append_event session.event.author=agent
";

/// The spans named `name`.
fn named<'a>(spans: &'a [StoredSpan], name: &str) -> Vec<&'a StoredSpan> {
    spans.iter().filter(|s| s.name == name).collect()
}

/// The only span named `name`.
fn one<'a>(spans: &'a [StoredSpan], name: &str) -> &'a StoredSpan {
    match named(spans, name).as_slice() {
        [span] => span,
        other => panic!("{} spans named `{name}`, expected one", other.len()),
    }
}

/// Runs one turn of `agent_app` against Phoenix over `transport` and checks what Phoenix
/// stored: the tree (names, parent links, token counts, the failed tool), one trace id,
/// the GenAI attributes of each kind of span, and the failed tool's status and event.
fn agent_app_exports_its_tree(transport: Transport, test: &str) {
    let Some(phoenix) = Phoenix::from_env() else {
        return;
    };
    let project = unique_project(test);
    let run = run_to_end(example_command("agent_app", &phoenix, transport).args([
        "--project",
        &project,
        "--delay-ms",
        "2",
    ]));
    assert!(
        run.stderr
            .contains("25 spans exported, 0 dropped, 0 export errors"),
        "{}",
        run.stderr
    );

    let spans = phoenix.wait_for_spans(&project, 25);
    let tree = render_tree(&spans);
    assert_eq!(tree, AGENT_APP_TREE, "Phoenix stored this tree:\n{tree}");
    assert_eq!(spans.len(), 25, "{tree}");
    let trace_id = &spans[0].trace_id;
    assert!(
        spans.iter().all(|s| &s.trace_id == trace_id),
        "not one trace:\n{tree}"
    );
    assert_eq!(trace_id.len(), 32);

    let root = one(&spans, "runner.run");
    assert_eq!(root.parent_id, None);
    root.assert_attrs(&[("session.id", json!("trip-1")), ("turn", json!(1))]);

    let chats = named(&spans, "chat sim-chat-1");
    assert_eq!(chats.len(), 8);
    for chat in chats {
        chat.assert_attrs(&[
            ("gen_ai.operation.name", json!("chat")),
            ("gen_ai.provider.name", json!("simulated")),
            ("gen_ai.request.model", json!("sim-chat-1")),
            ("gen_ai.request.temperature", json!(0.2)),
            ("gen_ai.request.max_tokens", json!(256)),
            ("gen_ai.response.model", json!("sim-chat-1-2025-06-01")),
        ]);
        // Phoenix recognised the GenAI conventions and derived its own token counts.
        assert_eq!(chat.kind, "LLM");
        assert_eq!(
            chat.attr("llm.token_count.prompt"),
            chat.attr("gen_ai.usage.input_tokens")
        );
        assert!(chat.attr("gen_ai.usage.output_tokens").is_some());
        assert_eq!(chat.status, "UNSET");
    }

    let agents: Vec<_> = spans
        .iter()
        .filter(|s| s.name.starts_with("invoke_agent "))
        .collect();
    assert_eq!(agents.len(), 7);
    for agent in agents {
        agent.assert_attrs(&[
            ("gen_ai.operation.name", json!("invoke_agent")),
            ("gen_ai.conversation.id", json!("trip-1")),
        ]);
        assert_eq!(agent.kind, "AGENT");
    }

    let weather = one(&spans, "execute_tool get_weather");
    weather.assert_attrs(&[
        ("gen_ai.operation.name", json!("execute_tool")),
        ("gen_ai.tool.name", json!("get_weather")),
        ("gen_ai.tool.call.id", json!("call_1")),
    ]);
    assert_eq!(weather.kind, "TOOL");
    assert_eq!(weather.status, "UNSET");
    one(&spans, "GET /v1/forecast").assert_attrs(&[
        ("http.request.method", json!("GET")),
        ("server.address", json!("weather.example")),
    ]);

    let flights = one(&spans, "execute_tool search_flights");
    assert_eq!(flights.status, "ERROR");
    assert_eq!(
        flights.status_message,
        "flight API did not answer within 10ms"
    );
    flights.assert_attrs(&[
        ("error.type", json!("timeout")),
        ("gen_ai.tool.name", json!("search_flights")),
    ]);
    assert_eq!(flights.events, ["exception"]);
    // The failure stays in the tool: nothing above it failed.
    let errors: Vec<_> = spans.iter().filter(|s| s.status == "ERROR").collect();
    assert_eq!(errors.len(), 1, "{tree}");

    let refine = one(&spans, "invoke_workflow refine");
    refine.assert_attrs(&[("workflow.iterations", json!(3))]);
    assert_eq!(refine.events, ["workflow.iteration"; 3]);

    phoenix.delete_project(&project);
}

#[test]
fn agent_app_over_grpc() {
    agent_app_exports_its_tree(Transport::Grpc, "agent-grpc");
}

#[test]
fn agent_app_over_http_protobuf() {
    agent_app_exports_its_tree(Transport::HttpProtobuf, "agent-http");
}

/// The cross-process trace as [`render_tree`] draws it: the runner's tool calls each become
/// an HTTP CLIENT span (`http::ClientTracing`), the tool server's SERVER span
/// (`http::ServerTracing`) hangs under it, and the server's own spans under that.
const CROSS_PROCESS_TREE: &str = "\
runner.run app.service=remote-runner
  invoke_agent travel_agent gen_ai.agent.id=travel-1
    execute_tool get_weather gen_ai.tool.call.id=call_1
      POST
        POST /tools/{name}
          tool.handle app.service=tool-server
            forecast.lookup
    execute_tool search_flights [ERROR] gen_ai.tool.call.id=call_2 error.type=tool_unavailable
      POST [ERROR] error.type=503
        POST /tools/{name} [ERROR] error.type=503
          tool.handle [ERROR] app.service=tool-server error.type=timeout
";

/// A runner process calls a tool server process over HTTP on 127.0.0.1; `traceparent` carries
/// the context, and Phoenix shows one trace across both services. The two export over
/// different transports (the runner gRPC, the server HTTP), into the same project.
#[test]
fn one_trace_across_runner_and_tool_server() {
    let Some(phoenix) = Phoenix::from_env() else {
        return;
    };
    let project = unique_project("cross-process");
    let server = ServerProcess::start(
        example_command("tool_server", &phoenix, Transport::HttpProtobuf).args([
            "--project",
            &project,
            "--requests",
            "2",
        ]),
    );
    let tools_url = server.url.clone();
    let runner = run_to_end(
        example_command("remote_runner", &phoenix, Transport::Grpc).args([
            "--project",
            &project,
            "--tools-url",
            &tools_url,
        ]),
    );
    let server_log = server.wait_for_exit();
    assert!(
        runner
            .stderr
            .contains("6 spans exported, 0 dropped, 0 export errors"),
        "{}",
        runner.stderr
    );
    assert!(
        server_log.contains("5 spans exported, 0 dropped, 0 export errors"),
        "{server_log}"
    );
    let Some(trace_id) = runner
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("trace_id="))
    else {
        panic!("remote_runner printed no trace id:\n{}", runner.stdout);
    };

    let spans = phoenix.wait_for_spans(&project, 11);
    let tree = render_tree(&spans);
    assert_eq!(
        tree, CROSS_PROCESS_TREE,
        "Phoenix stored this tree:\n{tree}"
    );
    assert_eq!(spans.len(), 11, "{tree}");
    assert!(
        spans.iter().all(|s| s.trace_id == trace_id),
        "not all spans in trace {trace_id}:\n{tree}"
    );

    // The link across the process boundary: each server span's parent is the client span
    // that sent its request, whose id the runner put in `traceparent`.
    let servers = named(&spans, "POST /tools/{name}");
    let clients = named(&spans, "POST");
    assert_eq!((servers.len(), clients.len()), (2, 2));
    for server in &servers {
        let Some(client) = clients
            .iter()
            .find(|c| Some(&c.span_id) == server.parent_id.as_ref())
        else {
            panic!(
                "server span {} has no client parent:\n{tree}",
                server.span_id
            );
        };
        server.assert_attrs(&[
            ("http.request.method", json!("POST")),
            ("http.route", json!("/tools/{name}")),
        ]);
        client.assert_attrs(&[("http.request.method", json!("POST"))]);
        let path = server.attr_text("url.path").unwrap_or_default();
        assert!(path.starts_with("/tools/"), "url.path = {path:?}");
        assert_eq!(
            client.attr_text("url.full"),
            Some(format!("{tools_url}{path}"))
        );
    }
    let failed_tool = named(&spans, "tool.handle")
        .into_iter()
        .find(|s| s.status == "ERROR")
        .map(|s| s.status_message.as_str());
    assert_eq!(failed_tool, Some("flight API did not answer in time"));

    phoenix.delete_project(&project);
}
