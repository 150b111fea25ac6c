"""bench — see ARCHITECTURE.md."""
