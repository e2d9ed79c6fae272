"""The write path: load files, chunk them, embed and sync them into the store."""
