"""Notebook: the %%opus and %opus magics, subcommands, interpolation, and presenting runs in a kernel."""
