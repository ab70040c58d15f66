"""What the portal contributes to the shell."""
