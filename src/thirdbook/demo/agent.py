"""The support agent's events: an action in its lane (or out of it), or a chat handed off
to the route's path when its kill switch stops it."""

from __future__ import annotations

from typing import Any

AGENT = "support-agent"


def agent_action(
    ts: str, chat: str, tool: str, target: str, amount: float | None
) -> dict[str, Any]:
    """The agent's action on `target` (with `amount` GBP for a refund)."""
    record: dict[str, Any] = {
        "v": 1,
        "kind": "agent_action",
        "ts": ts,
        "agent": AGENT,
        "tool": tool,
        "target": target,
        "request_id": chat,
        "outcome": "ok",
    }
    if amount is not None:
        record["amount"] = amount
        record["currency"] = "GBP"
    return record


def handed_off(ts: str, chat: str, route: str, tool: str, target: str) -> dict[str, Any]:
    """The chat served by the route's path because the agent's kill switch stopped it."""
    served = {"human": "referred", "fallback": "acknowledged", "refused": "refused"}
    return {
        "v": 1,
        "kind": "inference",
        "ts": ts,
        "request_id": chat,
        "subject": target,
        "route": route,
        "routed_from": AGENT,
        "response": {
            "decision": served.get(route, "referred"),
            "text": f"Served by the {route} path: {AGENT} is stopped by its kill switch.",
        },
        "action": {
            "type": "handoff",
            "target": target,
            "detail": f"{AGENT} did not run {tool}",
        },
    }
