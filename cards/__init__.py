"""cards — see ARCHITECTURE.md."""
