"""The SP office plugin's hook implementations (the entry point names this module)."""
