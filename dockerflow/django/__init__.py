"""Django integration: app, middleware, views, checks and the heartbeat engine."""
