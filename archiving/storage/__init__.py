"""Object storage: the only place that talks S3 (minio SDK), and the dev SeaweedFS server."""

from archiving.storage.s3 import DefaultRetention, ObjectInfo, ObjectStore, ObjectVersion, S3Config

__all__ = ["DefaultRetention", "ObjectInfo", "ObjectStore", "ObjectVersion", "S3Config"]
