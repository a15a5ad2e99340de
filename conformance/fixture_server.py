#!/usr/bin/env python3
"""The MCP upstream that the @modelcontextprotocol/conformance server scenarios expect.

Built on the Python `mcp` 2.x SDK (MCPServer), served over streamable HTTP at
http://HOST:PORT/mcp. Every fixture tool, resource and prompt below is named
and shaped as the conformance package's scenario sources (and its reference
TypeScript "everything-server") describe them; the expected texts are copied
from the scenario descriptions.

    fixture_server.py [--host 127.0.0.1] [--port N]

`--port 0` picks a free port; once the socket accepts connections the server
prints exactly one line `LISTENING <port>` to stdout. Logs go to stderr.

Server->client requests (sampling, elicitation) work in both protocol eras:
on a session-era connection they are sent mid-call on the request's stream;
on 2026-07-28 they are returned as an `InputRequiredResult` and answered when
the client retries. The 2026-07-28 diagnostic tools of the `server-stateless`
scenario (test_missing_capability, test_streaming_elicitation,
test_logging_tool, test_trigger_tool_change, test_trigger_prompt_change) are
here too, and the SEP-2322 `test_input_required_result_*` tools and prompt
(fixtures/mrtr.py). Definitions shared with the other fixtures come from
conformance/fixtures/scenarios.json.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp.server.mcpserver import Audio, Context, Image, MCPServer
from mcp.server.mcpserver.prompts.base import Prompt
from mcp.shared.exceptions import MCPError
from mcp.server.mcpserver.prompts.base import UserMessage
from mcp.server.streamable_http import EventCallback, EventId, EventMessage, EventStore, StreamId
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

# The peers folder holds the shared "bind, serve, print LISTENING" helper; fixtures/ the SEP-2322 tools.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "peers"))
sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
import mrtr  # noqa: E402
from serve import serve_streamable_http  # noqa: E402

# 1x1 red PNG and a minimal WAV, as in the reference conformance server.
TEST_IMAGE_BASE64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
TEST_AUDIO_BASE64 = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA="
TEST_IMAGE = base64.b64decode(TEST_IMAGE_BASE64)
TEST_AUDIO = base64.b64decode(TEST_AUDIO_BASE64)

# What the suite's scenarios ask of every fixture, as data (shared with typescript.cjs and rmcp/).
SCENARIOS: dict[str, Any] = json.loads((Path(__file__).resolve().parent / "fixtures" / "scenarios.json").read_text())

# SEP-1613 and SEP-2106: must reach the client verbatim ($schema, $defs with $anchor,
# additionalProperties, allOf/anyOf, if/then/else).
JSON_SCHEMA_2020_12_INPUT_SCHEMA: dict[str, Any] = next(
    t["inputSchema"] for t in SCENARIOS["tools"] if t["name"] == "json_schema_2020_12_tool"
)

ELICITATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "username": {"type": "string", "description": "User's response"},
        "email": {"type": "string", "description": "User's email address"},
    },
    "required": ["username", "email"],
}

# SEP-1034: a default for every primitive type.
SEP1034_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "User name", "default": "John Doe"},
        "age": {"type": "integer", "description": "User age", "default": 30},
        "score": {"type": "number", "description": "User score", "default": 95.5},
        "status": {
            "type": "string",
            "description": "User status",
            "enum": ["active", "inactive", "pending"],
            "default": "active",
        },
        "verified": {"type": "boolean", "description": "Verification status", "default": True},
    },
    "required": [],
}

# SEP-1330: all five enum shapes.
SEP1330_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "untitledSingle": {
            "type": "string",
            "description": "Select one option",
            "enum": ["option1", "option2", "option3"],
        },
        "titledSingle": {
            "type": "string",
            "description": "Select one option with titles",
            "oneOf": [
                {"const": "value1", "title": "First Option"},
                {"const": "value2", "title": "Second Option"},
                {"const": "value3", "title": "Third Option"},
            ],
        },
        "legacyEnum": {
            "type": "string",
            "description": "Select one option (legacy)",
            "enum": ["opt1", "opt2", "opt3"],
            "enumNames": ["Option One", "Option Two", "Option Three"],
        },
        "untitledMulti": {
            "type": "array",
            "description": "Select multiple options",
            "minItems": 1,
            "maxItems": 3,
            "items": {"type": "string", "enum": ["option1", "option2", "option3"]},
        },
        "titledMulti": {
            "type": "array",
            "description": "Select multiple options with titles",
            "minItems": 1,
            "maxItems": 3,
            "items": {
                "anyOf": [
                    {"const": "value1", "title": "First Choice"},
                    {"const": "value2", "title": "Second Choice"},
                    {"const": "value3", "title": "Third Choice"},
                ]
            },
        },
    },
    "required": [],
}

LOG_LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]


class InMemoryEventStore(EventStore):
    """Keeps every SSE event so a client can resume a stream with Last-Event-ID (SEP-1699)."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        # event id -> (stream id, message or None for priming events), in order.
        self._events: dict[EventId, tuple[StreamId, types.JSONRPCMessage | None]] = {}

    async def store_event(self, stream_id: StreamId, message: types.JSONRPCMessage | None) -> EventId:
        event_id = f"{next(self._counter):012d}"
        self._events[event_id] = (stream_id, message)
        return event_id

    async def replay_events_after(self, last_event_id: EventId, send_callback: EventCallback) -> StreamId | None:
        if last_event_id not in self._events:
            return None
        stream_id = self._events[last_event_id][0]
        for event_id, (sid, message) in self._events.items():
            if sid == stream_id and event_id > last_event_id and message is not None:
                await send_callback(EventMessage(message, event_id))
        return stream_id


