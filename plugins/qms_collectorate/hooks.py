"""The collectorate plugin's hook implementations (the entry point names this module)."""
