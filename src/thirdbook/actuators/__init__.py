"""Containment actuators: the changes the console makes to what the serving layer reads."""
