"""nlu — see ARCHITECTURE.md."""
