"""The one-shot `%opus` subcommands: the dispatcher and help, the larger ones in modules of their
own (batches, grid, reconcile, sim), and the argparse options the shell command shares."""
