"""The HTTP edge: webhook intake, the JSON API, health and metrics."""
