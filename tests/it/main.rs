//! Integration tests (one binary): real files, real processes.
