"""Per-backend sub-containers: each provides the repositories of one backend."""
