"""The captured prompt travels to a replay endpoint exactly as logged, and reads back."""

from __future__ import annotations

import pytest

from thirdbook.domain.events import Prompt, RetrievedDocument, ToolOutput
from thirdbook.domain.replay_payload import MissingPromptError, captured_parts, chat_messages


def test_a_logged_prompt_is_sent_as_logged_and_reads_back_whole() -> None:
    prompt = Prompt(
        template_id="credit-decision",
        template_version="12",
        system="You assess credit.\nNever use protected characteristics.",
        user="Applicant income 52000 GBP",
        retrieved=[
            RetrievedDocument(id="policy cr7", content_hash="sha256:ab", text="Policy text"),
            RetrievedDocument(id="faq", content_hash=None, text=None),
        ],
        tool_outputs=[ToolOutput(tool="bureau_lookup", output="score=700 delinquencies=0")],
    )
    messages = chat_messages(prompt)
    assert messages[0] == {"role": "system", "content": prompt.system}
    assert messages[-1] == {"role": "user", "content": "Applicant income 52000 GBP"}
    back = captured_parts(messages)
    assert back.system == prompt.system
    assert back.user == prompt.user
    assert back.retrieved == prompt.retrieved
    assert back.tool_outputs == prompt.tool_outputs


@pytest.mark.parametrize("prompt", [None, Prompt(template_id="credit-decision")])
def test_a_record_without_its_prompt_cannot_be_replayed(prompt: Prompt | None) -> None:
    with pytest.raises(MissingPromptError, match="no prompt"):
        chat_messages(prompt)