def _is_modern(ctx: Context) -> bool:
    return ctx.protocol_version in MODERN_PROTOCOL_VERSIONS


async def ask_client(
    ctx: Context, key: str, request: types.ElicitRequest | types.CreateMessageRequest
) -> types.ElicitResult | types.CreateMessageResult | types.InputRequiredResult:
    """Send `request` to the client in whichever way the connection's era allows.

    Session era: a server->client JSON-RPC request on this call's stream.
    2026-07-28: the first round returns an InputRequiredResult naming the
    request under `key`; the client's retry carries the answer in
    input_responses, which is returned here.
    """
    if _is_modern(ctx):
        answer = (ctx.input_responses or {}).get(key)
        if answer is not None:
            return answer
        return types.InputRequiredResult(input_requests={key: request})
    if isinstance(request, types.ElicitRequest):
        params = request.params
        assert isinstance(params, types.ElicitRequestFormParams)
        return await ctx.session.elicit_form(params.message, params.requested_schema, related_request_id=ctx.request_id)
    return await ctx.session.create_message(
        request.params.messages, max_tokens=request.params.max_tokens, related_request_id=ctx.request_id
    )


def require(ctx: Context, capability: str) -> None:
    """-32021 when the client (its 2026-07-28 `_meta`, or its session) did not declare `capability`."""
    declared = ctx.client_capabilities
    if declared is None or getattr(declared, capability, None) is None:
        raise MCPError(
            code=types.MISSING_REQUIRED_CLIENT_CAPABILITY,
            message="Missing required client capability",
            data={"requiredCapabilities": {capability: {}}},
        )


def question(name: str) -> types.ElicitRequest | types.CreateMessageRequest:
    """One of scenarios.json's questions, as the SDK's request type."""
    raw = SCENARIOS["questions"][name]
    if raw["method"] == "elicitation/create":
        return elicit_request(raw["params"]["message"], raw["params"]["requestedSchema"])
    return types.CreateMessageRequest.model_validate(raw)


def elicit_request(message: str, schema: dict[str, Any]) -> types.ElicitRequest:
    return types.ElicitRequest(params=types.ElicitRequestFormParams(message=message, requested_schema=schema))


def text(value: str) -> types.TextContent:
    return types.TextContent(type="text", text=value)


