"""A stand-in for a project's own app: many models, registered in the admin."""
