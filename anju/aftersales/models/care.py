"""Customer-service models: care."""
