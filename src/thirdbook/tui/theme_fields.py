"""What a theme file may name: its colours, and the form of its name (shared by the quick
check in `themes` and the model in `theme_file`)."""

COLOURS = (
    "primary",
    "secondary",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
    "success",
    "warning",
    "error",
)
NAME_PATTERN = r"^[A-Za-z0-9_.\-]+$"
