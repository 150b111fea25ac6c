"""admin — see ARCHITECTURE.md."""
