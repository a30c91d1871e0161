"""The Textual console: a thin layer over `thirdbook.services`. The only package that
imports Textual."""
