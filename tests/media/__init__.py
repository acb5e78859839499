"""The media pipeline: recognising formats, metadata, thumbnails and previews, hostile files."""
