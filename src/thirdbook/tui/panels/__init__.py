"""The main screen's panels: each owns its region and reads what it shows itself."""
