"""Settings modules: ``base`` (embedded default and development), ``test``, ``production``."""
