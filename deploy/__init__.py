"""Deployment helpers: local certificates (``make certs``), the nginx template, container health checks."""
