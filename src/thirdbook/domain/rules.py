"""Trigger rules as `thirdbook.toml` declares them under `[triggers]`: bands, patterns and
lanes, never guessed (`thirdbook config --example` shows each)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DriftRule(_Rule):
    """A metric of a model (version) outside its band for N consecutive windows."""

    name: str = Field(min_length=1)
    model: str
    version: str | None = Field(default=None, description="None: every version")
    metric: str
    low: float | None = None
    high: float | None = None
    consecutive: int = Field(default=3, ge=1, le=1000)

    @model_validator(mode="after")
    def _has_a_band(self) -> DriftRule:
        if self.low is None and self.high is None:
            raise ValueError("a drift rule needs low, high or both")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError("low is above high")
        return self

    def outside(self, value: float) -> bool:
        """Whether a value leaves the band (the band's edges are inside it)."""
        return (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        )


class FeedbackRule(_Rule):
    """At least `count` reports of one category against one model or agent within a window."""

    name: str = Field(min_length=1)
    category: str | None = Field(default=None, description="None: any category")
    target: str | None = Field(default=None, description="None: any model or agent")
    count: int = Field(ge=1)
    window_s: float = Field(gt=0)


class AgentLane(_Rule):
    """What an autonomous agent may do: tools, targets, and the largest amount."""

    agent: str
    tools: list[str] = Field(min_length=1)
    targets: list[str] | None = Field(default=None, description="glob patterns; None: any target")
    max_amount: float | None = Field(default=None, ge=0)


class TriggerSettings(_Rule):
    """The `[triggers]` section."""

    drift: list[DriftRule] = Field(default_factory=list)
    feedback: list[FeedbackRule] = Field(default_factory=list)
    lanes: list[AgentLane] = Field(default_factory=list)
    unexplainable: bool = Field(
        default=True, description="Alert on an inquiry whose decision record is incomplete."
    )


DEMO_TRIGGERS = TriggerSettings(
    drift=[
        DriftRule(
            name="credit-scorer accuracy",
            model="credit-scorer",
            metric="accuracy",
            low=0.85,
            consecutive=3,
        )
    ],
    feedback=[FeedbackRule(name="wrong declines", category="wrong_decline", count=5, window_s=600)],
    lanes=[
        AgentLane(
            agent="support-agent",
            tools=["lookup_account", "send_email", "issue_refund"],
            targets=["acct-*"],
            max_amount=100,
        )
    ],
)
"""The shipped rules for the demo estate."""
