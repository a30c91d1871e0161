"""The messages, parts and documents of GenAI attributes, in both forms instrumentations
write them: the conventions' structured `gen_ai.input.messages` (`role`, `parts`), and
OpenLLMetry's indexed `gen_ai.prompt.0.role` / `gen_ai.prompt.0.content` attributes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from thirdbook.domain.events import RetrievedDocument
from thirdbook.domain.otlp_values import as_text, structured


def documents(value: Any) -> list[RetrievedDocument]:
    docs = structured(value)
    if not isinstance(docs, list):
        return []
    out = []
    for doc in docs:
        if isinstance(doc, Mapping) and doc.get("id") is not None:
            text = doc.get("content", doc.get("text"))
            out.append(
                RetrievedDocument(
                    id=str(doc["id"]),
                    text=as_text(text),
                    content_hash=as_text(doc.get("content_hash")),
                )
            )
    return out


@dataclass
class Message:
    role: str
    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    tool_responses: list[dict[str, str]] = field(default_factory=list)

    def transcript(self, with_role: bool = True) -> str:
        calls = [f"[tool call {c.get('name')} {c.get('arguments') or ''}]" for c in self.tool_calls]
        body = "\n".join(x for x in (self.text, *calls) if x).strip()
        if not body:
            return ""
        return f"{self.role}: {body}" if with_role else body


def texts(value: Any) -> str:
    """The text parts of a GenAI `parts` list (or of a plain string)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        return ""
    texts = []
    for part in value:
        if isinstance(part, Mapping) and part.get("type", "text") == "text":
            texts.append(as_text(part.get("content")) or "")
        elif isinstance(part, str):
            texts.append(part)
    return "\n".join(t for t in texts if t)


def messages(attrs: Mapping[str, Any], key: str, legacy: str) -> list[Message]:
    value = structured(attrs.get(key))
    if isinstance(value, list):
        return [m for m in (_message(v) for v in value) if m is not None]
    return list(_legacy_messages(attrs, legacy))


def _message(value: Any) -> Message | None:
    if not isinstance(value, Mapping):
        return None
    message = Message(role=str(value.get("role") or "user"))
    parts = value.get("parts")
    if not isinstance(parts, list):
        message.text = as_text(value.get("content")) or ""
        return message
    message.text = texts(parts)
    for part in parts:
        if not isinstance(part, Mapping):
            continue
        if part.get("type") == "tool_call":
            message.tool_calls.append(
                {
                    "id": as_text(part.get("id")),
                    "name": as_text(part.get("name")),
                    "arguments": as_text(structured(part.get("arguments"))),
                }
            )
        elif part.get("type") == "tool_call_response":
            message.tool_responses.append(
                {
                    "id": as_text(part.get("id")) or "",
                    "text": as_text(structured(part.get("response"))) or "",
                }
            )
    return message


def _legacy_messages(attrs: Mapping[str, Any], prefix: str) -> Iterable[Message]:
    """OpenLLMetry's indexed form: `gen_ai.prompt.0.role`, `gen_ai.prompt.0.content`,
    `gen_ai.completion.0.tool_calls.0.name`..."""
    index = 0
    while True:
        base = f"{prefix}.{index}"
        role, content = attrs.get(f"{base}.role"), attrs.get(f"{base}.content")
        calls_key = f"{base}.tool_calls.0.name"
        if role is None and content is None and calls_key not in attrs:
            return
        message = Message(role=as_text(role) or "user", text=texts(structured(content)))
        call = 0
        while f"{base}.tool_calls.{call}.name" in attrs:
            message.tool_calls.append(
                {
                    "id": as_text(attrs.get(f"{base}.tool_calls.{call}.id")),
                    "name": as_text(attrs.get(f"{base}.tool_calls.{call}.name")),
                    "arguments": as_text(attrs.get(f"{base}.tool_calls.{call}.arguments")),
                }
            )
            call += 1
        if message.role == "tool":
            call_id = as_text(attrs.get(f"{base}.tool_call_id")) or ""
            message.tool_responses.append({"id": call_id, "text": message.text})
            message.text = ""
        yield message
        index += 1
