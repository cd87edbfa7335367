"""Realistic inputs shared by the unit and integration tests."""
