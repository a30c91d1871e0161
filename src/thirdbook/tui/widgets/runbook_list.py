"""The incident's runbook: headings, prose and checkable steps; space or enter toggles one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from thirdbook.tui.safe_text import safe

if TYPE_CHECKING:
    from thirdbook.domain.runbooks import Runbook, StepCheck


def _line(text: str, style: str = "") -> Text:
    # Runbook files are edited by people, but they are still files: shown inert.
    return Text(safe(text, 500).plain, style=style)


class RunbookList(OptionList):
    """One option per runbook line; only steps can be highlighted and checked."""

    def show(self, runbook: Runbook | None, checks: dict[str, StepCheck]) -> None:
        """Show a runbook with its steps' check marks, keeping the highlighted step."""
        keep = self.highlighted
        options: list[Option] = []
        if runbook is None:
            options.append(
                Option(
                    Text("No runbook: declare an incident to follow one.", style="dim"),
                    disabled=True,
                )
            )
        else:
            for n, line in enumerate(runbook.lines):
                if line.kind == "heading":
                    options.append(Option(_line(line.text, "bold underline"), disabled=True))
                elif line.kind == "text":
                    options.append(Option(_line(line.text, "dim"), disabled=True))
                else:
                    check = checks.get(line.step_key or "")
                    done = check is not None and check.checked
                    mark = Text("[x] " if done else "[ ] ", style="bold" if done else "")
                    mark.append_text(_line(line.text, "dim" if done else ""))
                    if done and check is not None:
                        mark.append_text(safe(f"  ({check.by})", 40, style="italic dim"))
                    options.append(Option(mark, id=f"{n}:{line.step_key}"))
        self.clear_options()
        self.add_options(options)
        if keep is not None and keep < self.option_count:
            self.highlighted = keep

    def selected_step(self) -> str | None:
        """The step key of the highlighted step, if a step is highlighted."""
        if self.highlighted is None:
            return None
        option_id = self.get_option_at_index(self.highlighted).id
        return None if option_id is None else option_id.partition(":")[2]
