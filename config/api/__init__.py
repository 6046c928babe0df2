"""The REST API's shared plumbing: pagination, the error envelope, permissions, the URL tree."""
