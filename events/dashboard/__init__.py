"""The analysts' dashboard: traffic quality, unmatched groups, replays, drafts and alerts."""
