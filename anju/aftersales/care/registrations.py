"""What care contribute to the shell (menu, 360° sections, demo step)."""
