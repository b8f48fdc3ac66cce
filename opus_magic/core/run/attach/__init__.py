"""A run's attachments: fitted and counted, uploaded once, reported before and after the run, and
sent again by `--continue`."""
