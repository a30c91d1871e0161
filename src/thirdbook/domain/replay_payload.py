"""A decision's captured prompt as an OpenAI-compatible chat request, exactly as logged.

Replay sends what the log holds, never a prompt re-compiled from its template: the system
text, each retrieved document (id, content hash, and its text where it was logged), each
tool output, then the user text. Documents and tool outputs travel as system messages whose
first line names what they are, so a server (the demo's, or a team's own wrapper) can read
the parts back with `captured_parts`:

    thirdbook-retrieved id=policy-cr7 content_hash=sha256:…
    <the document's text, or nothing when it was not logged>

    thirdbook-tool tool=bureau_lookup
    <the tool's output as logged>
"""

from __future__ import annotations

from thirdbook.domain.events import Prompt, RetrievedDocument, ToolOutput

RETRIEVED_HEADER = "thirdbook-retrieved"
TOOL_HEADER = "thirdbook-tool"

ChatMessage = dict[str, str]
"""One chat message: `role` and `content`."""


class MissingPromptError(ValueError):
    """The decision's record holds no prompt to replay."""


def chat_messages(prompt: Prompt | None) -> list[ChatMessage]:
    """The chat messages that replay `prompt` as it was logged. Refused when nothing of the
    prompt was logged (a decision without its prompt cannot be replayed)."""
    if prompt is None or (
        prompt.system is None
        and prompt.user is None
        and not prompt.retrieved
        and not prompt.tool_outputs
    ):
        raise MissingPromptError("the record holds no prompt (system, user, context or tools)")
    messages: list[ChatMessage] = []
    if prompt.system is not None:
        messages.append({"role": "system", "content": prompt.system})
    for doc in prompt.retrieved:
        header = f"{RETRIEVED_HEADER} id={_token(doc.id)}"
        if doc.content_hash is not None:
            header += f" content_hash={_token(doc.content_hash)}"
        messages.append({"role": "system", "content": f"{header}\n{doc.text or ''}"})
    for tool in prompt.tool_outputs:
        header = f"{TOOL_HEADER} tool={_token(tool.tool)}"
        if tool.output_hash is not None:
            header += f" output_hash={_token(tool.output_hash)}"
        messages.append({"role": "system", "content": f"{header}\n{tool.output or ''}"})
    if prompt.user is not None:
        messages.append({"role": "user", "content": prompt.user})
    return messages


def captured_parts(messages: list[ChatMessage]) -> Prompt:
    """The prompt parts a request made by `chat_messages` carries (what a replay server
    reads back): the first plain system message, the documents, the tools, the last user
    message. Messages of other shapes are ignored."""
    system: str | None = None
    user: str | None = None
    retrieved: list[RetrievedDocument] = []
    tools: list[ToolOutput] = []
    for message in messages:
        role, content = message.get("role"), message.get("content")
        if not isinstance(content, str):
            continue
        first, _, rest = content.partition("\n")
        fields = _header_fields(first)
        if role == "system" and first.startswith(RETRIEVED_HEADER + " ") and "id" in fields:
            retrieved.append(
                RetrievedDocument(
                    id=fields["id"], content_hash=fields.get("content_hash"), text=rest or None
                )
            )
        elif role == "system" and first.startswith(TOOL_HEADER + " ") and "tool" in fields:
            tools.append(
                ToolOutput(tool=fields["tool"], output=rest, output_hash=fields.get("output_hash"))
            )
        elif role == "system" and system is None:
            system = content
        elif role == "user":
            user = content
    return Prompt(system=system, user=user, retrieved=retrieved, tool_outputs=tools)


def _token(value: str) -> str:
    """A header value on one line with no spaces (ids and hashes have none; any that do
    are escaped so the header still reads back)."""
    return value.replace("\\", "\\\\").replace(" ", "\\s").replace("\n", "\\n")


def _untoken(value: str) -> str:
    out: list[str] = []
    chars = iter(value)
    for char in chars:
        if char != "\\":
            out.append(char)
            continue
        nxt = next(chars, "")
        out.append({"s": " ", "n": "\n", "\\": "\\"}.get(nxt, nxt))
    return "".join(out)


def _header_fields(line: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in line.split(" ")[1:]:
        key, sep, value = part.partition("=")
        if sep:
            fields[key] = _untoken(value)
    return fields
