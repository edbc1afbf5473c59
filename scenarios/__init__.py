"""Attack and benchmark scenarios, written as pytest tests over the harness fixtures."""
