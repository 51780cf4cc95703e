"""Small helpers the apps share that are not site wiring: rate limits, origin checks, process-wide singletons.

Nothing here knows a user, a mood or a frame; every app may import it, and it imports no app.
"""
