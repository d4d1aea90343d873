"""Pipeline assembly: options, the batch graph and the command line."""
