"""Development-only tools (the mail catcher); never imported by the Django apps."""
