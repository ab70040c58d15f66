"""Customer-service models: tickets."""
