"""Layer 1, ingest: fetch the publishers' files, read and validate them, write the store.

``fetch`` copies raw files and records checksums; ``loaders`` reads the borough crime
files (and the shared text-file checks); ``sources/`` holds one reader per other public
source; ``extracts`` reads internal extracts; ``build`` turns everything into the
processed Parquet ``store``. Nothing here computes a measure or a statistic.
"""
