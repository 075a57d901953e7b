"""One object-store API over a local directory and S3."""

from salespipe.storage.objectstore import ObjectInfo, ObjectStore

__all__ = ["ObjectInfo", "ObjectStore"]
