"""A stand-in for the ``statsd`` package: records calls instead of sending UDP packets."""
