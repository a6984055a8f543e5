"""Mail notifications in French, sent over SMTP."""
