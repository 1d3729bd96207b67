"""pytest root of tests/checker: makes ``xbanku_check`` importable from any working directory."""
