"""Server-rendered HTML pages (plain forms that work without JavaScript)."""
