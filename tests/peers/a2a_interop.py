#!/usr/bin/env python3
"""One interop run of the Python `a2a-sdk` client against one agent (directly or through the gateway).
Runs under either venv: .tools/venv-a2a (a2a-sdk 1.3) or .tools/venv-a2a03 (a2a-sdk 0.3).

    a2a_interop.py --url URL [--rest] [--header 'K: V' ...]

URL is the agent's base; the client follows its card. The agent is tests/peers/a2a_agent.py. Each operation
runs on its own and reports "ok" or "FAIL: <why>"; list is "n/a" where the client speaks 0.3. Prints one
JSON object {operation: result} with the operations in this order:
  send         blocking send: a completed task with the forecast artifact
  get          get_task of that task: completed, with the same task id and context id as the send showed
  stream       streaming send: the forecast arrives, every event names one task and one context
  cancel       non-blocking send of a long task, then cancel_task: canceled
  resubscribe  non-blocking send of a long task, then resubscribe/subscribe: the first event names it
  list         list_tasks by the send's context: the task is listed under the id the send showed
"""

import argparse
import asyncio
import json
import uuid
from importlib.metadata import version as pkg_version

import httpx

V1 = not pkg_version("a2a-sdk").startswith("0.")
OPERATIONS = ["send", "get", "stream", "cancel", "resubscribe", "list"]


class Failed(Exception):
    pass


def check(condition, why):
    if not condition:
        raise Failed(why)


class V1Client:
    """a2a-sdk 1.x: `Client` with protobuf requests."""

    def __init__(self, http, url, rest):
        from a2a.client import ClientConfig, ClientFactory
        from a2a.types import a2a_pb2

        self.pb = a2a_pb2
        self.http, self.url = http, url
        self.bindings = ["HTTP+JSON"] if rest else ["JSONRPC"]
        self.factory = lambda streaming: ClientFactory(
            ClientConfig(streaming=streaming, httpx_client=http, supported_protocol_bindings=self.bindings)
        )

    async def client(self, streaming):
        return await self.factory(streaming).create_from_url(self.url)

    def message(self, text):
        pb = self.pb
        return pb.Message(message_id=str(uuid.uuid4()), role=pb.Role.ROLE_USER, parts=[pb.Part(text=text)])

    async def send(self, text, streaming=False, wait=True):
        """(task id, context id, texts, ids seen in every event)."""
        pb = self.pb
        request = pb.SendMessageRequest(
            message=self.message(text), configuration=pb.SendMessageConfiguration(return_immediately=not wait)
        )
        task_id, context_id, texts, seen = None, None, [], set()
        client = await self.client(streaming)
        async for response in client.send_message(request):
            kind = response.WhichOneof("payload")
            if kind == "task":
                task_id, context_id = response.task.id, response.task.context_id
                for artifact in response.task.artifacts:
                    texts += [p.text for p in artifact.parts if p.text]
                seen.add((response.task.id, response.task.context_id))
            elif kind in ("status_update", "artifact_update"):
                event = getattr(response, kind)
                seen.add((event.task_id, event.context_id))
                if kind == "artifact_update":
                    texts += [p.text for p in event.artifact.parts if p.text]
            if not wait and task_id:
                break
        return task_id, context_id, texts, seen

    async def get(self, task_id):
        task = await (await self.client(False)).get_task(self.pb.GetTaskRequest(id=task_id))
        return task.id, task.context_id, self.pb.TaskState.Name(task.status.state)

    async def cancel(self, task_id):
        task = await (await self.client(False)).cancel_task(self.pb.CancelTaskRequest(id=task_id))
        return self.pb.TaskState.Name(task.status.state)

    async def resubscribe(self, task_id):
        client = await self.client(True)
        async for response in client.subscribe(self.pb.SubscribeToTaskRequest(id=task_id)):
            kind = response.WhichOneof("payload")
            event = response.task if kind == "task" else getattr(response, kind)
            return event.id if kind == "task" else event.task_id
        return None

    async def list(self, context_id):
        listed = await (await self.client(False)).list_tasks(self.pb.ListTasksRequest(context_id=context_id))
        return [t.id for t in listed.tasks]


