"""archiving package."""
