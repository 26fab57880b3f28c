"""One module per subcommand: ``add_arguments(parser)`` and ``run(args) -> int``. Keep top-level imports light."""