class V03Client:
    """a2a-sdk 0.3: `Client` with pydantic models, JSON-RPC."""

    def __init__(self, http, url, rest):
        from a2a import types
        from a2a.client import A2ACardResolver, ClientConfig, ClientFactory

        self.t = types
        self.http, self.url = http, url
        self.resolver = A2ACardResolver(http, url)
        self.factory = lambda streaming: ClientFactory(ClientConfig(streaming=streaming, httpx_client=http))

    async def client(self, streaming):
        return self.factory(streaming).create(await self.resolver.get_agent_card())

    async def send(self, text, streaming=False, wait=True):
        t = self.t
        message = t.Message(
            message_id=str(uuid.uuid4()), role=t.Role.user, parts=[t.Part(root=t.TextPart(text=text))]
        )
        configuration = t.MessageSendConfiguration(blocking=wait)
        task_id, context_id, texts, seen = None, None, [], set()
        client = await self.client(streaming)
        async for item in client.send_message(message, configuration=configuration):
            if isinstance(item, t.Message):
                texts += [p.root.text for p in item.parts if hasattr(p.root, "text")]
                continue
            task, update = item
            task_id, context_id = task.id, task.context_id
            seen.add((task.id, task.context_id))
            if update is not None:
                seen.add((update.task_id, update.context_id))
                if update.kind == "artifact-update":
                    texts += [p.root.text for p in update.artifact.parts if hasattr(p.root, "text")]
            else:
                for artifact in task.artifacts or []:
                    texts += [p.root.text for p in artifact.parts if hasattr(p.root, "text")]
            if not wait:
                break
        return task_id, context_id, texts, seen

    async def get(self, task_id):
        task = await (await self.client(False)).get_task(self.t.TaskQueryParams(id=task_id))
        return task.id, task.context_id, task.status.state.value

    async def cancel(self, task_id):
        task = await (await self.client(False)).cancel_task(self.t.TaskIdParams(id=task_id))
        return task.status.state.value

    async def resubscribe(self, task_id):
        client = await self.client(True)
        async for task, _update in client.resubscribe(self.t.TaskIdParams(id=task_id)):
            return task.id
        return None

    async def list(self, context_id):
        raise NotImplementedError


def state(name):
    """`TASK_STATE_COMPLETED` (1.x) and `completed` (0.3) alike."""
    return name.lower().removeprefix("task_state_").replace("_", "-")


async def run(args) -> dict:
    headers = dict(h.split(": ", 1) for h in args.header)
    http = httpx.AsyncClient(headers=headers, timeout=30)
    sdk = (V1Client if V1 else V03Client)(http, args.url, args.rest)
    out, sent = {}, {}

    async def send():
        task_id, context_id, texts, _ = await sdk.send("Tampa")
        check(task_id, "no task")
        check(any("Forecast for Tampa" in t for t in texts), f"no forecast in {texts}")
        sent.update(task=task_id, context=context_id)

    async def get():
        check(sent, "no task from send")
        task_id, context_id, status = await sdk.get(sent["task"])
        check(state(status) == "completed", f"state {status}")
        check((task_id, context_id) == (sent["task"], sent["context"]), "other ids than the send showed")

    async def stream():
        task_id, _, texts, seen = await sdk.send("Orlando", streaming=True)
        check(any("Forecast for Orlando" in t for t in texts), f"no forecast in {texts}")
        check(len(seen) == 1, f"{len(seen)} distinct (task, context) pairs in one stream")

    async def cancel():
        task_id, _, _, _ = await sdk.send("wait Miami", wait=False)
        check(task_id, "no task")
        status = await sdk.cancel(task_id)
        check(state(status) == "canceled", f"state {status}")

    async def resubscribe():
        # "slow": the artifact comes a second after the task starts, so a 0.3 agent (which sends nothing
        # on resubscribing until the task changes) has an event for the new subscriber too.
        task_id, _, _, _ = await sdk.send("slow wait Denver", wait=False)
        check(task_id, "no task")
        first = await asyncio.wait_for(sdk.resubscribe(task_id), 10)
        await sdk.cancel(task_id)
        check(first == task_id, f"the stream names {first}")

    async def list_():
        if not V1:
            return "n/a"
        check(sent, "no task from send")
        try:
            listed = await sdk.list(sent["context"])
        except Exception as e:
            # A 0.3 agent has no ListTasks: answered "method not found" (through a translating gateway).
            if type(e).__name__ == "MethodNotFoundError":
                return "n/a"
            raise
        check(sent["task"] in listed, f"{sent['task']} not in {listed}")

    for name, op in zip(OPERATIONS, [send, get, stream, cancel, resubscribe, list_]):
        try:
            out[name] = (await asyncio.wait_for(op(), 20)) or "ok"
        except NotImplementedError:
            out[name] = "n/a"  # an operation the protocol version in use does not have
        except Exception as e:  # noqa: BLE001 - the table records every failure
            out[name] = f"FAIL: {type(e).__name__}: {str(e)[:160]}"
    await http.aclose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--rest", action="store_true", help="a2a-sdk 1.x: use the HTTP+JSON binding")
    parser.add_argument("--header", action="append", default=[])
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()
