#!/usr/bin/env python3
"""The Python `a2a-sdk` client, as the gateway's tests drive it. Runs under either venv:
.tools/venv-a2a (a2a-sdk 1.3: speaks 1.0, or 0.3 when the card says so) or .tools/venv-a2a03 (a2a-sdk 0.3).

    a2a_client.py --url URL --text TEXT [--stream] [--rest] [--header 'K: V' ...]

URL is the agent's base (its card is fetched from URL/.well-known/agent-card.json, and the client then follows
the card). Sends one message, then fetches the task again with get_task. Prints one JSON object:
  {"card_url", "events": [{"kind", "at"}...], "task_id", "text", "get_task_state"}
On failure prints `a2a_client: <Error>: <message>` to stderr and exits 1.
"""

import argparse
import asyncio
import json
import sys
import time
import uuid
from importlib.metadata import version as pkg_version

import httpx

V1 = not pkg_version("a2a-sdk").startswith("0.")


async def run(args) -> dict:
    headers = dict(h.split(": ", 1) for h in args.header)
    http = httpx.AsyncClient(headers=headers, timeout=30)
    out = {"events": [], "task_id": None, "text": [], "get_task_state": None}
    start = time.monotonic()
    if V1:
        from a2a.client import ClientConfig, ClientFactory
        from a2a.types.a2a_pb2 import GetTaskRequest, Message, Part, Role, SendMessageRequest

        bindings = ["HTTP+JSON"] if args.rest else ["JSONRPC"]
        factory = ClientFactory(
            ClientConfig(streaming=args.stream, httpx_client=http, supported_protocol_bindings=bindings)
        )
        client = await factory.create_from_url(args.url)
        message = Message(message_id=str(uuid.uuid4()), role=Role.ROLE_USER, parts=[Part(text=args.text)])
        async for response in client.send_message(SendMessageRequest(message=message)):
            kind = response.WhichOneof("payload")
            out["events"].append({"kind": kind, "at": round(time.monotonic() - start, 3)})
            if kind == "task":
                out["task_id"] = response.task.id
                for artifact in response.task.artifacts:
                    out["text"] += [p.text for p in artifact.parts if p.text]
            elif kind == "status_update":
                out["task_id"] = response.status_update.task_id
            elif kind == "artifact_update":
                out["task_id"] = response.artifact_update.task_id
                out["text"] += [p.text for p in response.artifact_update.artifact.parts if p.text]
            elif kind == "message":
                out["text"] += [p.text for p in response.message.parts if p.text]
        if out["task_id"]:
            task = await client.get_task(GetTaskRequest(id=out["task_id"]))
            out["get_task_state"] = task.status.state and __import__(
                "a2a.types.a2a_pb2", fromlist=["TaskState"]
            ).TaskState.Name(task.status.state)
    else:
        from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
        from a2a.types import Message, Part, Role, TaskQueryParams, TextPart

        card = await A2ACardResolver(http, args.url).get_agent_card()
        out["card_url"] = card.url
        client = ClientFactory(ClientConfig(streaming=args.stream, httpx_client=http)).create(card)
        message = Message(
            message_id=str(uuid.uuid4()), role=Role.user, parts=[Part(root=TextPart(text=args.text))]
        )
        async for item in client.send_message(message):
            if isinstance(item, Message):
                out["events"].append({"kind": "message", "at": round(time.monotonic() - start, 3)})
                out["text"] += [p.root.text for p in item.parts if hasattr(p.root, "text")]
                continue
            task, update = item
            kind = update.kind if update is not None else "task"
            out["events"].append({"kind": kind, "at": round(time.monotonic() - start, 3)})
            out["task_id"] = task.id
            if update is not None and update.kind == "artifact-update":
                out["text"] += [p.root.text for p in update.artifact.parts if hasattr(p.root, "text")]
            elif update is None:
                for artifact in task.artifacts or []:
                    out["text"] += [p.root.text for p in artifact.parts if hasattr(p.root, "text")]
        if out["task_id"]:
            task = await client.get_task(TaskQueryParams(id=out["task_id"]))
            out["get_task_state"] = task.status.state.value
    await http.aclose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--text", required=True)
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--rest", action="store_true", help="a2a-sdk 1.x: use the HTTP+JSON binding")
    parser.add_argument("--header", action="append", default=[])
    args = parser.parse_args()
    try:
        print(json.dumps(asyncio.run(run(args))), flush=True)
    except Exception as e:  # noqa: BLE001 - reported to the test, which asserts on it
        print(f"a2a_client: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
