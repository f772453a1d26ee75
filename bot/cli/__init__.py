"""Sub-commands of `python -m bot`. Each module adds its parser and a handler."""
