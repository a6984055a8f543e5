"""Object storage: the only place that talks S3 (minio SDK), and the dev SeaweedFS server."""

from archiving.storage.s3 import ObjectInfo, ObjectStore, ObjectVersion, S3Config

__all__ = ["ObjectInfo", "ObjectStore", "ObjectVersion", "S3Config"]
