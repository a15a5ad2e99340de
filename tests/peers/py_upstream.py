#!/usr/bin/env python3
"""An upstream MCP server built on the Python `mcp` 2.x SDK, for gateway tests.

It serves both protocol eras on one endpoint (the SDK does that by itself):
2026-07-28 (stateless, `server/discover`) and the session era (`initialize`,
`Mcp-Session-Id`). Elicitation and sampling are declared with the SDK's
`Resolve(...)` markers, so the SDK sends them as server->client requests on
session-era connections and as `InputRequiredResult` rounds on 2026-07-28.

    py_upstream.py [--transport streamable-http|sse|stdio] [--host 127.0.0.1]
                   [--port N] [--name NAME]

With --transport streamable-http the endpoint is http://HOST:PORT/mcp; with
--transport sse (the legacy HTTP+SSE transport) it is http://HOST:PORT/sse. Once the
socket accepts connections it prints exactly one line `LISTENING <port>` to
stdout (so `--port 0`, a free port chosen by the kernel, can be read by tests).
Logs go to stderr. --name only sets serverInfo.name; tool names never change.

Tools:     echo{text}, add{a,b} (structured {sum}), slow{seconds,steps}
           (progress, cancellable), fail{}, ask_user{question} (elicitation),
           sample_llm{prompt} (sampling)
Resources: memo://readme, template memo://notes/{id}
Prompts:   greet{name} (with completion for `name`)
"""

from __future__ import annotations

import argparse
import sys
from typing import Annotated

import anyio
from mcp.server.mcpserver import (
    Context,
    Elicit,
    ElicitationResult,
    MCPServer,
    Resolve,
    Sample,
)
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import (
    Completion,
    CompletionArgument,
    CompletionContext,
    CreateMessageResult,
    PromptReference,
    ResourceTemplateReference,
    SamplingMessage,
    TextContent,
)
from pydantic import BaseModel, Field

from serve import serve_sse, serve_streamable_http

README_TEXT = "py_upstream: a test upstream for agent-gateway.\n"
GREET_NAMES = ["Alice", "Albert", "Bob", "Carol"]


class AddResult(BaseModel):
    """Structured result of `add`; its JSON schema becomes the tool's outputSchema."""

    sum: float


class Answer(BaseModel):
    """What `ask_user` elicits from the user."""

    answer: str = Field(description="The user's answer")


def _ask_question(question: str) -> Elicit[Answer]:
    # Resolvers receive tool arguments by name.
    return Elicit(question, Answer)


def _sample_prompt(prompt: str) -> Sample:
    return Sample(
        [SamplingMessage(role="user", content=TextContent(type="text", text=prompt))],
        max_tokens=100,
    )


def build_server(name: str) -> MCPServer:
    # Only `add` returns structured content; the text tools are kept
    # unstructured (the SDK would otherwise wrap a `str` return as {"result": ...}).
    mcp = MCPServer(name, version="1.0.0", instructions="Test upstream for agent-gateway.")

    @mcp.tool(description="Echo the given text back.", structured_output=False)
    def echo(text: str) -> str:
        return text

    @mcp.tool(description="Add two numbers; returns structured content {sum}.")
    def add(a: float, b: float) -> AddResult:
        return AddResult(sum=a + b)

    @mcp.tool(description="Sleep `seconds` in `steps` steps, reporting progress after each; cancellable.", structured_output=False)
    async def slow(ctx: Context, seconds: float = 1.0, steps: int = 5) -> str:
        steps = max(1, steps)
        try:
            for i in range(1, steps + 1):
                await anyio.sleep(seconds / steps)
                await ctx.report_progress(i, steps, f"step {i}/{steps}")
        except anyio.get_cancelled_exc_class():
            # Tests look for this line to prove cancellation reached the upstream.
            print(f"slow: cancelled (request {ctx.request_id})", file=sys.stderr, flush=True)
            raise
        return f"slept {seconds}s in {steps} steps"

    @mcp.tool(description="Always fails with a tool error (isError: true).", structured_output=False)
    def fail() -> str:
        raise ToolError("fail: this tool always fails")

    @mcp.tool(description="Ask the user a question through elicitation.", structured_output=False)
    async def ask_user(
        question: str,
        reply: Annotated[ElicitationResult[Answer], Resolve(_ask_question)],
    ) -> str:
        if reply.action == "accept":
            return f"user answered: {reply.data.answer}"
        return f"user {reply.action}"

    @mcp.tool(description="Ask the client's LLM to complete a prompt (sampling).", structured_output=False)
    async def sample_llm(
        prompt: str,
        sampled: Annotated[CreateMessageResult, Resolve(_sample_prompt)],
    ) -> str:
        content = sampled.content
        text = content.text if isinstance(content, TextContent) else str(content)
        return f"llm said: {text}"

    @mcp.resource("memo://readme", name="readme", description="A short text memo.", mime_type="text/plain")
    def readme() -> str:
        return README_TEXT

    @mcp.resource("memo://notes/{id}", name="note", description="Note number {id}.", mime_type="text/plain")
    def note(id: str) -> str:
        return f"note {id}"

    @mcp.prompt(description="Greet someone by name.")
    def greet(name: str) -> str:
        return f"Please greet {name} warmly."

    @mcp.completion()
    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        if isinstance(ref, PromptReference) and ref.name == "greet" and argument.name == "name":
            values = [n for n in GREET_NAMES if n.lower().startswith(argument.value.lower())]
            return Completion(values=values, total=len(values), has_more=False)
        return None

    return mcp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transport", choices=["streamable-http", "sse", "stdio"], default="streamable-http")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (see LISTENING line)")
    parser.add_argument("--name", default="py-upstream", help="serverInfo.name")
    args = parser.parse_args()

    mcp = build_server(args.name)
    if args.transport == "stdio":
        mcp.run()  # stdio: stdout carries JSON-RPC, so no LISTENING line
    elif args.transport == "sse":
        serve_sse(mcp, host=args.host, port=args.port)  # legacy HTTP+SSE: GET /sse
    else:
        serve_streamable_http(mcp, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
