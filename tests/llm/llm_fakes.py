"""A scripted OpenAI/Anthropic server on 127.0.0.1, reply bodies and Spec content for tests.

The server speaks just enough of OpenAI chat completions (``POST /v1/chat/completions``)
and Anthropic messages (``POST /v1/messages``) for the real SDKs: each request pops the
next scripted reply of its API and is recorded (path, headers, JSON body).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from dlgen.agent.analysis import Analysis
from dlgen.i18n import detect_language
from dlgen.spec import Spec

OPENAI_KEY = "sk-test-OPENAI0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-test-ANTHROPIC0123456789"
REQUEST = "ViT on CIFAR-10 with patch size 4, hidden size 192, 6 layers, 3 heads, batch size 128"


@dataclass
class Scripted:
    """One scripted HTTP reply."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Recorded:
    """One request the server received."""

    path: str
    headers: dict[str, str]
    body: Any


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("content-length", 0))
        raw = self.rfile.read(length)
        body = json.loads(raw) if raw else None
        fake = self.server.fake
        api = "anthropic" if self.path.rstrip("/").endswith("/v1/messages") else "openai"
        with fake.lock:
            fake.requests.append(Recorded(self.path, dict(self.headers), body))
            queue = fake.queues[api]
            item = queue.popleft() if queue else Scripted(500, {"error": {"message": "unscripted"}})
        if item.delay:
            time.sleep(item.delay)
        payload = json.dumps(item.body).encode()
        try:
            self.send_response(item.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            if item.status == 429 or item.status >= 500:
                self.send_header("retry-after-ms", "5")  # keep the SDKs' backoff tiny
            for name, value in item.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and went away


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeLLMServer


class FakeLLMServer:
    """Scripted replies per API, and every request received."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.queues: dict[str, deque[Scripted]] = {"openai": deque(), "anthropic": deque()}
        self.requests: list[Recorded] = []
        self._http = _Server(("127.0.0.1", 0), _Handler)
        self._http.fake = self
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def script(self, api: str, *items: Scripted) -> None:
        self.queues[api].extend(items)

    def bodies(self) -> list[Any]:
        return [r.body for r in self.requests]


# Reply bodies -------------------------------------------------------------------------------


def openai_reply(
    content: str | None,
    finish_reason: str = "stop",
    refusal: str | None = None,
    tokens: tuple[int, int] = (100, 40),
) -> Scripted:
    """A chat completion."""
    return Scripted(
        body={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": "test-model",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": finish_reason,
                    "logprobs": None,
                    "message": {"role": "assistant", "content": content, "refusal": refusal},
                }
            ],
            "usage": {
                "prompt_tokens": tokens[0],
                "completion_tokens": tokens[1],
                "total_tokens": sum(tokens),
            },
        }
    )


def anthropic_reply(
    text: str | None = None,
    tool_input: Any = None,
    stop: str = "end_turn",
    tokens: tuple[int, int] = (100, 40),
) -> Scripted:
    """A message with a text block, or a tool_use block."""
    content: list[dict[str, Any]] = []
    if text is not None:
        content.append({"type": "text", "text": text})
    if tool_input is not None:
        content.append(
            {"type": "tool_use", "id": "toolu_1", "name": "dlgen_spec", "input": tool_input}
        )
    return Scripted(
        body={
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "test-model",
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": tokens[0], "output_tokens": tokens[1]},
        }
    )


def error_reply(api: str, status: int, message: str, **headers: str) -> Scripted:
    """An API error body in the style of ``api``."""
    if api == "anthropic":
        body = {"type": "error", "error": {"type": "api_error", "message": message}}
    else:
        body = {"error": {"message": message, "type": "invalid_request_error", "code": None}}
    return Scripted(status=status, body=body, headers=headers)


def reply_for(api: str, content: str) -> Scripted:
    """A successful reply carrying ``content`` as the model's JSON text."""
    return openai_reply(content) if api == "openai" else anthropic_reply(text=content)


# Spec content -------------------------------------------------------------------------------


def llm_content(**changes: Any) -> dict[str, Any]:
    """What a model would return for REQUEST: the LLM-facing fields of a valid Spec."""
    data: dict[str, Any] = {
        "name": "vit_cifar10",
        "task": "image_classification",
        "modality": "image",
        "framework": "pytorch",
        "dataset": {
            "name": "cifar10",
            "modality": "image",
            "source": "torchvision",
            "input_shape": [3, 32, 32],
            "in_channels": 3,
            "num_classes": 10,
            "vocab_size": None,
            "output_shape": None,
            "root": "data",
            "download": False,
        },
        "model": {
            "family": "vit",
            "variant": None,
            "patch_size": 4,
            "hidden_dim": 192,
            "num_layers": 6,
            "num_heads": 3,
        },
        "training": {"batch_size": 128, "epochs": 100},
        "assumptions": ["No epochs given; using 100."],
    }
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = data
        for part in parents:
            node = node[part]
        node[last] = value
    return data


def as_text(data: dict[str, Any]) -> str:
    return json.dumps(data)


def fake_offline_analysis(
    request: str, explicit: dict[str, Any] | None = None, **changes: Any
) -> Analysis:
    """A stand-in for the offline analyzer's result on REQUEST."""
    data = llm_content(**changes)
    data["request"] = request
    data["language"] = detect_language(request)
    spec = Spec.model_validate(data)
    return Analysis(spec=spec, backend="offline", explicit=dict(explicit or {}))


def family_spec(key: str, **overrides: Any) -> Spec:
    """A valid Spec of family ``key`` on its default dataset and variant."""
    from dlgen import catalog

    family = catalog.family(key)
    task = family.default_task
    entry = catalog.dataset(family.default_datasets[task])
    variant = family.variant(family.default_variant) if family.default_variant else None
    dataset = {**entry.spec_fields(), **(variant.dataset_overrides if variant else {})}
    model = {
        "family": key,
        "variant": family.default_variant,
        **(variant.hparams if variant else {}),
    }
    data = {
        "name": f"p_{key}",
        "task": task,
        "modality": entry.modality,
        "dataset": dataset,
        "model": model,
        **overrides,
    }
    return Spec.model_validate(data)
