"""The project's services. Each imports `shared`, never another service."""
