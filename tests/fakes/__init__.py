"""In-memory fakes of engine.ports for the fast test tier."""
