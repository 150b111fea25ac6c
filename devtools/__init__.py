"""devtools — see ARCHITECTURE.md."""
