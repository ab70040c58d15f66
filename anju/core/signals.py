"""Signals that carry news upward across the layers (see ARCHITECTURE.md)."""
