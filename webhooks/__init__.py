"""webhooks — see ARCHITECTURE.md."""
