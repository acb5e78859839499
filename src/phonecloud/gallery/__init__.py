"""Gallery: photos and videos (assets), their originals, trash and albums."""
