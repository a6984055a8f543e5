"""Read models the web asks for, one module per area: the web reads through these, never a repository."""
