"""Many repos at once (`ckptscope scan`): where the repo ids come from (listing) and the concurrent engine."""

DEFAULT_JOBS = 16  #: repos read at once by default (latency-bound work; see docs/scale.md)