def build_server() -> MCPServer:
    mcp = MCPServer("mcp-conformance-test-server", version="1.0.0")
    state: dict[str, Any] = {
        "log_level": "debug",
        "level_set": False,
        "subscriptions": set(),
        "addedTool": 0,
        "addedPrompt": 0,
    }

    # ----- tools -----

    @mcp.tool(description="Tests simple text content response", structured_output=False)
    def test_simple_text() -> str:
        return "This is a simple text response for testing."

    @mcp.tool(description="Tests image content response", structured_output=False)
    def test_image_content() -> Image:
        return Image(data=TEST_IMAGE, format="png")

    @mcp.tool(description="Tests audio content response", structured_output=False)
    def test_audio_content() -> Audio:
        return Audio(data=TEST_AUDIO, format="wav")

    @mcp.tool(description="Tests embedded resource content response", structured_output=False)
    def test_embedded_resource() -> types.EmbeddedResource:
        return types.EmbeddedResource(
            type="resource",
            resource=types.TextResourceContents(
                uri="test://embedded-resource", mime_type="text/plain", text="This is an embedded resource content."
            ),
        )

    @mcp.tool(description="Tests response with multiple content types (text, image, resource)", structured_output=False)
    def test_multiple_content_types() -> list[types.ContentBlock]:
        return [
            text("Multiple content types test:"),
            types.ImageContent(type="image", data=TEST_IMAGE_BASE64, mime_type="image/png"),
            types.EmbeddedResource(
                type="resource",
                resource=types.TextResourceContents(
                    uri="test://mixed-content-resource",
                    mime_type="application/json",
                    text=json.dumps({"test": "data", "value": 123}, separators=(",", ":")),
                ),
            ),
        ]

    @mcp.tool(description="Tests tool that emits log messages during execution", structured_output=False)
    async def test_tool_with_logging(ctx: Context) -> str:
        for i, message in enumerate(["Tool execution started", "Tool processing data", "Tool execution completed"]):
            if i:
                await anyio.sleep(0.05)
            if LOG_LEVELS.index("info") >= LOG_LEVELS.index(state["log_level"]):
                await ctx.log("info", message, logger_name="conformance-test-server")
        return "Tool with logging executed successfully"

    @mcp.tool(description="Tests tool that reports progress notifications", structured_output=False)
    async def test_tool_with_progress(ctx: Context) -> str:
        for i, value in enumerate([0, 50, 100]):
            if i:
                await anyio.sleep(0.05)
            await ctx.report_progress(value, 100, f"Completed step {i + 1} of 3")
        return "Tool with progress executed successfully"

    @mcp.tool(description="Tests error response handling", structured_output=False)
    def test_error_handling() -> types.CallToolResult:
        return types.CallToolResult(
            is_error=True, content=[text("This tool intentionally returns an error for testing")]
        )

    @mcp.tool(
        description=(
            "Tests SSE stream disconnection and client reconnection (SEP-1699). Server will close the "
            "stream mid-call and send the result after client reconnects."
        ),
        structured_output=False,
    )
    async def test_reconnection(ctx: Context) -> str:
        await ctx.close_sse_stream()
        await anyio.sleep(0.1)
        return (
            "Reconnection test completed successfully. If you received this, the client properly "
            "reconnected after stream closure."
        )

    @mcp.tool(description="Tests server-initiated sampling (LLM completion request)", structured_output=False)
    async def test_sampling(prompt: str, ctx: Context) -> str | types.InputRequiredResult:
        request = types.CreateMessageRequest(
            params=types.CreateMessageRequestParams(
                messages=[types.SamplingMessage(role="user", content=text(prompt))], max_tokens=100
            )
        )
        result = await ask_client(ctx, "sampling", request)
        if isinstance(result, types.InputRequiredResult):
            return result
        content = getattr(result, "content", None)
        return f"LLM response: {getattr(content, 'text', None) or 'No response'}"

    @mcp.tool(description="Tests server-initiated elicitation (user input request)", structured_output=False)
    async def test_elicitation(message: str, ctx: Context) -> str | types.InputRequiredResult:
        result = await ask_client(ctx, "elicitation", elicit_request(message, ELICITATION_SCHEMA))
        if isinstance(result, types.InputRequiredResult):
            return result
        return f"User response: action={result.action}, content={json.dumps(result.content or {})}"

    @mcp.tool(
        description="Tests elicitation with default values per SEP-1034", structured_output=False
    )
    async def test_elicitation_sep1034_defaults(ctx: Context) -> str | types.InputRequiredResult:
        request = elicit_request("Please review and update the form fields with defaults", SEP1034_SCHEMA)
        result = await ask_client(ctx, "sep1034", request)
        if isinstance(result, types.InputRequiredResult):
            return result
        return f"Elicitation completed: action={result.action}, content={json.dumps(result.content or {})}"

    @mcp.tool(description="Tests elicitation with enum schema improvements per SEP-1330", structured_output=False)
    async def test_elicitation_sep1330_enums(ctx: Context) -> str | types.InputRequiredResult:
        request = elicit_request("Please select options from the enum fields", SEP1330_SCHEMA)
        result = await ask_client(ctx, "sep1330", request)
        if isinstance(result, types.InputRequiredResult):
            return result
        return f"Elicitation completed: action={result.action}, content={json.dumps(result.content or {})}"

    @mcp.tool(
        description="Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)",
        structured_output=False,
    )
    def json_schema_2020_12_tool(name: str | None = None, address: dict[str, Any] | None = None) -> str:
        args = {k: v for k, v in {"name": name, "address": address}.items() if v is not None}
        return f"JSON Schema 2020-12 tool called with: {json.dumps(args)}"

    # ----- 2026-07-28 diagnostics (server-stateless) -----

    @mcp.tool(description="Needs the client's sampling capability: -32021 without it", structured_output=False)
    async def test_missing_capability(ctx: Context) -> str | types.InputRequiredResult:
        require(ctx, "sampling")
        result = await ask_client(ctx, "sampling", question("test_missing_capability"))
        return result if isinstance(result, types.InputRequiredResult) else "Sampled"

    @mcp.tool(description="Asks the client a question mid-call (elicitation)", structured_output=False)
    async def test_streaming_elicitation(ctx: Context) -> str | types.InputRequiredResult:
        require(ctx, "elicitation")
        result = await ask_client(ctx, "elicitation", question("test_streaming_elicitation"))
        return result if isinstance(result, types.InputRequiredResult) else f"Elicited: action={result.action}"

    @mcp.tool(description="Logs one message at info, only to a client that asked for it", structured_output=False)
    async def test_logging_tool(ctx: Context) -> str:
        # 2026-07-28: the SDK sends it only when the request's _meta set a logLevel.
        if _is_modern(ctx) or state["level_set"]:
            await ctx.log("info", "test_logging_tool ran", logger_name="conformance-test-server")
        return "Logged at info, if the client asked for it"

    def next_added(kind: str) -> dict[str, str]:
        """Name and description of the next entry a trigger adds (kind "addedTool" or "addedPrompt"):
        each call adds one more, so every call really changes the list."""
        state[kind] += 1
        return {"name": SCENARIOS[kind]["name"].replace("{n}", str(state[kind])),
                "description": SCENARIOS[kind]["description"]}

    @mcp.tool(description="Adds a tool (another on each call) and announces tools/list_changed", structured_output=False)
    async def test_trigger_tool_change(ctx: Context) -> str:
        mcp.add_tool(lambda: "A tool added at run time", structured_output=False, **next_added("addedTool"))
        await ctx.notify_tools_changed()
        return "Tool list changed"

    @mcp.tool(description="Adds a prompt (another on each call) and announces prompts/list_changed", structured_output=False)
    async def test_trigger_prompt_change(ctx: Context) -> str:
        mcp.add_prompt(Prompt.from_function(lambda: "A prompt added at run time", **next_added("addedPrompt")))
        await ctx.notify_prompts_changed()
        return "Prompt list changed"

    mrtr.register(mcp, SCENARIOS)

    # ----- resources -----

    @mcp.resource(
        "test://static-text", name="static-text", description="A static text resource for testing",
        mime_type="text/plain",
    )
    def static_text() -> str:
        return "This is the content of the static text resource."

    @mcp.resource(
        "test://static-binary", name="static-binary", description="A static binary resource (image) for testing",
        mime_type="image/png",
    )
    def static_binary() -> bytes:
        return TEST_IMAGE

    @mcp.resource(
        "test://template/{id}/data", name="template", description="A resource template with parameter substitution",
        mime_type="application/json",
    )
    def template(id: str) -> str:
        return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"}, separators=(",", ":"))

    @mcp.resource(
        "test://watched-resource", name="watched-resource", description="A resource that can be subscribed to",
        mime_type="text/plain",
    )
    def watched_resource() -> str:
        return "Watched resource content"

    # ----- prompts -----

    @mcp.prompt(description="A simple prompt without arguments")
    def test_simple_prompt() -> str:
        return "This is a simple prompt for testing."

    @mcp.prompt(description="A prompt with required arguments")
    def test_prompt_with_arguments(arg1: str, arg2: str) -> str:
        return f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"

    @mcp.prompt(description="A prompt that includes an embedded resource")
    def test_prompt_with_embedded_resource(resourceUri: str) -> list[UserMessage]:  # noqa: N803 - wire name
        return [
            UserMessage(
                types.EmbeddedResource(
                    type="resource",
                    resource=types.TextResourceContents(
                        uri=resourceUri, mime_type="text/plain", text="Embedded resource content for testing."
                    ),
                )
            ),
            UserMessage("Please process the embedded resource above."),
        ]

    @mcp.prompt(description="A prompt that includes image content")
    def test_prompt_with_image() -> list[UserMessage]:
        return [
            UserMessage(types.ImageContent(type="image", data=TEST_IMAGE_BASE64, mime_type="image/png")),
            UserMessage("Please analyze the image above."),
        ]

    @mcp.completion()
    async def complete(ref: Any, argument: types.CompletionArgument, context: Any) -> types.Completion:
        # Minimal, as the scenario allows: the endpoint must answer with a values array.
        return types.Completion(values=[], total=0, has_more=False)

    # SEP-1613: the SDK derives inputSchema from the signature; replace it with
    # the raw 2020-12 schema the scenario checks for (it is also what the SDK
    # validates tools/call arguments against).
    for tool in mcp._tool_manager.list_tools():  # noqa: SLF001 - no public setter for a raw schema
        if tool.name == "json_schema_2020_12_tool":
            tool.parameters = JSON_SCHEMA_2020_12_INPUT_SCHEMA

    # ----- handshake-era methods MCPServer has no decorator for -----
    # logging/setLevel and resources/(un)subscribe exist only before 2026-07-28;
    # the low-level Server takes handlers for them by method name.
    lowlevel = mcp._lowlevel_server  # noqa: SLF001

    async def set_level(ctx: Any, params: types.SetLevelRequestParams) -> types.EmptyResult:
        state["log_level"] = params.level
        state["level_set"] = True
        return types.EmptyResult()

    async def subscribe(ctx: Any, params: types.SubscribeRequestParams) -> types.EmptyResult:
        state["subscriptions"].add(str(params.uri))
        return types.EmptyResult()

    async def unsubscribe(ctx: Any, params: types.UnsubscribeRequestParams) -> types.EmptyResult:
        state["subscriptions"].discard(str(params.uri))
        return types.EmptyResult()

    lowlevel.add_request_handler("logging/setLevel", types.SetLevelRequestParams, set_level)
    lowlevel.add_request_handler("resources/subscribe", types.SubscribeRequestParams, subscribe)
    lowlevel.add_request_handler("resources/unsubscribe", types.UnsubscribeRequestParams, unsubscribe)
    return mcp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (see LISTENING line)")
    args = parser.parse_args()
    serve_streamable_http(
        build_server(),
        host=args.host,
        port=args.port,
        # Resumable streams for the SEP-1699 scenarios (priming event, retry
        # field, Last-Event-ID replay after test_reconnection closes its stream).
        event_store=InMemoryEventStore(),
        retry_interval=1000,
    )


if __name__ == "__main__":
    main()
