"""Forwarding: outbox lanes to the broker, and what the broker sends back."""
