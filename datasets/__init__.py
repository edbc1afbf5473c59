"""Realistic Japanese legal data for the harness: domain primitives, generators and loader."""
