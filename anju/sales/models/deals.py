"""Sales models: deals."""
