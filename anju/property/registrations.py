"""What the property app contributes to the shell: menu entries, 360° sections, demo steps."""
