"""System checks that stop Anju from running in an unsafe configuration."""
