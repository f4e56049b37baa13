"""Views of the agent web UI (server-rendered, htmx for partial updates)."""
