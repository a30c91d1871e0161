"""A small AI estate, simulated: a credit-decision model, a support agent, their signals.

The script, in demo seconds (the speed factor maps real time onto it):

- 0: `credit-scorer` v6 (known good) serves credit decisions; the support agent works
  within its lane; metrics arrive every 10 s.
- 30: v7 is deployed (a change event; the registry's `serving` alias moves to v7). v7 declines
  too many good applicants: its accuracy falls out of band (drift) and wrong-decline reports
  pile up (a feedback pattern).
- 75: a logging fault writes one decision without its prompt or weights hash.
- 120: the support agent refunds 2,500 GBP, far outside its lane; 140: it closes an account.
- 150: the regulator asks about the decision logged at 75 (an unexplainable decision).
- 190: the retrieval starts serving the superseded policy CR-6 under CR-7's id (a new
  content hash, no model change): every version now declines applicants CR-7 would
  approve, and wrong-decline reports follow.

Each decision is a pure function of its prompt (`thirdbook.demo.credit`, which the demo's
model server answers from too); the applicants and the reports are drawn from one seeded
generator, so a seed and a sequence of control-file states give the same events every time.
What is served follows the kill switch and the registry as they stand at each request, and
the support agent obeys its own flag in the same file: routed away from itself, it takes no
action and the chat goes to the route's path; a request routed away names, in `routed_from`,
the model (or agent) it was routed from, so the console can tell whose kill switch it shows.
Events are stamped by the demo's clock (`thirdbook.demo.clock`): the wall-clock time at
which the serving layer writes them.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from thirdbook.demo import credit
from thirdbook.demo.agent import agent_action, handed_off
from thirdbook.demo.clock import DemoClock
from thirdbook.domain.events import Prompt

MODEL = "credit-scorer"
METRIC_WINDOW_S = 10.0
DEPLOY_AT = 30.0
GLITCH_AT = 75.0
REFUND_AT = 120.0
CLOSE_AT = 140.0
INQUIRY_AT = 150.0

WEIGHTS = {
    "v6": "sha256:" + hashlib.sha256(b"credit-scorer v6 weights").hexdigest(),
    "v7": "sha256:" + hashlib.sha256(b"credit-scorer v7 weights").hexdigest(),
}
STALE_POLICY_AT = 190.0
"""From here the retrieval serves the superseded policy CR-6 under CR-7's id (no model
change): both versions decline applicants CR-7 would approve."""
AGENT_LANE_TOOLS = ("lookup_account", "send_email", "issue_refund")
INQUIRY_DUE = timedelta(days=1)
"""How long the regulator gives for an answer: a day of the commander's time, whatever the
demo's speed."""

Stream = str
"""Which log an event goes to: 'serving', 'signals', 'agent' or 'changes'."""


@dataclass(frozen=True)
class Serving:
    """What the control files say at one moment: the model's route and served version, and
    the support agent's route (`model`: the agent acts; else its kill switch stopped it)."""

    route: str
    version: str
    weights_hash: str
    agent_route: str = "model"
    route_of: Callable[[dict[str, Any]], str] | None = None
    """The route for one request's attributes, when the flag has a targeting rule (a
    restore with conditions); else every request takes `route`."""


@dataclass(order=True)
class _Due:
    at: float
    seq: int
    what: str = field(compare=False)
    data: dict[str, Any] = field(compare=False, default_factory=dict)


