"""Resumable uploads (the tus 1.0 protocol): a large file arrives over many requests and becomes an asset."""
