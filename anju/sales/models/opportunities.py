"""Sales models: opportunities."""
