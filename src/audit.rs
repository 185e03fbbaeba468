//! Append-only record of every kick (JSON lines, fsynced).
