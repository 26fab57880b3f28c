"""Many repos at once (`ckptscope scan`): where the repo ids come from (listing) and the concurrent engine."""
