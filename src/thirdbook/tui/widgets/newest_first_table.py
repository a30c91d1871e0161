"""A table of one page of stored things keyed by id, newest first, updated by diffing."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable


class NewestFirstTable(DataTable[Text]):
    """Rows keyed by their store id; the first column shows it and orders the rows."""

    COLUMNS: tuple[str, ...] = ("id",)
    ZEBRA = False
    WRAP_LAST = False
    """Whether the last column takes the width the others leave and wraps into it (a wide
    terminal shows the whole detail rather than scrolling it out of sight)."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = self.ZEBRA
        for column in self.COLUMNS:
            self.add_column(self.column_label(column), key=column)

    def on_resize(self) -> None:
        """The last column takes what the others leave (with `WRAP_LAST`); the newest rows
        come back into sight when the table grows again."""
        self._fit_last()
        self.call_after_refresh(self.newest_in_sight)

    def _fit_last(self) -> None:
        if not self.WRAP_LAST or not self.columns or not self.scrollable_content_region.width:
            return  # a hidden table is fitted when it shows (its resize)
        *others, last = self.columns.values()
        # The others, this column's padding, and room for the scrollbar that its rows bring.
        used = sum(c.get_render_width(self) for c in others) + 2 * self.cell_padding + 3
        width = max(12, self.scrollable_content_region.width - used)
        if last.width == width and not last.auto_width:
            return
        last.auto_width = False
        last.width = width
        # Row heights follow the new width only when the rows are added again.
        self._rebuild({str(k.value): tuple(self.get_row(k)) for k in self.rows})

    def _rebuild(self, rows: dict[str, tuple[Text, ...]]) -> None:
        """Clear and add `rows`, newest first; the cursor keeps its row number."""
        row = self.cursor_row
        with self.app.batch_update():
            self.clear()
            for key in sorted(rows, key=int, reverse=True):
                self.add_row(*rows[key], key=key, height=self._row_height)
            if self.row_count:
                # Scrolled to only on screen: a hidden table has no room to scroll in.
                row = min(row, self.row_count - 1)
                self.move_cursor(row=row, animate=False, scroll=self.is_on_screen)

    def column_label(self, column: str) -> str | Text:
        """The header of a column (its name, unless a table says otherwise)."""
        return column

    def show_rows(self, rows: dict[int, tuple[Text, ...]]) -> None:
        """Make the rows exactly `rows`: remove the gone, update the changed, add the new."""
        wanted = {str(key): cells for key, cells in rows.items()}
        current = {str(key.value) for key in self.rows}
        # In a table the commander is working in, the cursor stays on the row it was on (a
        # new alert above it must not move their choice to another one), unless that row is
        # gone; elsewhere it keeps its place, on the newest row.
        chosen = self.selected_id() if self.has_focus else None
        if len(wanted.keys() - current) > len(wanted) // 2:
            # Mostly new rows (a page turned, or a firehose): building afresh is far cheaper
            # than removing and inserting row by row.
            self._rebuild(wanted)
            self._fit_last()  # the new rows may have changed the other columns' widths
            if chosen is not None and str(chosen) in wanted:
                self.move_cursor(row=self.get_row_index(str(chosen)), animate=False)
                self.newest_in_sight()
            return
        with self.app.batch_update():
            for key in current - wanted.keys():
                self.remove_row(key)
            added = False
            for key, cells in wanted.items():
                if key not in current:
                    self.add_row(*cells, key=key, height=self._row_height)
                    added = True
                    continue
                for column, cell in zip(self.COLUMNS, cells, strict=True):
                    if self.get_cell(key, column) != cell:
                        self.update_cell(key, column, cell, update_width=True)
            self._fit_last()
            if added:
                self.sort("id", key=lambda cell: int(cell.plain), reverse=True)
                if chosen is not None and str(chosen) in wanted:
                    self.move_cursor(row=self.get_row_index(str(chosen)), animate=False)
                self.newest_in_sight()

    def newest_in_sight(self) -> None:
        """Scroll up as far as the cursor's row stays in sight: at 80x24 three alerts show,
        and one arriving above the alert being read must not stay hidden above the view."""
        if self.is_on_screen and self.row_count:
            # And the cursor's row stays in sight when the table shrinks (an alert's detail
            # opening leaves it one row): the detail shown is the row shown.
            if self.scroll_y:
                self.scroll_to(y=0, animate=False, immediate=True)
            self.move_cursor(row=self.cursor_row, animate=False, scroll=True)

    @property
    def _row_height(self) -> int | None:
        return None if self.WRAP_LAST else 1

    def selected_id(self) -> int | None:
        """The id of the row under the cursor, if any."""
        if not self.row_count:
            return None
        return int(str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value))
