"""The owner portal's models (owner accounts, one-time codes)."""