class Estate:
    """Produces the estate's events in demo-time order."""

    def __init__(
        self,
        seed: int,
        clock: DemoClock,
        requests_per_second: float,
        deploy: Callable[[str, str, datetime], None] | None = None,
    ) -> None:
        self.rng = random.Random(seed)
        self._deploy = deploy
        self.clock = clock
        self.interval = 1.0 / requests_per_second
        self._queue: list[_Due] = []
        self._seq = 0
        self._requests = 0
        self._window: dict[str, list[tuple[bool, bool]]] = {}
        self._glitched_request: str | None = None
        self.deployed_v7 = False
        self.policy = credit.CURRENT_POLICY
        """The policy document the retrieval serves (CR-6 once it goes stale)."""
        for at, what in (
            (0.0, "request"),
            (METRIC_WINDOW_S, "metrics"),
            (2.0, "agent"),
            (DEPLOY_AT, "deploy"),
            (GLITCH_AT, "glitch"),
            (REFUND_AT, "refund"),
            (CLOSE_AT, "close"),
            (INQUIRY_AT, "inquiry"),
            (STALE_POLICY_AT, "stale_policy"),
        ):
            self._schedule(at, what)

    def _schedule(self, at: float, what: str, **data: Any) -> None:
        self._seq += 1
        heapq.heappush(self._queue, _Due(at, self._seq, what, data))

    def _ts(self, at: float) -> str:
        return self.clock.stamp(at)

    def run_until(
        self, demo_s: float, serving: Callable[[], Serving]
    ) -> list[tuple[Stream, dict[str, Any]]]:
        """Every event due up to `demo_s`, in order; `serving` is asked at each request."""
        out: list[tuple[Stream, dict[str, Any]]] = []
        while self._queue and self._queue[0].at <= demo_s:
            due = heapq.heappop(self._queue)
            handler = getattr(self, f"_on_{due.what}")
            out.extend(handler(due.at, serving, **due.data))
        return out

    # -- what happens ----------------------------------------------------------------------

    def _on_request(
        self, at: float, serving: Callable[[], Serving], glitch: bool = False
    ) -> list[tuple[Stream, dict[str, Any]]]:
        if not glitch:
            self._schedule(at + self.interval, "request")
        self._requests += 1
        rng = self.rng
        now = serving()
        request_id = f"req-{self._requests:07d}-{rng.getrandbits(32):08x}"
        subject = f"applicant-{100000 + rng.randrange(900000)}"
        income = rng.randrange(18, 140) * 1000
        amount = rng.randrange(1, 40) * 500
        record: dict[str, Any] = {
            "v": 1,
            "kind": "inference",
            "ts": self._ts(at),
            "request_id": request_id,
            "subject": subject,
            "route": now.route,
        }
        prompt = {
            "template_id": "credit-decision",
            "template_version": "12",
            "system": credit.SYSTEM_PROMPT,
            "user": f"Applicant income {income} GBP; requested {amount} GBP over 36 months; "
            f"existing credit lines {rng.randrange(0, 6)}.",
            "retrieved": [
                {"id": credit.POLICY_ID, "content_hash": credit.POLICY_HASH[self.policy]}
            ],
            "tool_outputs": [
                {
                    "tool": "bureau_lookup",
                    "output": f"score={rng.randrange(380, 820)} "
                    f"delinquencies={rng.randrange(0, 3)}",
                }
            ],
        }
        parsed = Prompt.model_validate(prompt)
        creditworthy = credit.creditworthy(parsed)
        route = (
            now.route
            if now.route_of is None
            else now.route_of(credit.request_attributes(subject, parsed))
        )
        record["route"] = route  # the route served, as the flag's rule picked it
        if route == "model":
            answer = credit.decide(now.version, parsed)
            if glitch:  # the decision the regulator asks about is a decline
                answer = credit.Decision("decline", 0.2, credit.DECLINE_REASON % self.policy)
            approve = answer.approve
            right = approve == creditworthy
            decision = "approve" if approve else "decline"
            record["model"] = {
                "name": MODEL,
                "version": now.version,
                "weights_hash": now.weights_hash,
            }
            record["prompt"] = prompt
            record["response"] = {
                "decision": decision,
                "score": answer.score,
                "text": answer.reason,
            }
            record["latency_ms"] = round(rng.uniform(40, 160), 1)
            self._window.setdefault(now.version, []).append((right, approve))
            if not approve and creditworthy:
                # declined because the retrieved policy is not the current one
                stale = not credit.meets(parsed, self.policy)
                chance = 0.35 if now.version != "v6" or stale else 0.02
                if rng.random() < chance:
                    self._schedule(
                        at + rng.uniform(3, 15),
                        "feedback",
                        request_id=request_id,
                        subject=subject,
                        # lending operations audit the decision service, not a model
                        target=credit.SERVICE if stale else MODEL,
                    )
        else:
            decision = {
                "human": "referred",
                "fallback": "approve" if income > 40000 else "referred",
                "refused": "refused",
            }[route]
            record["routed_from"] = MODEL  # whose kill switch sent it here
            record["prompt"] = prompt if route != "refused" else None
            record["response"] = {"decision": decision, "text": f"Served by the {route} path."}
            record["latency_ms"] = round(rng.uniform(2, 9), 1)
        record["action"] = {
            "type": "send_letter",
            "target": subject,
            "detail": f"{decision} letter",
        }
        if glitch:
            # A logging fault: the prompt and the weights hash never reached the log.
            record.pop("prompt", None)
            if "model" in record:
                record["model"].pop("weights_hash", None)
            self._glitched_request = request_id
        return [("serving", record)]

    def _on_glitch(
        self, at: float, serving: Callable[[], Serving]
    ) -> list[tuple[Stream, dict[str, Any]]]:
        return self._on_request(at, serving, glitch=True)

    def _on_metrics(
        self, at: float, serving: Callable[[], Serving]
    ) -> list[tuple[Stream, dict[str, Any]]]:
        self._schedule(at + METRIC_WINDOW_S, "metrics")
        out: list[tuple[Stream, dict[str, Any]]] = []
        for version in sorted(self._window):
            results = self._window[version]
            if not results:
                continue
            accuracy = sum(r for r, _ in results) / len(results)
            approvals = sum(a for _, a in results) / len(results)
            model = {"name": MODEL, "version": version, "weights_hash": WEIGHTS.get(version)}
            for metric, value in (("accuracy", accuracy), ("approval_rate", approvals)):
                out.append(
                    (
                        "signals",
                        {
                            "v": 1,
                            "kind": "metric",
                            "ts": self._ts(at),
                            "model": model,
                            "metric": metric,
                            "value": round(value, 4),
                            "window_start": self._ts(at - METRIC_WINDOW_S),
                            "window_end": self._ts(at),
                        },
                    )
                )
        self._window = {}
        return out

    def _on_feedback(
        self,
        at: float,
        serving: Callable[[], Serving],
        request_id: str,
        subject: str,
        target: str = MODEL,
    ) -> list[tuple[Stream, dict[str, Any]]]:
        return [
            (
                "signals",
                {
                    "v": 1,
                    "kind": "feedback",
                    "ts": self._ts(at),
                    "target": target,
                    "category": "wrong_decline",
                    "request_id": request_id,
                    "subject": subject,
                    "reporter": "customer-support" if target == MODEL else "lending-ops",
                    "text": "Applicant meets policy CR-7 affordability but was declined.",
                },
            )
        ]

    def _agent_step(
        self,
        at: float,
        serving: Callable[[], Serving],
        tool: str,
        target: str,
        amount: float | None,
    ) -> list[tuple[Stream, dict[str, Any]]]:
        """The agent's next action, unless its kill switch routes it away from itself: then
        it acts on nothing and the chat is served by the route's path (logged as a request
        on that route, as a routed-away credit decision is)."""
        chat = f"chat-{self.rng.getrandbits(32):08x}"
        route = serving().agent_route
        if route == "model":
            return [("agent", agent_action(self._ts(at), chat, tool, target, amount))]
        return [("agent", handed_off(self._ts(at), chat, route, tool, target))]

    def _on_agent(
        self, at: float, serving: Callable[[], Serving]
    ) -> list[tuple[Stream, dict[str, Any]]]:
        self._schedule(at + 5.0, "agent")
        rng = self.rng
        tool = rng.choice(AGENT_LANE_TOOLS)
        account = f"acct-{rng.randrange(10000, 99999)}"
        amount = round(rng.uniform(5, 80), 2) if tool == "issue_refund" else None
        return self._agent_step(at, serving, tool, account, amount)

    def _on_refund(
        self, at: float, serving: Callable[[], Serving]
    ) -> list[tuple[Stream, dict[str, Any]]]:
        return self._agent_step(at, serving, "issue_refund", "acct-77102", 2500.0)

    def _on_close(
        self, at: float, serving: Callable[[], Serving]
    ) -> list[tuple[Stream, dict[str, Any]]]:
        return self._agent_step(at, serving, "close_account", "acct-77102", None)

    def _on_deploy(
        self, at: float, serving: Callable[[], Serving]
    ) -> list[tuple[Stream, dict[str, Any]]]:
        self.deployed_v7 = True
        if self._deploy is not None:
            self._deploy(MODEL, "v7", self.clock.at(at))
        return [
            (
                "changes",
                {
                    "v": 1,
                    "kind": "change",
                    "ts": self._ts(at),
                    "change_type": "deploy",
                    "model": {"name": MODEL, "version": "v7", "weights_hash": WEIGHTS["v7"]},
                    "description": "credit-scorer v7 (retrained on Q3 data) to 100% of traffic",
                    "actor": "ci-deploy",
                },
            )
        ]

    def _on_stale_policy(
        self, at: float, serving: Callable[[], Serving]
    ) -> list[tuple[Stream, dict[str, Any]]]:
        self.policy = "CR-6"  # silently: nothing in the logs says so but the content hash
        return []

    def _on_inquiry(
        self, at: float, serving: Callable[[], Serving]
    ) -> list[tuple[Stream, dict[str, Any]]]:
        return [
            (
                "signals",
                {
                    "v": 1,
                    "kind": "inquiry",
                    "ts": self._ts(at),
                    "inquiry_id": "INQ-2026-0419",
                    "source": "regulator",
                    "request_id": self._glitched_request,
                    "question": "Why did your system decline this application? Provide the model "
                    "version, the inputs considered and the reasons given.",
                    "due": (self.clock.at(at) + INQUIRY_DUE).isoformat(timespec="microseconds"),
                },
            )
        ]
