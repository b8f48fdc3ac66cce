"""What the one-shot `%opus` subcommands print: run lists, totals, one run, runs compared, the
reconciliation with the providers' bills, the catalog, changed settings and the simulator."""
