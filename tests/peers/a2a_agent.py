#!/usr/bin/env python3
"""A real A2A agent for the gateway's tests, built on the Python `a2a-sdk`.

Runs under either venv the installer makes:
  .tools/venv-a2a/bin/python    a2a-sdk 1.3: protocol 1.0 (JSON-RPC + HTTP+JSON), `--compat` adds 0.3 on the same
                                endpoints (`enable_v0_3_compat=True`) and a 0.3 interface in the card
  .tools/venv-a2a03/bin/python  a2a-sdk 0.3.x: protocol 0.3 only (JSON-RPC), like KAgent's agents

    a2a_agent.py [--port 0] [--name weather-agent] [--compat] [--signed] [--tls-cert PEM --tls-key PEM]

Prints exactly one line `LISTENING <port>` on stdout once connections are accepted; logs go to stderr.

Behaviour (the text of the user's message decides):
  starts with "hello"  -> a single Message "hello back: <text>" (no task)
  otherwise            -> a Task: working, one artifact "Forecast for <text>: sunny, 28C", completed
  contains "slow"      -> ~1 s between the stream's events (so tests can see they are not buffered)
  contains "wait"      -> stays working for 30 s after the artifact (so it can be cancelled)
`--signed` adds a (dummy) `signatures` entry to the card, so the gateway's handling of it can be tested.
`--tls-cert`/`--tls-key` serve https with that certificate (and the card names an https URL).
"""

import argparse
import asyncio
import logging
import socket
import sys

import uvicorn
from importlib.metadata import version as pkg_version

SDK = pkg_version("a2a-sdk")
V1 = not SDK.startswith("0.")

from a2a.server.agent_execution import AgentExecutor, RequestContext  # noqa: E402
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater  # noqa: E402

if V1:
    from a2a.helpers import new_task_from_user_message, new_text_message  # noqa: E402
    from a2a.server.request_handlers import DefaultRequestHandler  # noqa: E402
    from a2a.server.routes import (  # noqa: E402
        create_agent_card_routes,
        create_jsonrpc_routes,
        create_rest_routes,
    )
    from a2a.types.a2a_pb2 import (  # noqa: E402
        AgentCapabilities,
        AgentCard,
        AgentCardSignature,
        AgentInterface,
        AgentSkill,
        Part,
    )
    from starlette.applications import Starlette  # noqa: E402

    def text_part(text):
        return Part(text=text)

    def reply_message(text, context_id):
        return new_text_message(text, context_id=context_id)

    def task_for(message):
        return new_task_from_user_message(message)

else:
    from a2a.server.apps import A2AStarletteApplication  # noqa: E402
    from a2a.server.request_handlers import DefaultRequestHandler  # noqa: E402
    from a2a.types import (  # noqa: E402
        AgentCapabilities,
        AgentCard,
        AgentCardSignature,
        AgentSkill,
        Part,
        TextPart,
    )
    from a2a.utils import new_agent_text_message, new_task  # noqa: E402

    def text_part(text):
        return Part(root=TextPart(text=text))

    def reply_message(text, context_id):
        return new_agent_text_message(text, context_id=context_id)

    def task_for(message):
        return new_task(message)


log = logging.getLogger("a2a_agent")


class WeatherExecutor(AgentExecutor):
    async def execute(self, context: RequestContext, event_queue) -> None:
        text = context.get_user_input()
        log.info("execute: %r (task %s)", text, context.task_id)
        if text.startswith("hello"):
            await event_queue.enqueue_event(reply_message(f"hello back: {text}", context.context_id))
            return
        task = context.current_task
        if task is None:
            task = task_for(context.message)
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        delay = 1.0 if "slow" in text else 0.05
        await updater.start_work()
        await asyncio.sleep(delay)
        await updater.add_artifact([text_part(f"Forecast for {text}: sunny, 28C")], name="forecast")
        if "wait" in text:
            await asyncio.sleep(30)
        await asyncio.sleep(delay)
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue) -> None:
        log.info("cancel: task %s", context.task_id)
        await TaskUpdater(event_queue, context.task_id, context.context_id).cancel()


def build_app(name: str, base: str, compat: bool, signed: bool):
    skill = AgentSkill(
        id="forecast",
        name="Weather forecast",
        description="Forecasts and activity ideas for a city",
        tags=["weather"],
        examples=["Get weather forecast for Tampa, FL this weekend"],
    )
    signatures = [AgentCardSignature(protected="eyJhbGciOiJFUzI1NiJ9", signature="c2lnbmF0dXJl")] if signed else []
    if V1:
        interfaces = [
            AgentInterface(url=base, protocol_binding="JSONRPC", protocol_version="1.0"),
            AgentInterface(url=base, protocol_binding="HTTP+JSON", protocol_version="1.0"),
        ]
        if compat:
            # A 0.3 interface makes the SDK add the 0.3 card fields (`url`, `additionalInterfaces`, ...).
            interfaces.append(AgentInterface(url=base, protocol_binding="JSONRPC", protocol_version="0.3"))
        card = AgentCard(
            name=name,
            description="Weather agent (a2a-sdk %s%s)" % (SDK, ", 0.3 compat" if compat else ""),
            version="1.0.0",
            supported_interfaces=interfaces,
            capabilities=AgentCapabilities(streaming=True),
            default_input_modes=["text/plain"],
            default_output_modes=["text/plain"],
            skills=[skill],
            signatures=signatures,
        )
        handler = DefaultRequestHandler(
            agent_executor=WeatherExecutor(), task_store=InMemoryTaskStore(), agent_card=card
        )
        routes = []
        routes += create_agent_card_routes(card)
        routes += create_jsonrpc_routes(handler, "/", enable_v0_3_compat=compat)
        routes += create_rest_routes(handler, enable_v0_3_compat=compat)
        return Starlette(routes=routes)
    card = AgentCard(
        name=name,
        description="Weather agent (a2a-sdk %s)" % SDK,
        url=base,
        version="1.0.0",
        protocol_version="0.3.0",
        preferred_transport="JSONRPC",
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[skill],
        signatures=signatures or None,
    )
    handler = DefaultRequestHandler(agent_executor=WeatherExecutor(), task_store=InMemoryTaskStore())
    return A2AStarletteApplication(agent_card=card, http_handler=handler).build()


async def serve(args) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    port = sock.getsockname()[1]
    scheme = "https" if args.tls_cert else "http"
    # The card must name the agent's own address, as a deployed agent's card does.
    app = build_app(args.name, f"{scheme}://127.0.0.1:{port}/", args.compat, args.signed)
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", ssl_certfile=args.tls_cert, ssl_keyfile=args.tls_key
    )
    server = uvicorn.Server(config)

    async def announce():
        while not server.started:
            await asyncio.sleep(0.02)
        print(f"LISTENING {port}", flush=True)

    asyncio.get_running_loop().create_task(announce())
    await server.serve(sockets=[sock])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--name", default="weather-agent")
    parser.add_argument("--compat", action="store_true", help="a2a-sdk 1.x: also serve protocol 0.3")
    parser.add_argument("--signed", action="store_true", help="add a signatures entry to the card")
    parser.add_argument("--tls-cert", help="serve https with this certificate (PEM)")
    parser.add_argument("--tls-key", help="the certificate's private key (PEM)")
    args = parser.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="a2a_agent: %(message)s")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
